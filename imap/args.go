package imap

import "time"

// args reads the arguments of a command, each after its space, as the
// grammar writes them: "LOGIN" SP userid SP password. The first error
// sticks: the reads after it read nothing and return zero values, and
// end, which reads the CRLF, reports it. So a handler reads all its
// arguments and checks once:
//
//	a := s.args()
//	user := a.astring()
//	pass := a.astring()
//	if err := a.end(); err != nil {
//		return err
//	}
type args struct {
	s   *session
	err error
}

func (s *session) args() *args { return &args{s: s} }

// readArg reads a space and then an argument with read, unless an earlier
// read failed.
func readArg[T any](a *args, read func() (T, error)) T {
	var v T
	if a.err == nil {
		a.err = a.s.r.sp()
	}
	if a.err == nil {
		v, a.err = read()
	}
	return v
}

// atom reads an atom, which may also hold the characters in extra.
func (a *args) atom(extra string) string {
	return readArg(a, func() (string, error) { return a.s.r.atom(extra) })
}

func (a *args) astring() string         { return readArg(a, a.s.r.astring) }
func (a *args) mailbox() string         { return readArg(a, a.s.mailboxName) }
func (a *args) seqSet() SeqSet          { return readArg(a, a.s.seqSet) }
func (a *args) flagList() []string      { return readArg(a, a.s.r.flagList) }
func (a *args) dateTime() time.Time     { return readArg(a, a.s.dateTime) }
func (a *args) fetchItems() []fetchItem { return readArg(a, a.s.fetchItems) }

// read reads an argument with read, which keeps what it read.
func (a *args) read(read func() error) {
	readArg(a, func() (struct{}, error) { return struct{}{}, read() })
}

// list reads a parenthesised list, calling item for each element.
func (a *args) list(item func() error) {
	a.read(func() error { return a.s.r.list(item) })
}

// more reports whether another argument follows: no error so far, and
// the line goes on.
func (a *args) more() bool { return a.err == nil && !a.s.r.atEOL() }

// next reports whether another argument follows and starts with c (as a
// list starts with "(").
func (a *args) next(c byte) bool {
	if a.err != nil {
		return false
	}
	b, err := a.s.r.br.Peek(2)
	return err == nil && b[0] == ' ' && b[1] == c
}

// end reads the end of the line and returns the first error of the
// command's arguments.
func (a *args) end() error {
	if a.err == nil {
		a.err = a.s.r.crlf()
	}
	return a.err
}
