package smtp

import (
	"bytes"

	"appnet.dev/sockets"
)

// redacted is what a transcript shows in place of credentials.
const redacted = "<redacted>"

// traceWriter returns the writer every session's transcript goes to:
// Trace, wrapped once for the whole server in a sockets.SyncWriter, so
// that sessions running side by side print whole lines in turn even when
// Trace itself (a bytes.Buffer, say) is not safe for concurrent use. It
// returns nil if Trace is nil.
func (srv *Server) traceWriter() *sockets.SyncWriter {
	srv.traceOnce.Do(func() {
		if srv.Trace != nil {
			srv.trace = sockets.NewSyncWriter(srv.Trace)
		}
	})
	return srv.trace
}

// authRedactor hides the secrets of AUTH (RFC 4954) from a transcript,
// the server's (Server.Trace) and the client's (Client.Trace) alike. The
// client's credentials travel as base64, which anyone reading the trace
// could decode: in the AUTH command itself (the initial response, "AUTH
// PLAIN AGFsaWNlAHNlY3JldA==") and in the lines answering the server's
// 334 challenges. The transcript shows instead
//
//	C: AUTH PLAIN <redacted>
//	S: 235 2.7.0 authentication successful
//
// or, for LOGIN,
//
//	C: AUTH LOGIN
//	S: 334 VXNlcm5hbWU6
//	C: <redacted>
//	S: 334 UGFzc3dvcmQ6
//	C: <redacted>
//	S: 235 2.7.0 authentication successful
//
// It watches the dialogue as the trace sees it: an AUTH command opens the
// exchange, and every client line is hidden until the server answers with
// anything but 334. Message text (after 354, or in a BDAT chunk) is never
// taken for a command. When in doubt it hides more, never less: lines a
// client pipelines behind its credentials are hidden too.
type authRedactor struct {
	auth bool // an AUTH exchange is open
	data bool // the client is sending message text
}

// line is the redact function for sockets.TraceRedacted.
func (r *authRedactor) line(fromClient bool, line []byte) []byte {
	if !fromClient {
		// Every server reply ends message text; a 334 asks for more of
		// the AUTH exchange, and anything else ends it.
		code := line[:min(len(line), 3)]
		r.auth = r.auth && string(code) == "334"
		r.data = string(code) == "354"
		return line
	}
	switch {
	case r.auth:
		return []byte(redacted)
	case r.data:
		return line
	case hasPrefixFold(line, "BDAT "):
		r.data = true // the chunk's octets follow
		return line
	case hasPrefixFold(line, "AUTH ") || bytes.EqualFold(line, []byte("AUTH")):
		r.auth = true
		// Keep the mechanism, hide the initial response.
		fields := bytes.Fields(line)
		if len(fields) <= 2 {
			return line
		}
		out := make([]byte, 0, len(fields[0])+len(fields[1])+len(redacted)+2)
		out = append(out, fields[0]...)
		out = append(out, ' ')
		out = append(out, fields[1]...)
		out = append(out, ' ')
		return append(out, redacted...)
	}
	return line
}

// hasPrefixFold reports whether line starts with prefix, ignoring ASCII
// case.
func hasPrefixFold(line []byte, prefix string) bool {
	return len(line) >= len(prefix) && bytes.EqualFold(line[:len(prefix)], []byte(prefix))
}
