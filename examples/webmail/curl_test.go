package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// TestCurl is the interop test: curl plays the browser, with a cookie jar
// file and forms posted with -d, as a user might script web mail.
func TestCurl(t *testing.T) {
	curl := sockettest.Need(t, "curl", "curl")
	d := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	jar := filepath.Join(dir, "cookies.txt")
	headers := filepath.Join(dir, "headers.txt")

	// do runs curl with the jar, following redirects, and returns the
	// final status, URL path and body.
	do := func(args ...string) (int, string, string) {
		t.Helper()
		args = append([]string{"-sS", "-L", "--max-time", "20", "-b", jar, "-c", jar, "-D", headers,
			"-w", "\n%{http_code} %{url_effective}"}, args...)
		out, err := exec.CommandContext(ctx, curl, args...).Output()
		if err != nil {
			t.Fatalf("curl %s: %v", strings.Join(args, " "), err)
		}
		s := string(out)
		i := strings.LastIndexByte(s, '\n')
		status, effective, _ := strings.Cut(s[i+1:], " ")
		code, _ := strconv.Atoi(status)
		return code, strings.TrimPrefix(effective, d.URL), s[:i]
	}

	code, path, body := do("-d", "user=bob", "-d", "password=hunter2", d.URL+"/login")
	if code != 200 || path != "/inbox" || !strings.Contains(body, "Welcome to web mail – über HTTP") {
		t.Fatalf("login: %d at %s:\n%s", code, path, body)
	}
	h, err := os.ReadFile(headers)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?i)set-cookie: ` + cookieName + `=[A-Z2-7]{26,}; Path=/; HttpOnly; SameSite=Strict`).Match(h) {
		t.Errorf("no HttpOnly, SameSite=Strict session cookie in:\n%s", h)
	}
	j, err := os.ReadFile(jar)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(j), "#HttpOnly_127.0.0.1") {
		t.Errorf("curl's jar has no HttpOnly cookie:\n%s", j)
	}
	token := csrfField.FindStringSubmatch(body)
	if token == nil {
		t.Fatalf("no CSRF token on the inbox page:\n%s", body)
	}

	code, path, body = do("--data-urlencode", "csrf="+token[1], "--data-urlencode", "to=alice@hamburger.edu",
		"--data-urlencode", "subject=From curl & co", "--data-urlencode", "body=Sent by curl.", d.URL+"/send")
	if code != 200 || path != "/inbox?sent=1" || !strings.Contains(body, "Message sent.") {
		t.Fatalf("send: %d at %s:\n%s", code, path, body)
	}
	if code, _, _ = do("-d", "to=alice@hamburger.edu", "-d", "body=forged", d.URL+"/send"); code != 403 {
		t.Errorf("send without the CSRF token: %d, want 403", code)
	}
	code, path, _ = do("-d", "csrf="+token[1], d.URL+"/logout")
	if code != 200 || path != "/login" {
		t.Errorf("logout: %d at %s", code, path)
	}
	if code, path, _ = do(d.URL + "/inbox"); path != "/login" {
		t.Errorf("inbox after logout: %d at %s", code, path)
	}

	// Alice, in a jar of her own, finds the message.
	jar = filepath.Join(dir, "alice.txt")
	code, path, body = do("-d", "user=alice", "-d", "password=ketchup", d.URL+"/login")
	if code != 200 || path != "/inbox" || !strings.Contains(body, ">From curl &amp; co</a>") {
		t.Errorf("alice's inbox: %d at %s:\n%s", code, path, body)
	}
}
