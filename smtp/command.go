package smtp

import (
	"fmt"
	"strings"
)

// A command is one parsed SMTP command line: the verb, uppercased, and
// the rest of the line.
type command struct {
	verb string
	arg  string
}

// parseCommand splits a command line (without its CRLF) into verb and
// argument. Verbs are case-insensitive (RFC 5321 §2.4).
func parseCommand(line string) command {
	verb, arg, _ := strings.Cut(line, " ")
	return command{verb: strings.ToUpper(verb), arg: strings.TrimSpace(arg)}
}

// parsePathArg parses the argument of MAIL or RCPT: "FROM:<path> params"
// with prefix "FROM". A space after the colon is tolerated, as in the
// lecture's "MAIL FROM: <alice@crepes.fr>". It returns the path and the
// ESMTP parameters (RFC 5321 §4.1.2 Mail-parameters), keys uppercased.
func parsePathArg(arg, prefix string, utf8 bool) (Path, map[string]string, error) {
	if len(arg) < len(prefix)+1 || !strings.EqualFold(arg[:len(prefix)], prefix) || arg[len(prefix)] != ':' {
		return Path{}, nil, fmt.Errorf("smtp: syntax: want %s:<address>", prefix)
	}
	rest := strings.TrimLeft(arg[len(prefix)+1:], " ")
	if !strings.HasPrefix(rest, "<") {
		return Path{}, nil, fmt.Errorf("smtp: syntax: address must be in angle brackets")
	}
	end := closingBracket(rest)
	if end < 0 {
		return Path{}, nil, fmt.Errorf("smtp: syntax: missing '>'")
	}
	inner, params := rest[1:end], strings.TrimSpace(rest[end+1:])
	// A source route (@a,@b:user@c) is accepted and ignored (§C).
	if strings.HasPrefix(inner, "@") {
		k := strings.IndexByte(inner, ':')
		if k < 0 {
			return Path{}, nil, fmt.Errorf("smtp: syntax: bad source route")
		}
		inner = inner[k+1:]
	}
	// Most commands have no parameters: they get a nil map, which reads
	// as an empty one and costs no allocation.
	var m map[string]string
	if params != "" {
		fields := strings.Fields(params)
		if len(fields) > 16 {
			return Path{}, nil, fmt.Errorf("smtp: syntax: too many parameters")
		}
		m = make(map[string]string, len(fields))
		if err := parseParams(m, fields); err != nil {
			return Path{}, nil, err
		}
	}
	// MAIL FROM:<…> SMTPUTF8 allows a UTF-8 path in the same command.
	_, smtputf8 := m["SMTPUTF8"]
	var p Path
	switch {
	case inner == "":
		if prefix != "FROM" {
			return Path{}, nil, fmt.Errorf("smtp: syntax: empty forward-path")
		}
	case prefix == "TO" && strings.EqualFold(inner, "postmaster"):
		p = Path{Local: "postmaster"}
	default:
		var err error
		if p, err = ParsePath(inner, utf8 || smtputf8); err != nil {
			return Path{}, nil, err
		}
	}
	return p, m, nil
}

// closingBracket finds the '>' that closes the path, skipping quoted
// strings in the local part.
func closingBracket(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case '>':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

// parseParams puts ESMTP parameters ("SIZE=100", "SMTPUTF8") into m, keys
// uppercased.
func parseParams(m map[string]string, fields []string) error {
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		if k == "" {
			return fmt.Errorf("smtp: syntax: bad parameter %q", f)
		}
		m[strings.ToUpper(k)] = v
	}
	return nil
}
