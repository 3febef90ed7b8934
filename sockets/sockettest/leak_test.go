package sockettest

import (
	"strings"
	"testing"
	"time"
)

// parkedForLeakTest is a goroutine of appnet that blocks until release
// is closed, and closes done as it returns.
func parkedForLeakTest(release <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	<-release
}

func hasParked(stacks []string) bool {
	for _, g := range stacks {
		if strings.Contains(g, "parkedForLeakTest") {
			return true
		}
	}
	return false
}

func TestBlockedGoroutines(t *testing.T) {
	release, done := make(chan struct{}), make(chan struct{})
	go parkedForLeakTest(release, done)
	// The goroutine is blocked once it reaches the receive; until then it
	// is runnable and not reported, so wait for it in the list (bounded).
	deadline := time.Now().Add(10 * time.Second)
	for !hasParked(BlockedGoroutines()) {
		if time.Now().After(deadline) {
			t.Fatal("a goroutine blocked on a channel is not reported")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	<-done
	if stacks := BlockedGoroutines(); hasParked(stacks) {
		t.Errorf("a goroutine that returned is still reported:\n%s", strings.Join(stacks, "\n\n"))
	}
	for _, g := range BlockedGoroutines() {
		if strings.Contains(g, "TestBlockedGoroutines") {
			t.Errorf("the test's own goroutine is reported:\n%s", g)
		}
	}
}

// runner stands in for a *testing.M.
type runner func() int

func (r runner) Run() int { return r() }

func TestVerifyNoLeaks(t *testing.T) {
	var out strings.Builder
	// Tests that fail: their code, no check.
	if code := verifyNoLeaks(runner(func() int { return 3 }), time.Second, &out); code != 3 || out.Len() != 0 {
		t.Errorf("failing tests: code %d, printed %q", code, out.String())
	}

	// A goroutine left blocked: the run fails with its stack.
	release, done := make(chan struct{}), make(chan struct{})
	defer func() { close(release); <-done }()
	code := verifyNoLeaks(runner(func() int {
		go parkedForLeakTest(release, done)
		return 0
	}), 200*time.Millisecond, &out)
	if code != 1 || !strings.Contains(out.String(), "parkedForLeakTest") || !strings.Contains(out.String(), "still there") {
		t.Errorf("leak: code %d, printed %q", code, out.String())
	}
}

// TestVerifyNoLeaksFromMain: TestMain calls VerifyNoLeaks outside any
// test, on the main goroutine; that goroutine is not a leak.
func TestVerifyNoLeaksFromMain(t *testing.T) {
	var out strings.Builder
	code := make(chan int)
	go func() { code <- verifyNoLeaks(runner(func() int { return 0 }), time.Second, &out) }()
	if c := <-code; c != 0 || out.Len() != 0 {
		t.Errorf("code %d, printed %q", c, out.String())
	}
}

func TestVerifyNoLeaksWaitsForGoroutinesOnTheirWayOut(t *testing.T) {
	var out strings.Builder
	release, done := make(chan struct{}), make(chan struct{})
	code := verifyNoLeaks(runner(func() int {
		go parkedForLeakTest(release, done)
		// Released a little after the tests "end": still blocked when
		// the check starts, gone before its wait is over.
		time.AfterFunc(50*time.Millisecond, func() { close(release) })
		return 0
	}), 10*time.Second, &out)
	<-done
	if code != 0 || out.Len() != 0 {
		t.Errorf("code %d, printed %q", code, out.String())
	}
}
