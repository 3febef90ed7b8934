package sockettest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// CheckInterleaved compares a transcript that several sessions wrote at
// once with each session's transcript written alone. alone maps a
// session's key (a name that appears in each of its lines, and in no
// other session's) to its transcript. The shared transcript must hold
// exactly the lines of all the sessions — none torn, lost or mixed — and
// each session's lines, picked out by its key, in its own order; each
// session must have at least minLines such lines, so that they overlap
// enough to tell. The error says what differs.
func CheckInterleaved(shared string, alone map[string]string, minLines int) error {
	lines := func(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
	got := lines(shared)
	var want []string
	for _, a := range alone {
		want = append(want, lines(a)...)
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		var each []string
		for _, k := range slices.Sorted(maps.Keys(alone)) {
			each = append(each, alone[k])
		}
		return fmt.Errorf("the shared transcript is not the sessions' lines:\n%s\nwant the lines of\n%s",
			shared, strings.Join(each, ""))
	}
	for _, key := range slices.Sorted(maps.Keys(alone)) {
		a := alone[key]
		mine := func(lines []string) []string {
			var out []string
			for _, l := range lines {
				if strings.Contains(l, key) {
					out = append(out, l)
				}
			}
			return out
		}
		if m, w := mine(got), mine(lines(a)); !slices.Equal(m, w) || len(w) < minLines {
			return fmt.Errorf("%s's lines in the shared transcript:\n%s\nwant (%d lines, at least %d)\n%s",
				key, strings.Join(m, "\n"), len(w), minLines, strings.Join(w, "\n"))
		}
	}
	return nil
}
