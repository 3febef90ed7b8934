package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"appnet.dev/imap"
	"appnet.dev/smtp"
	"appnet.dev/smtp/message"
)

// Limits of the front end.
const (
	cookieName      = "webmail_session"
	sessionTTL      = 30 * time.Minute // idle time before a session ends
	maxSessions     = 1000
	listLength      = 50      // newest messages on the list page
	maxMessageBytes = 4 << 20 // of one message read for its page
	maxLoginForm    = 4 << 10 // request bodies
	maxSmallForm    = 1 << 10
	maxComposeForm  = 1 << 20
	// Password guessing: failed logins allowed per client address in a
	// window, and how many addresses are remembered.
	maxLoginFailures   = 5
	loginFailureWindow = 5 * time.Minute
	maxGuardedAddrs    = 10000
)

// frontend is the web mail server: an http.Handler whose pages speak IMAP
// (reading) and SMTP (sending) to the mail server on the user's behalf.
type frontend struct {
	imapAddr, smtpAddr string
	domain             string        // of the users' addresses
	timeout            time.Duration // for each page's IMAP or SMTP work
	sessions           *sessions
	guard              *loginGuard
	pages              map[string]*template.Template
	now                func() time.Time
	errorLog           *log.Logger
}

func newFrontend(imapAddr, smtpAddr, domain string, errorLog *log.Logger) *frontend {
	return &frontend{
		imapAddr: imapAddr, smtpAddr: smtpAddr, domain: domain,
		timeout:  15 * time.Second,
		sessions: newSessions(sessionTTL, maxSessions),
		guard:    newLoginGuard(maxLoginFailures, loginFailureWindow, maxGuardedAddrs),
		pages:    parsePages(),
		now:      time.Now,
		errorLog: errorLog,
	}
}

// handler routes the pages. Every GET but the login page and every POST
// but the login form needs a session; the POSTs also need its CSRF token.
// Besides, net/http's CrossOriginProtection refuses a POST that a browser
// says comes from another site's page (Sec-Fetch-Site, Origin), which
// covers the login form too: it has no session to hold a token yet.
func (f *frontend) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		f.render(w, http.StatusOK, "login", &page{Title: "Log in"})
	})
	mux.HandleFunc("POST /login", f.login)
	mux.HandleFunc("POST /logout", f.withSession(maxSmallForm, f.logout))
	mux.HandleFunc("GET /inbox", f.withSession(0, f.inbox))
	mux.HandleFunc("GET /message/{uid}", f.withSession(0, f.message))
	mux.HandleFunc("GET /compose", f.withSession(0, f.compose))
	mux.HandleFunc("POST /send", f.withSession(maxComposeForm, f.send))
	checked := http.NewCrossOriginProtection().Handler(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store") // mail is private
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		checked.ServeHTTP(w, r)
	})
}

// parseForm reads a POST body of at most limit bytes.
func parseForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		code := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			code = http.StatusRequestEntityTooLarge
		}
		http.Error(w, "webmail: form: "+err.Error(), code)
		return false
	}
	return true
}

// withSession finds the request's session, or sends the browser to the
// login page. For a POST (formLimit > 0) it reads the form and checks the
// session's CSRF token: a page of another site can make the browser post
// here, but it cannot read the token.
func (f *frontend) withSession(formLimit int64, h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if c, err := r.Cookie(cookieName); err == nil {
			s = f.sessions.get(c.Value, f.now())
		}
		if s == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if formLimit > 0 {
			if !parseForm(w, r, formLimit) {
				return
			}
			if !s.validCSRF(r.PostForm.Get("csrf")) {
				http.Error(w, "webmail: missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		h(w, r, s)
	}
}

// setCookie gives the browser the session's ID: HttpOnly so no script can
// read it, SameSite=Strict so no other site's page sends it. (Secure too,
// once the front end is served over HTTPS.)
func setCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// login checks the user name and password by logging in to the IMAP
// server with them, and starts a session if it accepts. An address that
// has failed too often lately is refused before the mail server is asked
// (see loginGuard).
func (f *frontend) login(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r, maxLoginForm) {
		return
	}
	client, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		client = r.RemoteAddr
	}
	if wait := f.guard.wait(client, f.now()); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		f.render(w, http.StatusTooManyRequests, "login", &page{Title: "Log in",
			Error: fmt.Sprintf("Too many failed logins from your address; try again in %d s.", secs)})
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("user"))
	if at := strings.LastIndexByte(user, '@'); at >= 0 && strings.EqualFold(user[at+1:], f.domain) {
		user = user[:at] // bob@hamburger.edu logs in as bob
	}
	password := r.PostForm.Get("password")
	p := &page{Title: "Log in", Login: user}
	if !message.IsDotAtom(user) || password == "" {
		p.Error = "Give your user name (or address at " + f.domain + ") and mail password."
		f.render(w, http.StatusBadRequest, "login", p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.timeout)
	defer cancel()
	err = inInbox(ctx, f.imapAddr, user, password, true, func(*imap.Client, *imap.MailboxStatus) error { return nil })
	switch {
	case errors.Is(err, errLogin):
		f.guard.failed(client, f.now())
		p.Error = "Wrong user name or password."
		f.render(w, http.StatusUnauthorized, "login", p)
		return
	case err != nil:
		f.fail(w, nil, err)
		return
	}
	f.guard.succeeded(client)
	s := f.sessions.create(user, password, f.now())
	if s == nil {
		p.Error = "Too many people are logged in; try again later."
		f.render(w, http.StatusServiceUnavailable, "login", p)
		return
	}
	setCookie(w, s.ID, 0)
	http.Redirect(w, r, "/inbox", http.StatusSeeOther)
}

func (f *frontend) logout(w http.ResponseWriter, r *http.Request, s *session) {
	f.sessions.remove(s.ID)
	setCookie(w, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// fail shows an error page: the IMAP or SMTP server failed or refused.
// A refused password (changed since the login) ends the session.
func (f *frontend) fail(w http.ResponseWriter, s *session, err error) {
	code := http.StatusBadGateway
	switch {
	case errors.Is(err, errLogin) && s != nil:
		f.sessions.remove(s.ID)
		setCookie(w, "", -1)
		f.render(w, http.StatusUnauthorized, "login", &page{Title: "Log in", Login: s.User, Error: "The mail server no longer accepts your password; log in again."})
		return
	case errors.Is(err, errNoMessage):
		code = http.StatusNotFound
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusGatewayTimeout
	}
	p := &page{Title: http.StatusText(code), Error: err.Error()}
	if s != nil {
		p.User, p.CSRF = s.Address(f.domain), s.CSRF
	}
	f.render(w, code, "error", p)
}

// inbox lists INBOX: EXAMINE and a FETCH of the envelopes.
func (f *frontend) inbox(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := context.WithTimeout(r.Context(), f.timeout)
	defer cancel()
	var list []summary
	err := inInbox(ctx, f.imapAddr, s.User, s.Password, true, func(c *imap.Client, st *imap.MailboxStatus) (err error) {
		list, err = listInbox(ctx, c, st.Messages, listLength)
		return err
	})
	if err != nil {
		f.fail(w, s, err)
		return
	}
	p := &page{Title: "Inbox", User: s.Address(f.domain), CSRF: s.CSRF, List: list}
	if r.URL.Query().Has("sent") {
		p.Notice = "Message sent."
	}
	f.render(w, http.StatusOK, "inbox", p)
}

// message shows one message: SELECT and a UID FETCH of BODY[], which
// sets its \Seen flag.
func (f *frontend) message(w http.ResponseWriter, r *http.Request, s *session) {
	uid, err := strconv.ParseUint(r.PathValue("uid"), 10, 32)
	if err != nil || uid == 0 {
		f.fail(w, s, errNoMessage)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.timeout)
	defer cancel()
	var l *letter
	err = inInbox(ctx, f.imapAddr, s.User, s.Password, false, func(c *imap.Client, _ *imap.MailboxStatus) (err error) {
		l, err = fetchMessage(ctx, c, uint32(uid), maxMessageBytes)
		return err
	})
	if err != nil {
		f.fail(w, s, err)
		return
	}
	title := l.Subject
	if strings.TrimSpace(title) == "" {
		title = "(no subject)"
	}
	f.render(w, http.StatusOK, "message", &page{Title: title, User: s.Address(f.domain), CSRF: s.CSRF, Letter: l})
}

func (f *frontend) compose(w http.ResponseWriter, r *http.Request, s *session) {
	f.render(w, http.StatusOK, "compose", f.composePage(s, draft{}, ""))
}

func (f *frontend) composePage(s *session, d draft, errText string) *page {
	return &page{Title: "New message", User: s.Address(f.domain), CSRF: s.CSRF, Draft: d, Sending: s.Address(f.domain), Error: errText}
}

// send builds the composed message and submits it over SMTP. On success
// the browser goes to the inbox (Post/Redirect/Get, so reloading does not
// send again); on failure the form comes back, filled in, with the reason.
func (f *frontend) send(w http.ResponseWriter, r *http.Request, s *session) {
	d := draft{To: r.PostForm.Get("to"), Subject: r.PostForm.Get("subject"), Body: r.PostForm.Get("body")}
	to, err := d.recipients()
	if err != nil {
		f.render(w, http.StatusBadRequest, "compose", f.composePage(s, d, err.Error()))
		return
	}
	from := message.Address{Local: s.User, Domain: f.domain}
	now := f.now()
	ctx, cancel := context.WithTimeout(r.Context(), f.timeout)
	defer cancel()
	err = submit(ctx, f.smtpAddr, s.User, s.Password, smtp.Path{Local: from.Local, Domain: from.Domain}, paths(to), d.build(from, to, now))
	if err != nil {
		code := http.StatusBadGateway // the mail server failed
		if _, ok := errors.AsType[*smtp.Reply](err); ok {
			code = http.StatusUnprocessableEntity // it refused the message
		}
		f.render(w, code, "compose", f.composePage(s, d, fmt.Sprintf("Sending failed: %v", err)))
		return
	}
	http.Redirect(w, r, "/inbox?sent=1", http.StatusSeeOther)
}
