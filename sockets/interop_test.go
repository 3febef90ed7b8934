package sockets

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"appnet.dev/sockets/sockettest"
)

// The real peers of this chapter: the slides' own Python programs (in
// testdata, ported to Python 3), socat and netcat. Each test skips only
// when its program is not installed.

// run runs a command with stdin and returns its output.
func run(t *testing.T, ctx context.Context, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	host, port, ok := strings.Cut(addr, ":")
	if !ok {
		t.Fatalf("bad address %q", addr)
	}
	return host, port
}

func TestInteropSlidesUDPClient(t *testing.T) {
	py := sockettest.Python(t)
	ctx := testContext(t)
	host, port := hostPort(t, startUDP(t, &UDPServer{}).String())
	out := run(t, ctx, "hello from python\n", py, "testdata/UDPClient.py", host, port)
	if !strings.Contains(out, "HELLO FROM PYTHON") {
		t.Errorf("UDPClient.py printed %q", out)
	}
}

func TestInteropSlidesTCPClient(t *testing.T) {
	py := sockettest.Python(t)
	ctx := testContext(t)
	host, port := hostPort(t, startTCP(t, &TCPServer{}).String())
	// The slide's client sends the sentence without a newline and reads
	// one recv(1024): the server answers whatever arrives.
	out := run(t, ctx, "hello from python\n", py, "testdata/TCPClient.py", host, port)
	if !strings.Contains(out, "From Server: HELLO FROM PYTHON") {
		t.Errorf("TCPClient.py printed %q", out)
	}
}

// startPython runs one of the slides' Python servers and returns the port
// it announces on its first line.
func startPython(t *testing.T, ctx context.Context, script string, count int) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, sockettest.Python(t), script, fmt.Sprint(count))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sockettest.StartProcess(t, ctx, cmd)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		t.Fatalf("%s said %q", script, line)
	}
	return fields[len(fields)-1]
}

func TestInteropSlidesUDPServer(t *testing.T) {
	ctx := testContext(t)
	port := startPython(t, ctx, "testdata/UDPServer.py", 2)
	c, err := DialUDP(ctx, "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range []string{"first datagram", "second datagram"} {
		got, err := c.Uppercase(ctx, s)
		if err != nil || got != strings.ToUpper(s) {
			t.Errorf("Uppercase(%q) = %q, %v", s, got, err)
		}
	}
}

func TestInteropSlidesTCPServer(t *testing.T) {
	ctx := testContext(t)
	port := startPython(t, ctx, "testdata/TCPServer.py", 1)
	c, err := DialTCP(ctx, "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Uppercase(ctx, "one recv, one send")
	if err != nil || got != "ONE RECV, ONE SEND" {
		t.Errorf("Uppercase = %q, %v", got, err)
	}
}

func TestInteropSocat(t *testing.T) {
	socat := sockettest.Need(t, "socat", "socat")
	ctx := testContext(t)
	t.Run("tcp", func(t *testing.T) {
		addr := startTCP(t, &TCPServer{})
		out := run(t, ctx, "line one\nline two\n", socat, "-t5", "-", "TCP:"+addr.String())
		if out != "LINE ONE\nLINE TWO\n" {
			t.Errorf("socat got %q", out)
		}
	})
	t.Run("udp", func(t *testing.T) {
		addr := startUDP(t, &UDPServer{})
		// Keep socat's input open and read its reply as it comes, rather
		// than wait out its timeout after end of input.
		cmd := exec.CommandContext(ctx, socat, "-", "UDP:"+addr.String())
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		sockettest.StartProcess(t, ctx, cmd)
		out := bufio.NewReader(stdout)
		for _, line := range []string{"datagram one", "datagram two"} {
			fmt.Fprintln(stdin, line)
			got, err := out.ReadString('\n')
			if err != nil || got != strings.ToUpper(line)+"\n" {
				t.Errorf("socat got %q, %v", got, err)
			}
		}
	})
}

// netcat, the "try it with telnet" client: a raw TCP connection carrying
// whatever is typed.
func TestInteropNetcat(t *testing.T) {
	nc := sockettest.Need(t, "nc", "netcat-openbsd")
	ctx := testContext(t)
	host, port := hostPort(t, startTCP(t, &TCPServer{}).String())
	out := run(t, ctx, "typed by hand\n", nc, "-N", "-w", "5", host, port)
	if out != "TYPED BY HAND\n" {
		t.Errorf("nc got %q", out)
	}
}
