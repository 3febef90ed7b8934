package sockettest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Need returns the path of the program bin, or skips the test with
// "bin not installed (Debian package debianPkg)".
func Need(t testing.TB, bin, debianPkg string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s)", bin, debianPkg)
	}
	return path
}

// debianPython is where Debian installs its interpreter; its modules
// (dnspython, libtorrent) are installed for it alone.
const debianPython = "/usr/bin/python3"

// Python returns a Python 3 interpreter for programs that need only the
// standard library: Debian's /usr/bin/python3 when it is there, else the
// python3 on PATH (macOS, pyenv). It skips the test when there is none.
func Python(t testing.TB) string {
	t.Helper()
	for _, p := range []string{debianPython, "python3"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("python3 not installed (Debian package python3)")
	return ""
}

// PythonModule returns a Python 3 interpreter that can import module
// (such as "dns.message" or "libtorrent"), or skips the test naming
// debianPkg, the Debian package that provides the module.
func PythonModule(t testing.TB, module, debianPkg string) string {
	t.Helper()
	py := Python(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, py, "-c", "import "+module).Run(); err != nil {
		t.Skipf("python module %s not installed for %s (Debian package %s)", module, py, debianPkg)
	}
	return py
}

// FreePort returns a port of 127.0.0.1 on which nothing listens now,
// for TCP and UDP both, for a peer that takes its port from a flag or a
// configuration file. (Another program may take it before the peer
// does; tests that can listen themselves should listen on 127.0.0.1:0.)
func FreePort(t testing.TB) int {
	t.Helper()
	var last error
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("sockettest: free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		ln.Close()
		if err != nil {
			last = err
			continue
		}
		pc.Close()
		return port
	}
	t.Fatalf("sockettest: no port free for both TCP and UDP: %v", last)
	return 0
}

// WaitDial dials addr until a connection succeeds, ctx is done, or 200
// attempts have failed, backing off from 5 ms to 100 ms between them. It
// returns nil once something accepts on addr, for a peer that was just
// started. For "udp" a dial always succeeds, so WaitDial only waits for
// stream networks.
func WaitDial(ctx context.Context, network, addr string) error {
	return waitDial(ctx, network, addr, nil)
}

// waitDial is WaitDial that also gives up when exited is closed (a nil
// channel never is).
func waitDial(ctx context.Context, network, addr string, exited <-chan struct{}) error {
	var d net.Dialer
	wait := 5 * time.Millisecond
	var err error
	for range 200 {
		var c net.Conn
		c, err = d.DialContext(ctx, network, addr)
		if err == nil {
			c.Close()
			return nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("sockettest: waiting for %s %s: %w (last: %v)", network, addr, ctx.Err(), err)
		case <-exited:
			timer.Stop()
			return fmt.Errorf("sockettest: waiting for %s %s: %w (last: %v)", network, addr, errExited, err)
		case <-timer.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
	return fmt.Errorf("sockettest: waiting for %s %s: %w", network, addr, err)
}

// A Process is a peer started by [StartProcess].
type Process struct {
	Cmd    *exec.Cmd
	output SyncBuffer
	exited chan struct{}
	err    error // of Wait, set before exited is closed
}

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is the error of the process's Wait, valid once Exited is closed.
func (p *Process) Err() error {
	<-p.exited
	return p.err
}

// Wait waits for the process to exit and returns the error of its Wait,
// or ctx's error if ctx is done first; the process then keeps running
// until the test ends (or the context given to [StartProcess] is done).
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.exited:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("sockettest: waiting for %s to exit: %w", p.Cmd.Path, ctx.Err())
	}
}

// errExited says that a process ended while a test waited for it to
// listen.
var errExited = errors.New("the process exited")

// WaitDial is [WaitDial] for the peer this process runs: it waits until
// something accepts on addr, but gives up as soon as the process exits
// (a peer that fails at start), with the process's error, instead of
// waiting until ctx is done.
func (p *Process) WaitDial(ctx context.Context, network, addr string) error {
	err := waitDial(ctx, network, addr, p.exited)
	if errors.Is(err, errExited) {
		return fmt.Errorf("%w: %s: %v", err, strings.Join(p.Cmd.Args, " "), p.err)
	}
	return err
}

// Output is what the process has written so far on stdout and stderr
// (but not what it wrote to a file or pipe the caller set as cmd.Stdout
// or cmd.Stderr).
func (p *Process) Output() string { return p.output.String() }

// StartProcess starts cmd and returns it as a Process. Its output goes
// to the Process (and to cmd.Stdout/Stderr too when they are writers
// other than files); it is
// printed to the test log if the test fails. When ctx is done or the test
// ends, the process is killed by its PID and waited for.
func StartProcess(t testing.TB, ctx context.Context, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout = capture(cmd.Stdout, &p.output)
	cmd.Stderr = capture(cmd.Stderr, &p.output)
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 5 * time.Second // a child that keeps the pipes open
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("sockettest: start %s: %v", cmd.Path, err)
	}
	pid := cmd.Process.Pid
	stop := make(chan struct{})
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Kill()
		case <-stop:
		case <-p.exited:
		}
	}()
	t.Cleanup(func() {
		close(stop)
		if proc, err := os.FindProcess(pid); err == nil {
			select {
			case <-p.exited:
			default:
				proc.Kill()
			}
		}
		<-p.exited
		if t.Failed() {
			t.Logf("%s (pid %d): %v; its output:\n%s", strings.Join(cmd.Args, " "), pid, p.err, p.Output())
		}
	})
	return p
}

// capture sends a process's output to buf as well as to w, unless w is
// a file (such as the pipe of cmd.StdoutPipe), which the process writes
// to directly.
func capture(w io.Writer, buf *SyncBuffer) io.Writer {
	switch w.(type) {
	case nil:
		return buf
	case *os.File:
		return w
	}
	return io.MultiWriter(w, buf)
}

// TestCert makes a self-signed certificate for hosts (names and IP
// addresses; "localhost", 127.0.0.1 and ::1 when none are given), valid
// for an hour either side of now. It returns a server configuration that
// presents it and a client configuration that trusts it alone, with
// ServerName set to the first host.
func TestCert(t testing.TB, hosts ...string) (server, client *tls.Config) {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: hosts[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}}
	client = &tls.Config{RootCAs: pool, ServerName: hosts[0]}
	return server, client
}

// A SyncBuffer is a bytes.Buffer that several goroutines may write and
// read at once: the Trace of a server and its client, or a peer's output.
// The zero value is an empty buffer ready to use.
type SyncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed at the next Write; nil until WaitFor needs it
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return b.buf.Write(p)
}

// String returns a copy of what has been written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Reset empties the buffer.
func (b *SyncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// WaitFor waits until match is true of what has been written so far,
// asking it again after each Write, and returns that text; or ctx's
// error if ctx is done first. It is how a test waits for the line a
// peer prints when it is ready, without polling.
func (b *SyncBuffer) WaitFor(ctx context.Context, match func(text string) bool) (string, error) {
	for {
		b.mu.Lock()
		text := b.buf.String()
		if b.written == nil {
			b.written = make(chan struct{})
		}
		written := b.written // closed by any Write after text
		b.mu.Unlock()
		if match(text) {
			return text, nil
		}
		select {
		case <-written:
		case <-ctx.Done():
			return text, fmt.Errorf("sockettest: waiting for output: %w", ctx.Err())
		}
	}
}
