// Command origin is a content provider's own web server, the one copy every
// CDN copy comes from: it serves a directory (or, without -dir, a short
// DASH trailer made on the spot) with ETag, Last-Modified and Cache-Control.
//
//	go run ./examples/cdn/origin -addr 127.0.0.1:8000 -cache-control "public, max-age=60"
//	curl -i http://127.0.0.1:8000/6Y7B23V/manifest.mpd
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"os/signal"
	"time"

	"appnet.dev/cdn"
	"appnet.dev/dash"
	"appnet.dev/sockets/web"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "listen `address`")
	dir := flag.String("dir", "", "serve this `directory` (default: a DASH trailer under /6Y7B23V/)")
	cc := flag.String("cache-control", cdn.DefaultOriginCacheControl, "Cache-Control of every answer")
	trace := flag.Bool("trace", false, "print one line per request")
	flag.Parse()

	var content fs.FS
	if *dir != "" {
		content = os.DirFS(*dir)
	} else {
		files, err := trailer()
		if err != nil {
			log.Fatal(err)
		}
		content = files
	}
	o := &cdn.Origin{Content: content, CacheControl: func(string) string { return *cc }}
	if *trace {
		o.Trace = os.Stdout
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("origin: serving on http://%s/\n", ln.Addr())
	srv := &web.Server{Handler: o}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, web.ErrServerClosed) {
		log.Fatal(err)
	}
}

// trailer encodes netcinema.com's demo video under 6Y7B23V/, with a page
// linking to it.
func trailer() (dash.MemFS, error) {
	enc, err := dash.DemoContent(10 * time.Second).Encode()
	if err != nil {
		return nil, err
	}
	files := dash.MemFS{"index.html": []byte(`<html><body><a href="/6Y7B23V/manifest.mpd">MadMen trailer</a></body></html>`)}
	for name, b := range enc.Files {
		files["6Y7B23V/"+name] = b
	}
	return files, nil
}
