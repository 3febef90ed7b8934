// Command authserver is an authoritative name server for the zones it is
// given, on UDP and TCP at one address:
//
//	go run ./examples/dns/authserver -addr 127.0.0.1:5300 \
//	    -zone networkutopia.com=dns/testdata/networkutopia.com.zone -trace
//	dig @127.0.0.1 -p 5300 www.networkutopia.com A
//
// Each -zone is ORIGIN=FILE, or just FILE when the file starts with a
// $ORIGIN line or is named after its zone (networkutopia.com.zone).
// -trace prints each query (C:) and answer (S:).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"appnet.dev/dns"
)

type zoneFlags []string

func (z *zoneFlags) String() string     { return strings.Join(*z, ",") }
func (z *zoneFlags) Set(v string) error { *z = append(*z, v); return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:5300", "UDP and TCP `address` to answer on")
	var zones zoneFlags
	flag.Var(&zones, "zone", "a zone to serve, `ORIGIN=FILE` or FILE (repeatable)")
	trace := flag.Bool("trace", false, "print each query and answer")
	udpSize := flag.Int("udpsize", 0, "largest UDP reply to EDNS clients (0: 1232)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to `file` until stopped")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "authserver:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if len(zones) == 0 {
		fmt.Fprintln(os.Stderr, "authserver: give at least one -zone")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var tw io.Writer
	if *trace {
		tw = os.Stdout
	}
	if err := run(ctx, os.Stderr, *addr, zones, tw, *udpSize, nil); err != nil {
		fmt.Fprintln(os.Stderr, "authserver:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// run serves the zones on addr until ctx is done. It logs to log, traces
// to trace if not nil, and sends the address it listens on to ready.
func run(ctx context.Context, log io.Writer, addr string, specs []string, trace io.Writer, udpSize int, ready chan<- string) error {
	var zs []*dns.Zone
	for _, spec := range specs {
		z, err := load(spec)
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "authserver: zone %s: %d records\n", z.Origin, len(z.Records()))
		zs = append(zs, z)
	}
	h, err := dns.NewZones(zs...)
	if err != nil {
		return err
	}
	s := &dns.Server{Handler: h, UDPSize: udpSize, Trace: trace, ErrorLog: stdlog.New(log, "authserver: ", stdlog.LstdFlags)}
	pc, ln, err := dns.Listen(addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "authserver: answering on %s (UDP and TCP)\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- s.ServeBoth(pc, ln) }()
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Shutdown(sctx)
	if err := <-done; !errors.Is(err, dns.ErrServerClosed) {
		return err
	}
	return nil
}

// load reads one zone; its origin comes from ORIGIN=, else the file's
// first $ORIGIN line, else the file's name.
func load(spec string) (*dns.Zone, error) {
	origin, file, ok := strings.Cut(spec, "=")
	if !ok {
		file, origin = spec, ""
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if origin == "" {
		origin = originOf(f, file)
		f.Seek(0, 0)
	}
	o, err := dns.ParseName(origin)
	if err != nil {
		return nil, fmt.Errorf("zone %s: origin %q: %v", file, origin, err)
	}
	dir := filepath.Dir(file)
	return dns.ReadZone(dns.ZoneFile{Name: filepath.Base(file), Origin: o, Include: os.DirFS(dir)}, f)
}

func originOf(f *os.File, file string) string {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && strings.EqualFold(fields[0], "$ORIGIN") {
			return fields[1]
		}
	}
	return strings.TrimSuffix(filepath.Base(file), ".zone")
}
