package imap

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSeqSetRanges(t *testing.T) {
	tests := []struct {
		in   string
		max  uint32
		want []SeqRange
	}{
		{"1:3,7,10:*", 12, []SeqRange{{1, 3}, {7, 7}, {10, 12}}},
		{"5,4,3,1:2", 9, []SeqRange{{1, 5}}},
		{"*:4", 2, []SeqRange{{2, 4}}}, // "n:*" includes the last even past it
		{"9:7,8,20", 30, []SeqRange{{7, 9}, {20, 20}}},
		{"4294967295,1", 5, []SeqRange{{1, 1}, {4294967295, 4294967295}}},
	}
	for _, tt := range tests {
		set, err := ParseSeqSet(tt.in)
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		got := set.Ranges(tt.max)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q.Ranges(%d) (-want +got):\n%s", tt.in, tt.max, diff)
		}
		for n := uint32(0); n < 40; n++ {
			if InRanges(got, n) != set.Contains(n, tt.max) {
				t.Errorf("%q: In(%d) = %v, Contains = %v", tt.in, n, InRanges(got, n), set.Contains(n, tt.max))
			}
		}
	}
	for _, bad := range []string{"", "0", "1:0", "a", "1,,2", "1:2:3", "4294967296", "01"} {
		if _, err := ParseSeqSet(bad); err == nil {
			t.Errorf("ParseSeqSet(%q) succeeded", bad)
		}
	}
}

func TestManyRangesAnswered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		addr, bob, _ := startBob(t, kind, nil)
		for i := 0; i < 5; i++ {
			if err := bob.deliver(aliceMsg); err != nil {
				t.Fatal(err)
			}
		}
		s := dialRaw(t, addr)
		s.send("a1 LOGIN bob hunter2\r\na2 SELECT INBOX\r\n")
		s.until("a2")
		var b strings.Builder
		for i := 0; i < 9999; i++ {
			b.WriteString("5,")
		}
		b.WriteString("1")
		s.send("a3 UID SEARCH UID " + b.String() + "\r\n")
		if got := s.line(); got != "* SEARCH 1 5" {
			t.Errorf("UID SEARCH over 10000 ranges: %q", got)
		}
		s.until("a3")
		s.send("a4 FETCH " + b.String() + " UID\r\n")
		if got := s.line(); got != "* 1 FETCH (UID 1)" {
			t.Errorf("FETCH over 10000 ranges: %q", got)
		}
		if got := s.line(); got != "* 5 FETCH (UID 5)" {
			t.Errorf("FETCH over 10000 ranges: %q", got)
		}
		s.until("a4")
	})
}
