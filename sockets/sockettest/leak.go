package sockettest

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// module is the prefix of appnet's functions in a goroutine's stack.
const module = "appnet.dev/"

// BlockedGoroutines returns the stacks of appnet's goroutines (those
// running a function of a package of appnet) that are blocked: waiting
// on a channel, a lock, a timer or the network. That is what a leak looks
// like: a server goroutine that Close did not stop, a reader whose
// connection nobody closed. Left out are goroutines that are running or
// runnable (one that has just signalled a WaitGroup still has to return),
// the caller, and the goroutines of tests.
func BlockedGoroutines() []string {
	return goroutines(false)
}

// goroutines returns the stacks of appnet's goroutines other than the
// caller and the tests, the running and runnable ones too if all is set.
func goroutines(all bool) []string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	// The first stack is the caller's own.
	_, others, _ := strings.Cut(string(buf), "\n\n")
	var found []string
	for _, g := range strings.Split(others, "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if !all && (strings.Contains(header, "[running]") || strings.Contains(header, "[runnable]")) {
			continue
		}
		if strings.Contains(g, module) && !strings.Contains(g, "testing.tRunner") {
			found = append(found, g)
		}
	}
	return found
}

// leakWait is how long VerifyNoLeaks gives goroutines on their way out.
const leakWait = 10 * time.Second

// VerifyNoLeaks runs the tests of m, the package's *testing.M, and
// returns the code for os.Exit. When the tests pass, it then checks that
// every goroutine of appnet they started has ended: servers closed,
// connections dropped, peers stopped. It gives goroutines on their way
// out up to 10 s; if any is left after that, it prints their stacks and
// fails the run. A package uses it as its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(sockettest.VerifyNoLeaks(m)) }
func VerifyNoLeaks(m interface{ Run() int }) int {
	return verifyNoLeaks(m, leakWait, os.Stderr)
}

func verifyNoLeaks(m interface{ Run() int }, wait time.Duration, w io.Writer) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	leaked := waitGoroutines(wait)
	if len(leaked) == 0 {
		return 0
	}
	fmt.Fprintf(w, "sockettest: %d goroutines of appnet still there %v after the tests ended:\n\n%s\n",
		len(leaked), wait, strings.Join(leaked, "\n\n"))
	return 1
}

// waitGoroutines polls until none of appnet's goroutines is left (but
// the tests') or wait has passed, and returns what it found last. The poll
// is the final check of a test run, not a way to synchronise a test: a
// goroutine gives no other sign that it has ended.
func waitGoroutines(wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	pause := time.Millisecond
	for {
		left := goroutines(true)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}
