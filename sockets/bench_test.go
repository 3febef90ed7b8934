package sockets

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// bulkChunk is the write size of the bulk benchmarks: iperf3's default
// for TCP, so both sides move data in the same pieces.
const bulkChunk = 128 << 10

// BenchmarkTCPBulk measures one-way TCP throughput over loopback three
// ways in one run, so the figures compare on this machine today:
//
//   - net: a net.Conn, as the rest of appnet uses;
//   - berkeley: the Send/Recv mirror of the C calls;
//   - iperf3: the reference tool, on the same number of bytes.
//
// Read MB/s off each line (go test -bench TCPBulk -run '^$' ./sockets).
func BenchmarkTCPBulk(b *testing.B) {
	b.Run("net", func(b *testing.B) {
		client, server := tcpPair(b)
		defer client.Close()
		defer server.Close()
		b.SetBytes(bulkChunk)
		done := make(chan int64, 1)
		go func() {
			n, _ := io.Copy(io.Discard, server)
			done <- n
		}()
		buf := make([]byte, bulkChunk)
		b.ResetTimer()
		for range b.N {
			if _, err := client.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		client.(*net.TCPConn).CloseWrite()
		if n := <-done; n != int64(b.N)*bulkChunk {
			b.Fatalf("received %d bytes, sent %d", n, int64(b.N)*bulkChunk)
		}
	})
	b.Run("berkeley", benchBerkeleyBulk)
	b.Run("iperf3", func(b *testing.B) {
		bin := sockettest.Need(b, "iperf3", "iperf3")
		b.SetBytes(bulkChunk)
		bps := runIperf3(b, bin, int64(b.N)*bulkChunk)
		b.ReportMetric(bps/8/1e6, "iperf3-MB/s")
	})
}

// runIperf3 runs an iperf3 server and client on loopback for n bytes and
// returns the bits per second the receiver saw.
func runIperf3(b *testing.B, bin string, n int64) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A free port: iperf3 has no "pick one" mode.
	port := strconv.Itoa(sockettest.FreePort(b))

	server := exec.CommandContext(ctx, bin, "-s", "-1", "--forceflush", "-B", "127.0.0.1", "-p", port)
	out, _ := server.StdoutPipe()
	sockettest.StartProcess(b, ctx, server)
	// Wait for "Server listening on PORT" before starting the client.
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.Contains(sc.Text(), "listening") {
	}
	go io.Copy(io.Discard, out)

	b.ResetTimer()
	res, err := exec.CommandContext(ctx, bin, "-c", "127.0.0.1", "-p", port,
		"-n", strconv.FormatInt(n, 10), "-l", strconv.Itoa(bulkChunk), "-J").Output()
	b.StopTimer()
	if err != nil {
		b.Fatalf("iperf3 client: %v", err)
	}
	var report struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(res, &report); err != nil {
		b.Fatalf("iperf3 report: %v", err)
	}
	return report.End.SumReceived.BitsPerSecond
}

// uppercaser is what the UDP and TCP clients have in common.
type uppercaser interface {
	Uppercase(ctx context.Context, sentence string) (string, error)
	Close() error
}

// BenchmarkUppercase measures request/reply round trips per second
// between the uppercase clients and servers over loopback: a datagram
// each way for UDP, a line each way on one connection for TCP.
func BenchmarkUppercase(b *testing.B) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		dial func(b *testing.B) (uppercaser, error)
	}{
		{"udp", func(b *testing.B) (uppercaser, error) {
			return DialUDP(ctx, startUDP(b, &UDPServer{}).String())
		}},
		{"tcp", func(b *testing.B) (uppercaser, error) {
			return DialTCP(ctx, startTCP(b, &TCPServer{}).String())
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			c, err := tt.dial(b)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := c.Uppercase(ctx, "hello"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
		})
	}
}

func ExampleTCPClient() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	s := &TCPServer{}
	go s.Serve(ln)
	defer s.Close()

	ctx := context.Background()
	c, _ := DialTCP(ctx, ln.Addr().String())
	defer c.Close()
	reply, _ := c.Uppercase(ctx, "hello from the client")
	fmt.Println(reply)
	// Output: HELLO FROM THE CLIENT
}
