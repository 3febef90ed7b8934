package smtp

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
)

// An Envelope is what the SMTP dialogue says about a message, as opposed
// to the message's own header (package message): the slide's point that
// MAIL FROM and RCPT TO are not the From: and To: lines. A Bcc recipient
// is in To here and nowhere in the header.
type Envelope struct {
	From Path   // MAIL FROM, the reverse-path; the null path for bounces
	To   []Path // RCPT TO, the forward-paths, in order

	Helo       string   // the client's HELO/EHLO name
	RemoteAddr net.Addr // the client's address
	TLS        bool     // the session was encrypted (STARTTLS)
	AuthUser   string   // the identity that authenticated (AUTH), or ""
	Body8Bit   bool     // MAIL FROM BODY=8BITMIME
	UTF8       bool     // MAIL FROM SMTPUTF8
	Size       int64    // MAIL FROM SIZE=, the client's estimate, or 0
	ID         string   // the server's queue id for this transaction
}

// A Backend is where a Server puts the mail it accepts: Bob's mailbox in
// the lecture. MemoryBackend, Discard and Maildir here implement it;
// examples/mail adapts the IMAP store of imap/maildir to it, so that Bob's
// IMAP sessions see what the server delivers.
//
// Deliver reads the whole message from msg (the Received: trace field the
// server adds comes first) and stores it for every recipient of env. It
// must store durably (on disk: written and fsynced) before it returns
// nil, because the server then answers 250 and the client forgets the
// message. If reading msg fails — the client vanished mid-DATA, the
// message was too large, or it had a bare CR or LF — Deliver must store
// nothing and return an error. Returning a *Reply chooses the server's
// answer ("452 4.3.1 mailbox full"); any other error gives
// "451 4.3.0".
//
// Deliver may be called from many sessions at once.
type Backend interface {
	Deliver(ctx context.Context, env *Envelope, msg io.Reader) error
}

// A RecipientChecker is a Backend that can tell at RCPT time whether a
// local recipient exists, so unknown users get "550 5.1.1" during the
// dialogue rather than a bounce later. A nil error accepts.
type RecipientChecker interface {
	CheckRecipient(ctx context.Context, rcpt Path) error
}

// A Relayer is a Backend that takes mail for other domains too: it queues
// it for their mail exchangers (examples/mail's backend does), or keeps
// everything it is given (MemoryBackend, Discard). The server relays an
// authenticated session's mail only into a Relayer, and only to the
// domains Relays accepts. Into any other Backend, one that stores mail
// locally such as Maildir, mail for bob@crepes.fr would land in the local
// bob's mailbox: a recipient outside LocalDomains gets 554 5.7.1 there,
// authenticated or not.
type Relayer interface {
	Relays(domain string) bool
}

// BackendFunc adapts a function to a Backend.
type BackendFunc func(ctx context.Context, env *Envelope, msg io.Reader) error

// Deliver calls f.
func (f BackendFunc) Deliver(ctx context.Context, env *Envelope, msg io.Reader) error {
	return f(ctx, env, msg)
}

// RecipientFunc adapts a delivery function for one mailbox at a time
// (Bob's Maildir, then Carol's) to a Backend: Deliver reads the message
// once into memory (the server's SIZE limit bounds it) and calls f for
// each recipient in turn with its own reader. If f fails for a recipient
// after others succeeded, Deliver returns that error and the client will
// send again: those recipients may get the message twice, never zero
// times (SMTP's at-least-once).
type RecipientFunc func(ctx context.Context, rcpt Path, msg io.Reader) error

// Deliver calls f for every recipient of env.
func (f RecipientFunc) Deliver(ctx context.Context, env *Envelope, msg io.Reader) error {
	data, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	for _, r := range env.To {
		if err := f(ctx, r, bytes.NewReader(data)); err != nil {
			return err
		}
	}
	return nil
}

// Discard is a Backend that reads every message to the end and keeps
// nothing: smtp-sink's behaviour, for load tests.
type Discard struct{}

// Deliver reads msg to the end.
func (Discard) Deliver(ctx context.Context, env *Envelope, msg io.Reader) error {
	_, err := io.Copy(io.Discard, msg)
	return err
}

// Relays implements Relayer: Discard takes mail for any domain.
func (Discard) Relays(string) bool { return true }

// A StoredMessage is one message a MemoryBackend received.
type StoredMessage struct {
	Envelope Envelope
	Data     []byte
}

// MemoryBackend keeps every delivered message in memory, in order. Its
// zero value is ready; it is safe for concurrent use.
type MemoryBackend struct {
	mu       sync.Mutex
	messages []StoredMessage
	notify   chan struct{}
}

// Deliver reads msg and keeps it.
func (m *MemoryBackend) Deliver(ctx context.Context, env *Envelope, msg io.Reader) error {
	var b bytes.Buffer
	if _, err := b.ReadFrom(msg); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := *env
	e.To = append([]Path(nil), env.To...)
	m.messages = append(m.messages, StoredMessage{Envelope: e, Data: b.Bytes()})
	if m.notify != nil {
		close(m.notify)
		m.notify = nil
	}
	return nil
}

// Relays implements Relayer: a MemoryBackend keeps mail for any domain.
func (m *MemoryBackend) Relays(string) bool { return true }

// Messages returns a copy of the list of messages received so far.
func (m *MemoryBackend) Messages() []StoredMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]StoredMessage(nil), m.messages...)
}

// Wait blocks until at least n messages have arrived or ctx is done, and
// returns them.
func (m *MemoryBackend) Wait(ctx context.Context, n int) ([]StoredMessage, error) {
	for {
		m.mu.Lock()
		if len(m.messages) >= n {
			out := append([]StoredMessage(nil), m.messages...)
			m.mu.Unlock()
			return out, nil
		}
		if m.notify == nil {
			m.notify = make(chan struct{})
		}
		ch := m.notify
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
