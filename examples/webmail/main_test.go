package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

func TestMain(m *testing.M) { os.Exit(sockettest.VerifyNoLeaks(m)) }

// demo is a running webmail demo: the web front end and its in-process
// mail server, on loopback ports the system chose.
type demo struct {
	URL     string // "http://127.0.0.1:port"
	Maildir string
}

// startDemo runs the program as "go run ./examples/webmail" does, until
// the test ends.
func startDemo(t *testing.T) demo {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	cfg := config{Addr: "127.0.0.1:0", Domain: "hamburger.edu", Maildir: dir, Out: io.Discard,
		Ready: func(a net.Addr) { ready <- a }}
	go func() { done <- run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case a := <-ready:
		return demo{URL: "http://" + a.String(), Maildir: dir}
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return demo{}
}

// browser is net/http's client with a cookie jar, following redirects
// as a browser does.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, ctx context.Context, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	return &browser{t: t, ctx: ctx, base: base, c: c}
}

// A response is a page the browser ended up on.
type response struct {
	Code   int
	Path   string // after redirects
	Header http.Header
	Body   string
}

func (b *browser) do(method, path string, form url.Values) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.ctx, method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode == http.StatusOK && ct != "text/html; charset=utf-8" {
		b.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return response{Code: resp.StatusCode, Path: resp.Request.URL.Path, Header: resp.Header, Body: string(data)}
}

func (b *browser) get(path string) response { b.t.Helper(); return b.do("GET", path, nil) }
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	return b.do("POST", path, form)
}

// login posts the login form and expects the inbox.
func (b *browser) login(user, password string) response {
	b.t.Helper()
	r := b.post("/login", url.Values{"user": {user}, "password": {password}})
	if r.Code != http.StatusOK || r.Path != "/inbox" {
		b.t.Fatalf("login as %s: %d at %s:\n%s", user, r.Code, r.Path, r.Body)
	}
	return r
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the token from a page's form.
func (b *browser) csrf(page response) string {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(page.Body)
	if m == nil {
		b.t.Fatalf("no CSRF token in %s:\n%s", page.Path, page.Body)
	}
	return m[1]
}

var messageLink = regexp.MustCompile(`<tr( class="unseen")?>\s*<td>[^<]*</td><td>([^<]*)</td><td><a href="(/message/\d+)">([^<]*)</a>`)

// A row is one message of the list page, as the HTML shows it (escaped).
type row struct {
	Unseen              bool
	From, Link, Subject string
}

func rows(page response) []row {
	var out []row
	for _, m := range messageLink.FindAllStringSubmatch(page.Body, -1) {
		out = append(out, row{Unseen: m[1] != "", From: m[2], Link: m[3], Subject: m[4]})
	}
	return out
}

func findRow(t *testing.T, page response, subjectHTML string) row {
	t.Helper()
	for _, r := range rows(page) {
		if r.Subject == subjectHTML {
			return r
		}
	}
	t.Fatalf("no message %q in the list:\n%s", subjectHTML, page.Body)
	return row{}
}

// TestBobWritesToAlice is the slide end to end: Bob's browser logs in,
// reads the welcome message (fetched over IMAP, MIME decoded), sends Alice
// a message through the compose form (SMTP), and Alice's browser finds it.
func TestBobWritesToAlice(t *testing.T) {
	d := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	bob := newBrowser(t, ctx, d.URL)
	inbox := bob.login("bob@hamburger.edu", "hunter2")
	welcome := findRow(t, inbox, "Welcome to web mail – über HTTP") // RFC 2047 decoded
	if !welcome.Unseen || welcome.From != "Postmaster" {
		t.Errorf("welcome row %+v, want unseen, from Postmaster", welcome)
	}
	msg := bob.get(welcome.Link)
	for _, want := range []string{"Grüße from hamburger.edu.", "protocols.txt (text/plain,", "Postmaster &lt;postmaster@hamburger.edu&gt;"} {
		if !strings.Contains(msg.Body, want) {
			t.Errorf("message page lacks %q:\n%s", want, msg.Body)
		}
	}
	if strings.Contains(msg.Body, "HTTP: browser") {
		t.Errorf("the attachment's content is shown:\n%s", msg.Body)
	}
	if r := findRow(t, bob.get("/inbox"), "Welcome to web mail – über HTTP"); r.Unseen {
		t.Errorf("welcome message still unseen after reading it")
	}

	const subject = "Lunch? <script>alert(1)</script>"
	const body = "Do you like ketchup?\r\nÜber-lecker, sagt man in Hamburg.\r\n"
	compose := bob.get("/compose")
	sent := bob.post("/send", url.Values{"csrf": {bob.csrf(compose)}, "to": {"Alice <alice@hamburger.edu>"}, "subject": {subject}, "body": {body}})
	if sent.Code != http.StatusOK || sent.Path != "/inbox" || !strings.Contains(sent.Body, "Message sent.") {
		t.Fatalf("send: %d at %s:\n%s", sent.Code, sent.Path, sent.Body)
	}

	alice := newBrowser(t, ctx, d.URL)
	list := alice.login("alice", "ketchup")
	if strings.Contains(list.Body, "<script>") {
		t.Errorf("the subject's HTML reached the page unescaped:\n%s", list.Body)
	}
	r := findRow(t, list, "Lunch? &lt;script&gt;alert(1)&lt;/script&gt;")
	if !r.Unseen || r.From != "bob@hamburger.edu" {
		t.Errorf("row %+v, want unseen, from bob@hamburger.edu", r)
	}
	read := alice.get(r.Link)
	if !strings.Contains(read.Body, "<pre>Do you like ketchup?\nÜber-lecker, sagt man in Hamburg.\n</pre>") {
		t.Errorf("message page does not show the text:\n%s", read.Body)
	}

	// On disk, in Alice's Maildir, read with the standard library as
	// an independent reader of the format.
	files, _ := filepath.Glob(filepath.Join(d.Maildir, "alice", "cur", "*"))
	more, _ := filepath.Glob(filepath.Join(d.Maildir, "alice", "new", "*"))
	var found bool
	for _, name := range append(files, more...) {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(f)
		if err != nil {
			f.Close()
			t.Fatalf("%s: %v", name, err)
		}
		subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil || subj != subject {
			f.Close()
			continue
		}
		found = true
		var text io.Reader = m.Body
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			text = quotedprintable.NewReader(m.Body)
		}
		got, err := io.ReadAll(text)
		f.Close()
		if err != nil || string(got) != body {
			t.Errorf("body on disk %q (%v), want %q", got, err, body)
		}
		for key, want := range map[string]string{"From": "bob@hamburger.edu", "To": "Alice <alice@hamburger.edu>", "MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8"} {
			if got := m.Header.Get(key); got != want {
				t.Errorf("%s: %q, want %q", key, got, want)
			}
		}
		if _, err := m.Header.Date(); err != nil {
			t.Errorf("Date: %v", err)
		}
		if _, err := mail.ParseAddress(m.Header.Get("Message-ID")); err != nil {
			t.Errorf("Message-ID %q: %v", m.Header.Get("Message-ID"), err)
		}
	}
	if !found {
		t.Errorf("no message with subject %q in %s", subject, filepath.Join(d.Maildir, "alice"))
	}
}

// TestWrongPassword: the IMAP server refuses the password, so the front end
// does too, and sets no cookie.
func TestWrongPassword(t *testing.T) {
	d := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := newBrowser(t, ctx, d.URL)
	for _, user := range []string{"bob", "mallory"} {
		r := b.post("/login", url.Values{"user": {user}, "password": {"hunter3"}})
		if r.Code != http.StatusUnauthorized || !strings.Contains(r.Body, "Wrong user name or password.") {
			t.Errorf("%s with a wrong password: %d at %s:\n%s", user, r.Code, r.Path, r.Body)
		}
	}
	u, _ := url.Parse(d.URL)
	if c := b.c.Jar.Cookies(u); len(c) != 0 {
		t.Errorf("cookies after failed logins: %v", c)
	}
	if r := b.get("/inbox"); r.Path != "/login" {
		t.Errorf("inbox after failed logins: %d at %s", r.Code, r.Path)
	}
}

// TestPasswordGuessing: after five wrong passwords from one address, the
// sixth try is refused with 429 and a Retry-After, even with the right
// password, without asking the mail server.
func TestPasswordGuessing(t *testing.T) {
	d := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := newBrowser(t, ctx, d.URL)
	for i := range maxLoginFailures {
		if r := b.post("/login", url.Values{"user": {"bob"}, "password": {fmt.Sprintf("guess%d", i)}}); r.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d at %s", i+1, r.Code, r.Path)
		}
	}
	r := b.post("/login", url.Values{"user": {"bob"}, "password": {"hunter2"}})
	if r.Code != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Body, "Too many failed logins") {
		t.Errorf("after %d wrong passwords: %d, Retry-After %q:\n%s", maxLoginFailures, r.Code, r.Header.Get("Retry-After"), r.Body)
	}
	if r := b.get("/inbox"); r.Path != "/login" {
		t.Errorf("inbox after a refused login: %d at %s", r.Code, r.Path)
	}
}

// TestCSRF: a POST without the session's token is refused, and does
// nothing.
func TestCSRF(t *testing.T) {
	d := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := newBrowser(t, ctx, d.URL)
	inbox := b.login("bob", "hunter2")
	token := b.csrf(inbox)
	mailTo := url.Values{"to": {"alice@hamburger.edu"}, "subject": {"forged"}, "body": {"hi"}}
	for _, tok := range []string{"", strings.ToLower(token), token + "A"} {
		form := url.Values{"csrf": {tok}}
		for k, v := range mailTo {
			form[k] = v
		}
		if r := b.post("/send", form); r.Code != http.StatusForbidden {
			t.Errorf("send with token %q: %d, want 403", tok, r.Code)
		}
		if r := b.post("/logout", url.Values{"csrf": {tok}}); r.Code != http.StatusForbidden {
			t.Errorf("logout with token %q: %d, want 403", tok, r.Code)
		}
	}
	if r := b.get("/inbox"); r.Code != http.StatusOK || r.Path != "/inbox" {
		t.Errorf("session gone after refused logouts: %d at %s", r.Code, r.Path)
	}
	// A browser that says the form comes from another site's page is
	// refused even with the token, and even at the login form.
	for path, form := range map[string]url.Values{
		"/send":  {"csrf": {token}, "to": {"alice@hamburger.edu"}, "body": {"hi"}},
		"/login": {"user": {"bob"}, "password": {"hunter2"}},
	} {
		req, err := http.NewRequestWithContext(ctx, "POST", d.URL+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", path, resp.StatusCode)
		}
	}
	files, _ := filepath.Glob(filepath.Join(d.Maildir, "alice", "*", "*"))
	if len(files) != 1 {
		t.Errorf("alice has %d messages, want only the welcome: %v", len(files), files)
	}
}

// TestNoSession: every page but the login sends a browser without a
// session to the login form; so does a session after logout.
func TestNoSession(t *testing.T) {
	d := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := newBrowser(t, ctx, d.URL)
	check := func(when string) {
		t.Helper()
		for _, path := range []string{"/", "/inbox", "/message/1", "/compose"} {
			if r := b.get(path); r.Code != http.StatusOK || r.Path != "/login" || !strings.Contains(r.Body, `<form method="post" action="/login">`) {
				t.Errorf("%s: GET %s: %d at %s", when, path, r.Code, r.Path)
			}
		}
		if r := b.post("/send", url.Values{"to": {"alice@hamburger.edu"}}); r.Path != "/login" {
			t.Errorf("%s: POST /send: %d at %s", when, r.Code, r.Path)
		}
	}
	check("before login")

	inbox := b.login("bob", "hunter2")
	u, _ := url.Parse(d.URL)
	old := b.c.Jar.Cookies(u)
	if len(old) != 1 || old[0].Name != cookieName {
		t.Fatalf("cookies %v, want one %s", old, cookieName)
	}
	if r := b.post("/logout", url.Values{"csrf": {b.csrf(inbox)}}); r.Path != "/login" {
		t.Fatalf("logout: %d at %s", r.Code, r.Path)
	}
	check("after logout")
	b.c.Jar.SetCookies(u, old) // the old ID is worth nothing now
	check("with the old cookie")
}

// TestLimits: a form larger than its limit is refused before it is read
// whole, and a message that is not there is a 404.
func TestLimits(t *testing.T) {
	d := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := newBrowser(t, ctx, d.URL)
	if r := b.post("/login", url.Values{"user": {"bob"}, "password": {strings.Repeat("x", maxLoginForm)}}); r.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("big login form: %d, want 413", r.Code)
	}
	inbox := b.login("bob", "hunter2")
	form := url.Values{"csrf": {b.csrf(inbox)}, "to": {"alice@hamburger.edu"}, "body": {strings.Repeat("x", maxComposeForm)}}
	if r := b.post("/send", form); r.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("big message: %d, want 413", r.Code)
	}
	for _, path := range []string{"/message/99", "/message/0", "/message/x"} {
		if r := b.get(path); r.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.Code)
		}
	}
	// A recipient the server refuses: the form comes back with the reason.
	form = url.Values{"csrf": {b.csrf(inbox)}, "to": {"carol@hamburger.edu"}, "subject": {"hi"}, "body": {"hi"}}
	r := b.post("/send", form)
	if r.Code != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "550 5.1.1") || !strings.Contains(r.Body, `value="carol@hamburger.edu"`) {
		t.Errorf("unknown recipient: %d\n%s", r.Code, r.Body)
	}
	// The demo has no queue for other domains: the server will not relay.
	form = url.Values{"csrf": {b.csrf(inbox)}, "to": {"alice@crepes.fr"}, "subject": {"hi"}, "body": {"hi"}}
	if r := b.post("/send", form); r.Code != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "554 5.7.1") {
		t.Errorf("recipient at another domain: %d\n%s", r.Code, r.Body)
	}
}

// TestMailServerDown: with the IMAP server broken, login fails with 502, not
// as a wrong password.
func TestMailServerDown(t *testing.T) {
	// A "server" that hangs up at once, in place of IMAP and SMTP.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hangups := make(chan struct{})
	go func() {
		defer close(hangups)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	defer func() { l.Close(); <-hangups }()
	gone := l.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, config{Addr: "127.0.0.1:0", IMAPAddr: gone, SMTPAddr: gone, Domain: "hamburger.edu", Out: io.Discard,
			Ready: func(a net.Addr) { ready <- a }})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	}()
	var a net.Addr
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	b := newBrowser(t, ctx, "http://"+a.String())
	if r := b.post("/login", url.Values{"user": {"bob"}, "password": {"hunter2"}}); r.Code != http.StatusBadGateway {
		t.Errorf("login with the mail server broken: %d, want 502\n%s", r.Code, r.Body)
	}
}
