package smtp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"appnet.dev/sockets"
)

// A Reply is an SMTP server's answer (RFC 5321 §4.2): a three-digit code,
// an optional enhanced status code (RFC 3463, "2.1.0") and text, one
// element per line of a multi-line reply.
//
// The first digit says how it went: 2 done, 3 go on (354 after DATA),
// 4 try again later, 5 never again. A Reply is also an error, so the
// client returns the server's refusal as it came and the server's Backend
// can refuse with a chosen code.
type Reply struct {
	Code     int
	Enhanced string
	Text     []string
}

// Error formats the reply as "smtp: 550 5.1.1 no such user".
func (r *Reply) Error() string {
	return "smtp: " + r.line(0)
}

func (r *Reply) String() string { return r.line(0) }

// line formats line i of the reply, without the separator after the code.
func (r *Reply) line(i int) string {
	var text string
	if i < len(r.Text) {
		text = r.Text[i]
	}
	s := strconv.Itoa(r.Code)
	if r.Enhanced != "" {
		s += " " + r.Enhanced
	}
	if text != "" {
		s += " " + text
	}
	return s
}

// Temporary reports whether the reply is a transient failure (4xx): the
// queue tries again later.
func (r *Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

// Permanent reports whether the reply is a permanent failure (5xx): the
// queue gives up and bounces.
func (r *Reply) Permanent() bool { return r.Code >= 500 }

// Positive reports whether the reply is 2xx or 3xx.
func (r *Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// appendTo writes the reply in wire form: "250-first\r\n250 last\r\n".
func (r *Reply) appendTo(b []byte) []byte {
	n := len(r.Text)
	if n == 0 {
		n = 1
	}
	for i := 0; i < n; i++ {
		var text string
		if i < len(r.Text) {
			text = r.Text[i]
		}
		b = appendReplyLine(b, r.Code, i < n-1, r.Enhanced, text)
	}
	return b
}

// appendReplyLine writes one line of a reply: "250-text\r\n" if more
// lines follow, else "250 text\r\n", with the enhanced code, if any,
// before the text. The text is a string or, for a reply put together
// without allocating, bytes.
func appendReplyLine[T string | []byte](b []byte, code int, more bool, enhanced string, text T) []byte {
	b = strconv.AppendInt(b, int64(code), 10)
	if more {
		b = append(b, '-')
	} else {
		b = append(b, ' ')
	}
	if enhanced != "" {
		b = append(b, enhanced...)
		b = append(b, ' ')
	}
	// A CR or LF in the text (a Backend's message) would end the line
	// early and forge another reply.
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	if b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return append(b, '\r', '\n')
}

// newReply builds a one-line reply.
func newReply(code int, enhanced, format string, args ...any) *Reply {
	return &Reply{Code: code, Enhanced: enhanced, Text: []string{fmt.Sprintf(format, args...)}}
}

// A ProtocolError reports a peer that broke the protocol: a malformed
// reply line, a reply code out of range.
type ProtocolError struct {
	What string
}

func (e *ProtocolError) Error() string { return "smtp: protocol error: " + e.What }

// Sentinels.
var (
	// ErrServerClosed is returned by Serve after Shutdown or Close. It is
	// sockets.ErrServerClosed, the one value every appnet server returns.
	ErrServerClosed = sockets.ErrServerClosed
	// ErrMessageTooLarge is returned while reading a message beyond the
	// SIZE limit.
	ErrMessageTooLarge = errors.New("smtp: message too large")
	// ErrBareLineEnding is returned at the end of a message that had a CR
	// or LF not part of a CRLF: the smuggling defence rejects it.
	ErrBareLineEnding = errors.New("smtp: bare CR or LF in message")
	// ErrLineTooLong is returned at the end of a message with a line
	// beyond the server's limit.
	ErrLineTooLong = errors.New("smtp: line too long")
)

// parseReplyLine splits "250-text" into its parts.
func parseReplyLine(line string) (code int, more bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", &ProtocolError{"short reply line " + strconv.Quote(line)}
	}
	code, err = strconv.Atoi(line[:3])
	if err != nil || code < 200 || code > 599 {
		return 0, false, "", &ProtocolError{"bad reply code in " + strconv.Quote(line)}
	}
	if len(line) > 3 {
		switch line[3] {
		case '-':
			more = true
		case ' ':
		default:
			return 0, false, "", &ProtocolError{"bad reply separator in " + strconv.Quote(line)}
		}
		text = line[4:]
	}
	return code, more, text, nil
}

// splitEnhanced takes an RFC 3463 code ("2.1.0") off the front of text
// when it matches the reply's class.
func splitEnhanced(code int, text string) (string, string) {
	first, rest, _ := strings.Cut(text, " ")
	parts := strings.Split(first, ".")
	if len(parts) != 3 || len(first) > 11 || first[0] != byte('0'+code/100) {
		return "", text
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil || len(p) > 3 {
			return "", text
		}
	}
	return first, rest
}
