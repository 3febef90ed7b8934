package web_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"appnet.dev/sockets/sockettest"
	"appnet.dev/sockets/web"
)

// The assignment's Web server: any net/http handler (here a file server
// would do as well) behind web.Server, and net/http's client fetching from
// it. Trace shows the request and status lines as the slides do.
func Example() {
	var trace sockettest.SyncBuffer
	s := &web.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/index.html" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<h1>Hello</h1>\n")
		}),
		Trace: &trace,
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go s.Serve(l)

	client := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/index.html", "/missing.html"} {
		resp, err := client.Get("http://" + l.Addr().String() + path)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %s: %q\n", resp.Status, resp.Header.Get("Content-Length"), body)
	}
	client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Shutdown(ctx)
	fmt.Print(trace.String())
	// Output:
	// 200 OK 15: "<h1>Hello</h1>\n"
	// 404 Not Found 19: "404 page not found\n"
	// C: GET /index.html HTTP/1.1
	// S: HTTP/1.1 200 OK
	// C: GET /missing.html HTTP/1.1
	// S: HTTP/1.1 404 Not Found
}
