package cdn

import (
	"fmt"
	"testing"
)

func TestRingRemovingOneNodeMovesOnlyItsKeys(t *testing.T) {
	const keys = 10000
	var names []string
	for k := range keys {
		names = append(names, fmt.Sprintf("/videos/%d/seg.m4s", k))
	}
	for _, n := range []int{2, 3, 4, 5, 8, 10, 20} {
		var nodes []string
		for i := range n {
			nodes = append(nodes, fmt.Sprintf("edge%d.kingcdn.com", i))
		}
		full := NewRing(0, nodes...)
		owner := make([]string, keys)
		for k, key := range names {
			owner[k] = full.Get(key)
		}
		for _, gone := range nodes {
			var rest []string
			for _, x := range nodes {
				if x != gone {
					rest = append(rest, x)
				}
			}
			smaller := NewRing(0, rest...)
			moved := 0
			for k, key := range names {
				before, after := owner[k], smaller.Get(key)
				if before != after {
					moved++
					if before != gone {
						t.Fatalf("N=%d without %s: key %s moved from %s, which stayed", n, gone, key, before)
					}
				}
			}
			frac := float64(moved) / keys
			if limit := 1/float64(n) + 0.02; frac > limit {
				t.Errorf("N=%d without %s: %.3f of keys moved, want <= %.3f", n, gone, frac, limit)
			}
		}
	}
}

func TestRingGetN(t *testing.T) {
	r := NewRing(0, "a", "b", "c")
	got := r.GetN("/6Y7B23V", 5)
	if len(got) != 3 || got[0] != r.Get("/6Y7B23V") {
		t.Fatalf("GetN = %v: want all three nodes, the owner first", got)
	}
	seen := map[string]bool{}
	for _, n := range got {
		if seen[n] {
			t.Fatalf("GetN = %v: repeats %s", got, n)
		}
		seen[n] = true
	}
	// The second is where the key goes when the owner leaves.
	var rest []string
	for _, n := range []string{"a", "b", "c"} {
		if n != got[0] {
			rest = append(rest, n)
		}
	}
	if next := NewRing(0, rest...).Get("/6Y7B23V"); next != got[1] {
		t.Errorf("without %s the key goes to %s, GetN said %s", got[0], next, got[1])
	}
	if NewRing(0).Get("x") != "" || NewRing(0).GetN("x", 2) != nil {
		t.Error("empty ring returned a node")
	}
}
