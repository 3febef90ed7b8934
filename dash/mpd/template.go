package mpd

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxWidth is the widest format tag a template may ask for ($Number%0Nd$).
const MaxWidth = 32

// Values are what a SegmentTemplate's identifiers stand for.
type Values struct {
	RepresentationID string
	Number           uint64
	Time             uint64
	Bandwidth        uint64
}

// Expand substitutes the identifiers of a SegmentTemplate pattern:
// $RepresentationID$, $Number$, $Time$ and $Bandwidth$, the last three with
// an optional printf width such as $Number%05d$, and $$ for a dollar sign.
// An unknown identifier, an unterminated one, a format on
// $RepresentationID$ or a width above MaxWidth is an error.
func Expand(pattern string, v Values) (string, error) {
	var b strings.Builder
	rest := pattern
	for {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		rest = rest[i+1:]
		j := strings.IndexByte(rest, '$')
		if j < 0 {
			return "", fmt.Errorf("mpd: template %q: unterminated identifier", pattern)
		}
		id := rest[:j]
		rest = rest[j+1:]
		if id == "" {
			b.WriteByte('$')
			continue
		}
		name, format, hasFormat := strings.Cut(id, "%")
		width := 0
		if hasFormat {
			w, err := parseWidth(format)
			if err != nil {
				return "", fmt.Errorf("mpd: template %q: $%s$: %v", pattern, id, err)
			}
			width = w
		}
		var n uint64
		switch name {
		case "RepresentationID":
			if hasFormat {
				return "", fmt.Errorf("mpd: template %q: $RepresentationID$ takes no format", pattern)
			}
			b.WriteString(v.RepresentationID)
			continue
		case "Number":
			n = v.Number
		case "Time":
			n = v.Time
		case "Bandwidth":
			n = v.Bandwidth
		default:
			return "", fmt.Errorf("mpd: template %q: unknown identifier $%s$", pattern, id)
		}
		s := strconv.FormatUint(n, 10)
		for k := len(s); k < width; k++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
}

// parseWidth reads a format tag "0Nd" (ISO/IEC 23009-1 5.3.9.4.4: only
// %0[width]d is allowed).
func parseWidth(f string) (int, error) {
	if len(f) < 2 || f[0] != '0' || f[len(f)-1] != 'd' {
		return 0, fmt.Errorf("format %%%s is not %%0[width]d", f)
	}
	digits := f[1 : len(f)-1]
	if digits == "" {
		return 0, nil
	}
	if len(digits) > 3 {
		return 0, fmt.Errorf("width %s above %d", digits, MaxWidth)
	}
	w, err := strconv.Atoi(digits)
	if err != nil || w < 0 {
		return 0, fmt.Errorf("bad width %q", digits)
	}
	if w > MaxWidth {
		return 0, fmt.Errorf("width %d above %d", w, MaxWidth)
	}
	return w, nil
}

// checkTemplate expands a pattern with dummy values to find its errors early.
func checkTemplate(s string) error {
	if s == "" {
		return nil
	}
	_, err := Expand(s, Values{RepresentationID: "x"})
	return err
}
