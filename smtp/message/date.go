package message

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DateLayout is the RFC 5322 §3.3 date-time layout this package writes.
const DateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// FormatDate formats t for a Date: field.
func FormatDate(t time.Time) string { return t.Format(DateLayout) }

var months = map[string]time.Month{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

// obsZones are the obsolete zone names of RFC 5322 §4.3, in hours.
var obsZones = map[string]int{
	"UT": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
	"MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

// ParseDate parses an RFC 5322 date-time, accepting the obsolete forms of
// §4.3: no day of the week, two-digit years, missing seconds, named and
// military zones, comments and extra whitespace.
func ParseDate(s string) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("message: date %q: %s", s, why)
	}
	if len(s) > 256 {
		return bad("too long")
	}
	// Drop comments.
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	f := strings.Fields(strings.ReplaceAll(b.String(), ",", " , "))
	if len(f) > 0 && len(f[0]) >= 3 && !isDigits(f[0]) {
		f = f[1:] // day of week
		if len(f) > 0 && f[0] == "," {
			f = f[1:]
		}
	}
	// Split "12:34:56" and tolerate "+0100" glued to time? Not needed.
	if len(f) < 4 {
		return bad("too few fields")
	}
	day, err := strconv.Atoi(f[0])
	if err != nil || day < 1 || day > 31 {
		return bad("bad day")
	}
	mon, ok := months[strings.ToLower(f[1])]
	if !ok {
		if len(f[1]) > 3 {
			mon, ok = months[strings.ToLower(f[1][:3])]
		}
		if !ok {
			return bad("bad month")
		}
	}
	year, err := strconv.Atoi(f[2])
	if err != nil || year < 0 || year > 9999 {
		return bad("bad year")
	}
	if len(f[2]) <= 2 {
		if year < 50 {
			year += 2000
		} else {
			year += 1900
		}
	} else if len(f[2]) == 3 {
		year += 1900
	}
	hms := strings.Split(f[3], ":")
	if len(hms) < 2 || len(hms) > 3 {
		return bad("bad time")
	}
	var tv [3]int
	for i, x := range hms {
		if n, err := strconv.Atoi(x); err != nil || n < 0 || len(x) > 2 {
			return bad("bad time")
		} else {
			tv[i] = n
		}
	}
	if tv[0] > 23 || tv[1] > 59 || tv[2] > 60 {
		return bad("bad time")
	}
	if tv[2] == 60 {
		tv[2] = 59 // a leap second
	}
	offset := 0
	if len(f) >= 5 {
		z := f[4]
		switch {
		case (z[0] == '+' || z[0] == '-') && len(z) == 5 && isDigits(z[1:]):
			h, _ := strconv.Atoi(z[1:3])
			m, _ := strconv.Atoi(z[3:5])
			if m > 59 {
				return bad("bad zone")
			}
			offset = h*3600 + m*60
			if z[0] == '-' {
				offset = -offset
			}
		default:
			if h, ok := obsZones[strings.ToUpper(z)]; ok {
				offset = h * 3600
			}
			// Other names (military zones) mean "unknown", -0000.
		}
	}
	loc := time.FixedZone("", offset)
	return time.Date(year, mon, day, tv[0], tv[1], tv[2], 0, loc), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NewMessageID returns a new globally unique Message-ID (RFC 5322 §3.6.4)
// "<time.random@host>", angle brackets included. now is the time to
// embed; the rest is random.
func NewMessageID(now time.Time, host string) string {
	var r [12]byte
	rand.Read(r[:])
	return "<" + strconv.FormatInt(now.UnixNano(), 36) + "." + hex.EncodeToString(r[:]) + "@" + host + ">"
}
