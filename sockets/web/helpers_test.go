package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

func TestMain(m *testing.M) { os.Exit(sockettest.VerifyNoLeaks(m)) }

// rfcDate is the Date every test server sends: RFC 9110's example.
var rfcDate = time.Date(1994, time.November, 6, 8, 49, 37, 0, time.UTC)

// start serves s on a loopback port until the test ends, and returns the
// address. Cleanup shuts the server down and checks that Serve returned
// ErrServerClosed.
func start(t testing.TB, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return l.Addr().String()
}

// serveNetHTTP serves h with net/http's server until the benchmark ends.
func serveNetHTTP(tb testing.TB, h http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() { s.Serve(l); close(done) }()
	tb.Cleanup(func() { s.Close(); <-done })
	return l.Addr().String()
}

// testLog is an ErrorLog that writes to the test's log.
func testLog(t testing.TB) *log.Logger {
	return log.New(tlogWriter{t}, "", 0)
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// testFile is a file of testdata the handlers serve.
const testFile = "testdata/www/hello.txt"

// testHandler is the handler of the transcripts and the differential
// test: each path shows one thing a handler can do.
func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello\n")
	})
	// /info describes the request as the handler sees it.
	mux.HandleFunc("/info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "Method %s\nRequestURI %s\nURL %s\nPath %q\nRawQuery %q\nHost %s\nProto %s %d.%d\nContentLength %d\nTransferEncoding %q\nClose %v\n",
			r.Method, r.RequestURI, r.URL, r.URL.Path, r.URL.RawQuery, r.Host, r.Proto, r.ProtoMajor, r.ProtoMinor, r.ContentLength, r.TransferEncoding, r.Close)
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range r.Header {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(w, "%s %q\n", k, r.Header[k])
		}
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "Body %q %v\n", b, err)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	// /stream copies the body to the response as it comes (full duplex).
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		io.Copy(w, r.Body)
	})
	mux.HandleFunc("/ignore-body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	})
	// /big?n=5000 writes n bytes in writes of 1000: more than the server
	// holds back, so the body goes out chunked (HTTP/1.1) or delimited by
	// the end of the connection (HTTP/1.0).
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/plain")
		line := []byte(strings.Repeat("x", 999) + "\n")
		for ; n > 0; n -= len(line) {
			w.Write(line[:min(n, len(line))])
		}
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		io.WriteString(w, "second\n")
	})
	mux.HandleFunc("/length", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "6")
		io.WriteString(w, "hel")
		w.(http.Flusher).Flush()
		io.WriteString(w, "lo\n")
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("/no-content", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		if _, err := io.WriteString(w, "ignored"); err != http.ErrBodyNotAllowed {
			panic("Write on a 204: " + fmt.Sprint(err))
		}
	})
	mux.HandleFunc("/not-modified", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotModified)
	})
	mux.HandleFunc("/early-hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "page\n")
	})
	mux.HandleFunc("/twice", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "created\n")
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye\n")
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Lost", "yes")
		io.WriteString(w, "lost")
		panic("the handler fails")
	})
	mux.HandleFunc("/panic-late", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "sent\n")
		w.(http.Flusher).Flush()
		panic("the handler fails after sending")
	})
	mux.HandleFunc("/split", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Value", "a\r\nSet-Cookie: evil=1")
		w.Header()["Bad Name"] = []string{"dropped"}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "safe\n")
	})
	mux.HandleFunc("/sniff", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!DOCTYPE html><title>x</title>\n")
	})
	mux.HandleFunc("/no-date", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		w.Header()["Content-Type"] = nil
		io.WriteString(w, "<p>no date, no type</p>\n")
	})
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(testFile)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		io.Copy(w, f)
	})
	mux.Handle("/www/", http.StripPrefix("/www/", http.FileServer(http.Dir(filepath.Dir(testFile)))))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.RequestURI == "*" { // ServeMux refuses it
			w.Header().Set("Allow", "GET, HEAD, POST, OPTIONS")
			return
		}
		mux.ServeHTTP(w, r)
	})
}
