package sockets

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readAll returns every line (or error text) a LineReader yields.
func readAll(lr *LineReader, raw bool) []string {
	var got []string
	for i := 0; i < 1000; i++ {
		var line []byte
		var err error
		if raw {
			line, err = lr.ReadRawLine()
		} else {
			line, err = lr.ReadLine()
		}
		switch {
		case err == io.EOF:
			return got
		case errors.Is(err, ErrLineTooLong):
			got = append(got, "<too long>")
		case err != nil:
			return append(got, "<"+err.Error()+">")
		default:
			got = append(got, string(line))
		}
	}
	return append(got, "<no end>")
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name  string
		input string
		max   int
		raw   bool
		want  []string
	}{
		{"crlf", "HELO crepes.fr\r\nQUIT\r\n", 512, false, []string{"HELO crepes.fr", "QUIT"}},
		{"bare lf", "a\nb\r\n", 512, false, []string{"a", "b"}},
		{"raw keeps endings", "a\nb\r\nc\r\r\n", 512, true, []string{"a\n", "b\r\n", "c\r\r\n"}},
		{"empty lines", "\r\n\r\n", 512, false, []string{"", ""}},
		{"exactly max", "abcd\r\n", 6, false, []string{"abcd"}},
		{"one over max", "abcde\r\nok\r\n", 6, false, []string{"<too long>", "ok"}},
		{"long line then more", strings.Repeat("x", 10000) + "\r\nnext\r\n", 100, false, []string{"<too long>", "next"}},
		{"partial at eof", "done\r\nhalf", 512, false, []string{"done", "<unexpected EOF>"}},
		{"too long at eof", strings.Repeat("y", 50), 10, false, []string{"<unexpected EOF>"}},
		{"line spans refills", strings.Repeat("z", 9000) + "\n", 10000, false, []string{strings.Repeat("z", 9000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tt.input)},
				{"byte at a time", iotest.OneByteReader(strings.NewReader(tt.input))},
				{"half", iotest.HalfReader(strings.NewReader(tt.input))},
			} {
				got := readAll(NewLineReader(r.r, tt.max), tt.raw)
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("%s: lines (-want +got):\n%s", r.name, diff)
				}
			}
		})
	}
}

func TestLineReaderTooLongErrorType(t *testing.T) {
	lr := NewLineReader(strings.NewReader(strings.Repeat("a", 600)+"\r\n"), 512)
	_, err := lr.ReadLine()
	var tl *LineTooLongError
	if !errors.As(err, &tl) || tl.Max != 512 {
		t.Fatalf("err = %v, want *LineTooLongError with Max 512", err)
	}
}

// A line of megabytes without a newline must not grow the reader's memory.
func TestLineReaderBoundedMemory(t *testing.T) {
	const max = 1000
	huge := io.MultiReader(
		io.LimitReader(repeatReader('A'), 8<<20),
		strings.NewReader("\r\nQUIT\r\n"),
	)
	lr := NewLineReader(huge, max)
	if _, err := lr.ReadLine(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("first line: err = %v, want ErrLineTooLong", err)
	}
	if cap(lr.buf)+cap(lr.lbuf) > 2*max+readSize {
		t.Errorf("reader holds %d bytes of buffer for a %d-byte limit", cap(lr.buf)+cap(lr.lbuf), max)
	}
	line, err := lr.ReadLine()
	if err != nil || string(line) != "QUIT" {
		t.Errorf("after the long line: %q, %v; want QUIT", line, err)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// Read returns buffered bytes first, then reads through: an IMAP literal
// after its command line.
func TestLineReaderReadAfterLine(t *testing.T) {
	lr := NewLineReader(iotest.HalfReader(strings.NewReader("APPEND INBOX {11}\r\nHello Bob!\nA002 NOOP\r\n")), 512)
	line, err := lr.ReadLine()
	if err != nil || string(line) != "APPEND INBOX {11}" {
		t.Fatalf("line = %q, %v", line, err)
	}
	lit := make([]byte, 11)
	if _, err := io.ReadFull(lr, lit); err != nil {
		t.Fatal(err)
	}
	if string(lit) != "Hello Bob!\n" {
		t.Errorf("literal = %q", lit)
	}
	line, err = lr.ReadLine()
	if err != nil || string(line) != "A002 NOOP" {
		t.Errorf("next line = %q, %v", line, err)
	}
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("HELO crepes.fr\r\nMAIL FROM:<alice@crepes.fr>\r\n"), 16)
	f.Add([]byte("a\nb\rc\r\n\r\n"), 2)
	f.Add([]byte(strings.Repeat("x", 5000)+"\n"), 4096)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		lr := NewLineReader(bytes.NewReader(data), max)
		var joined []byte
		tooLong := false
		for i := 0; i <= len(data); i++ {
			line, err := lr.ReadRawLine()
			if errors.Is(err, ErrLineTooLong) {
				tooLong = true
				continue
			}
			if err != nil {
				break
			}
			if len(line) > lr.Max() || len(line) == 0 || line[len(line)-1] != '\n' {
				t.Fatalf("bad line %q (max %d)", line, lr.Max())
			}
			joined = append(joined, line...)
		}
		// Without over-long lines, the raw lines put back together are the
		// input up to its last newline.
		if !tooLong {
			want := data[:bytes.LastIndexByte(data, '\n')+1]
			if !bytes.Equal(joined, want) {
				t.Fatalf("joined lines %q, want %q", joined, want)
			}
		}
	})
}
