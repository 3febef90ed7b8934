package sockettest_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

func TestNeedFindsAProgram(t *testing.T) {
	sh := sockettest.Need(t, "sh", "dash")
	if !strings.HasSuffix(sh, "/sh") {
		t.Errorf("Need(sh) = %q", sh)
	}
}

func TestNeedSkipsNamingThePackage(t *testing.T) {
	var msg string
	ran := runTB(func(tb *fakeTB) {
		sockettest.Need(tb, "no-such-program-appnet", "appnet-peer")
	}, &msg)
	if ran || msg != "no-such-program-appnet not installed (Debian package appnet-peer)" {
		t.Errorf("ran past Skip = %v, message %q", ran, msg)
	}
}

func TestPythonRunsAProgram(t *testing.T) {
	py := sockettest.Python(t)
	out, err := exec.Command(py, "-c", "print(6*7)").Output()
	if err != nil || strings.TrimSpace(string(out)) != "42" {
		t.Errorf("%s: %q, %v", py, out, err)
	}
}

func TestPythonModule(t *testing.T) {
	py := sockettest.PythonModule(t, "json", "python3")
	if py == "" {
		t.Fatal("no interpreter")
	}
	var msg string
	ran := runTB(func(tb *fakeTB) {
		sockettest.PythonModule(tb, "no_such_module_appnet", "python3-appnet")
	}, &msg)
	if ran || !strings.Contains(msg, "(Debian package python3-appnet)") {
		t.Errorf("ran past Skip = %v, message %q", ran, msg)
	}
}

func TestFreePortIsFreeForTCPAndUDP(t *testing.T) {
	port := sockettest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	pc.Close()
}

func TestWaitDial(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := sockettest.WaitDial(ctx, "tcp", ln.Addr().String()); err != nil {
		t.Errorf("listening: %v", err)
	}
	port := sockettest.FreePort(t)
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	err = sockettest.WaitDial(short, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err == nil {
		t.Errorf("nothing listening: WaitDial = nil")
	}
}

func TestStartProcessKillsAtCleanup(t *testing.T) {
	sh := sockettest.Need(t, "sh", "dash")
	var p *sockettest.Process
	t.Run("peer", func(t *testing.T) {
		p = sockettest.StartProcess(t, context.Background(), exec.Command(sh, "-c", "exec sleep 600"))
		select {
		case <-p.Exited():
			t.Fatal("exited early")
		default:
		}
	})
	select {
	case <-p.Exited():
	default:
		t.Fatal("still running after its test ended")
	}
	if p.Err() == nil {
		t.Error("killed process: Wait = nil")
	}
}

// What a process prints is kept: all of it once it has exited.
func TestStartProcessOutput(t *testing.T) {
	sh := sockettest.Need(t, "sh", "dash")
	p := sockettest.StartProcess(t, context.Background(), exec.Command(sh, "-c", "echo ready; echo oops >&2"))
	<-p.Exited()
	if err := p.Err(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if got := p.Output(); got != "ready\noops\n" && got != "oops\nready\n" {
		t.Errorf("output %q", got)
	}
}

func TestStartProcessStopsWithContext(t *testing.T) {
	sh := sockettest.Need(t, "sh", "dash")
	ctx, cancel := context.WithCancel(context.Background())
	p := sockettest.StartProcess(t, ctx, exec.Command(sh, "-c", "exec sleep 600"))
	cancel()
	<-p.Exited()
	if p.Err() == nil {
		t.Error("killed process: Wait = nil")
	}
}

func TestTestCert(t *testing.T) {
	server, client := sockettest.TestCert(t, "hamburger.edu", "127.0.0.1")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 2 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "220 hamburger.edu\r\n")
			c.Close()
		}
	})
	defer wg.Wait()
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "220 hamburger.edu\r\n" {
		t.Errorf("read %q, %v", got, err)
	}

	// A client that expects another name refuses it.
	other := client.Clone()
	other.ServerName = "crepes.fr"
	if c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), other); err == nil {
		c.Close()
		t.Error("certificate accepted for crepes.fr")
	}
}

func TestSyncBuffer(t *testing.T) {
	var b sockettest.SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("C: HELO crepes.fr\n"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := strings.Count(b.String(), "C: HELO crepes.fr\n"); got != 800 {
		t.Errorf("%d lines, want 800", got)
	}
	b.Reset()
	if b.String() != "" {
		t.Errorf("after Reset: %q", b.String())
	}
}

// fakeTB records a Skip instead of ending the test, so the tests above
// can see what Need says.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}
func (f *fakeTB) Skip(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(f)
}

// runTB runs fn with a fakeTB and reports whether fn returned normally.
func runTB(fn func(*fakeTB), msg *string) (ran bool) {
	f := &fakeTB{}
	defer func() {
		if r := recover(); r != nil && r != f {
			panic(r)
		}
		*msg = f.msg
	}()
	fn(f)
	return true
}

func TestProcessWait(t *testing.T) {
	sh := sockettest.Need(t, "sh", "dash")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := sockettest.StartProcess(t, context.Background(), exec.Command(sh, "-c", "exit 3"))
	var exit *exec.ExitError
	if err := p.Wait(ctx); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("Wait = %v, want exit status 3", err)
	}

	long := sockettest.StartProcess(t, context.Background(), exec.Command(sh, "-c", "exec sleep 600"))
	short, cancel2 := context.WithCancel(ctx)
	cancel2()
	if err := long.Wait(short); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context = %v", err)
	}
	select {
	case <-long.Exited():
		t.Error("Wait's context ended the process")
	default:
	}
}

func TestProcessWaitDial(t *testing.T) {
	sh := sockettest.Need(t, "sh", "dash")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	running := sockettest.StartProcess(t, context.Background(), exec.Command(sh, "-c", "exec sleep 600"))
	if err := running.WaitDial(ctx, "tcp", ln.Addr().String()); err != nil {
		t.Errorf("something listens: %v", err)
	}

	// A peer that fails at start: WaitDial says so, long before ctx ends.
	failed := sockettest.StartProcess(t, context.Background(), exec.Command(sh, "-c", "echo no config >&2; exit 2"))
	addr := fmt.Sprintf("127.0.0.1:%d", sockettest.FreePort(t))
	err = failed.WaitDial(ctx, "tcp", addr)
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "exit status 2") {
		t.Errorf("peer that exited: %v", err)
	}
	if ctx.Err() != nil {
		t.Error("WaitDial waited until its context ended")
	}
}

func TestSyncBufferWaitFor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b sockettest.SyncBuffer
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		for i := range 100 {
			fmt.Fprintf(&b, "starting %d\n", i)
		}
		b.Write([]byte("ready on port 6881\n"))
	})
	ready := func(s string) bool { return strings.Contains(s, "ready on port") }
	text, err := b.WaitFor(ctx, ready)
	if err != nil || !strings.HasSuffix(text, "ready on port 6881\n") {
		t.Errorf("WaitFor = %q, %v", text, err)
	}

	done, cancel2 := context.WithCancel(ctx)
	cancel2()
	if _, err := b.WaitFor(done, func(s string) bool { return strings.Contains(s, "never") }); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor with a cancelled context = %v", err)
	}
}

func TestCheckInterleaved(t *testing.T) {
	alone := map[string]string{
		"alice": "C: HELO alice\nS: 250 hi alice\nC: QUIT alice\n",
		"bob":   "C: HELO bob\nS: 250 hi bob\nC: QUIT bob\n",
	}
	for _, tt := range []struct {
		name, shared string
		ok           bool
	}{
		{"interleaved", "C: HELO alice\nC: HELO bob\nS: 250 hi bob\nS: 250 hi alice\nC: QUIT alice\nC: QUIT bob\n", true},
		{"a line lost", "C: HELO alice\nC: HELO bob\nS: 250 hi bob\nC: QUIT alice\nC: QUIT bob\n", false},
		{"lines torn", "C: HELO aliC: HELO bob\nce\nS: 250 hi bob\nS: 250 hi alice\nC: QUIT alice\nC: QUIT bob\n", false},
		{"a session's lines out of order", "S: 250 hi alice\nC: HELO alice\nC: HELO bob\nS: 250 hi bob\nC: QUIT alice\nC: QUIT bob\n", false},
	} {
		if err := sockettest.CheckInterleaved(tt.shared, alone, 3); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if err := sockettest.CheckInterleaved("C: HELO alice\nC: HELO bob\n", map[string]string{"alice": "C: HELO alice\n", "bob": "C: HELO bob\n"}, 2); err == nil {
		t.Error("sessions shorter than minLines accepted")
	}
}
