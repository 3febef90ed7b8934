package dash

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSimulator runs every rule over the synthetic trace set; the
// traces/s metric is full 48-chunk sessions per second.
func BenchmarkSimulator(b *testing.B) {
	traces := SyntheticTraces()
	for _, r := range Rules() {
		b.Run(r.Name(), func(b *testing.B) {
			sim := Simulator{}
			n := 0
			for b.Loop() {
				sim.Run(traces[n%len(traces)], r)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "traces/s")
		})
	}
}

func BenchmarkOptimum(b *testing.B) {
	traces := SyntheticTraces()
	n := 0
	for b.Loop() {
		Simulator{}.Optimum(traces[n%len(traces)], QoELin())
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "traces/s")
}

// BenchmarkQoETable reports each rule's mean QoE_lin over the synthetic
// trace set as a fraction of the offline optimum, with and without
// abandonment: the figures the issue asks for.
func BenchmarkQoETable(b *testing.B) {
	traces := SyntheticTraces()
	for _, abandon := range []bool{false, true} {
		b.Run(fmt.Sprintf("abandon=%v", abandon), func(b *testing.B) {
			var c *Comparison
			for b.Loop() {
				c = Compare(Simulator{Abandon: abandon}, traces, Rules())
			}
			for i, r := range c.Rules {
				b.ReportMetric(c.Fraction(i), r+"/opt")
			}
		})
	}
}

// TestBestRuleBeatsBaselines: on one trace of each kind of the synthetic
// set the best rule is one of the MPCs, above both baselines (throughput
// and BBA). BenchmarkQoETable and examples/dash/sim give the whole table.
func TestBestRuleBeatsBaselines(t *testing.T) {
	var traces []*Trace
	for _, tr := range SyntheticTraces() {
		if strings.HasSuffix(tr.Name, "-1") {
			traces = append(traces, tr)
		}
	}
	c := Compare(Simulator{Abandon: true}, traces, Rules())
	best := c.Best()
	for i, r := range c.Rules {
		if (r == "throughput" || r == "bba") && c.Fraction(i) >= c.Fraction(best) {
			t.Errorf("%s (%.3f of optimum) is not below the best, %s (%.3f)", r, c.Fraction(i), c.Rules[best], c.Fraction(best))
		}
	}
	if !strings.Contains(c.Rules[best], "mpc") {
		t.Errorf("best rule is %s", c.Rules[best])
	}
	for i := range c.Rules {
		if f := c.Fraction(i); f > 1 {
			t.Errorf("%s at %.3f of the optimum", c.Rules[i], f)
		}
	}
}

func freePort(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var wrkRequests = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrk runs wrk against url for d and returns requests per second.
func wrk(b *testing.B, url string, d time.Duration) float64 {
	out, err := exec.Command("wrk", "-t2", "-c32", "-d"+strconv.Itoa(int(d.Seconds()))+"s", url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	m := wrkRequests.FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk printed no rate:\n%s", out)
	}
	if strings.Contains(string(out), "Non-2xx") {
		b.Fatalf("wrk saw errors:\n%s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// BenchmarkServerVsNginx serves the same chunk directory with our Server
// and with nginx, and loads each with wrk in turn (twice, alternating),
// fetching one mid-rate chunk: requests per second for both and the ratio.
func BenchmarkServerVsNginx(b *testing.B) {
	needTool(b, "wrk", "wrk")
	nginx := needTool(b, "nginx", "nginx")
	dir := b.TempDir()
	e := encodeDemo(b, 4*time.Second)
	if err := e.WriteDir(filepath.Join(dir, "www")); err != nil {
		b.Fatal(err)
	}
	// nginx's workers run as an unprivileged user when it is started as
	// root: let them read the files.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	chunk := "/mid/00002.toy"
	// nginx on a port of its own, with a configuration of its own.
	nginxAddr := freePort(b)
	conf := fmt.Sprintf(`daemon off;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  types { application/dash+xml mpd; video/x-toy toy; }
  client_body_temp_path %[1]s/tmp;
  proxy_temp_path %[1]s/tmp;
  fastcgi_temp_path %[1]s/tmp;
  uwsgi_temp_path %[1]s/tmp;
  scgi_temp_path %[1]s/tmp;
  server { listen %[2]s; root %[1]s/www; }
}
`, dir, nginxAddr)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(nginx, "-c", filepath.Join(dir, "nginx.conf"), "-p", dir)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Wait for nginx to accept, bounded.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", nginxAddr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			b.Fatalf("nginx does not listen on %s", nginxAddr)
		}
		time.Sleep(50 * time.Millisecond) // polling a child process's start-up, not synchronising goroutines
	}
	ours := serve(b, &Server{FS: Dir(filepath.Join(dir, "www"))})
	mem := serve(b, &Server{FS: e.Files})
	// The machine is shared: alternate short runs and keep each one's
	// median, so that a burst of load elsewhere does not decide.
	const rounds = 5
	var oursRates, memRates, nginxRates []float64
	for b.Loop() {
		for round := 0; round < rounds; round++ {
			oursRates = append(oursRates, wrk(b, ours+chunk, 2*time.Second))
			nginxRates = append(nginxRates, wrk(b, "http://"+nginxAddr+chunk, 2*time.Second))
			memRates = append(memRates, wrk(b, mem+chunk, 2*time.Second))
		}
	}
	o, m, n := Median(oursRates), Median(memRates), Median(nginxRates)
	b.ReportMetric(o, "dir-req/s")
	b.ReportMetric(m, "mem-req/s")
	b.ReportMetric(n, "nginx-req/s")
	b.ReportMetric(o/n, "dir/nginx")
	b.ReportMetric(m/n, "mem/nginx")
}
