package testutil

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and
// returns, so that a failing wait can be observed instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }

func TestEventuallyReturnsTheAttemptsItTook(t *testing.T) {
	calls := 0
	n := Eventually(t, HangGuard, func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 || calls != 3 {
		t.Fatalf("Eventually returned %d after %d calls, want 3 and 3", n, calls)
	}
}

func TestPollFailsWithTheLastErrorAfterTheBound(t *testing.T) {
	r := &fatalRecorder{TB: t}
	calls := 0
	start := time.Now()
	n := poll(r, 50*time.Millisecond, time.Millisecond, func() error {
		calls++
		return fmt.Errorf("attempt %d failed", calls)
	})
	if time.Since(start) < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the 50ms bound", time.Since(start))
	}
	want := fmt.Sprintf("(%d attempts): attempt %d failed", n, calls)
	if r.msg == "" || !strings.Contains(r.msg, want) {
		t.Fatalf("failure message %q, want it to contain %q", r.msg, want)
	}
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	var done atomic.Bool
	time.AfterFunc(30*time.Millisecond, func() { done.Store(true) })
	r := &fatalRecorder{TB: t}
	WaitFor(r, "the timer", done.Load)
	if r.msg != "" || !done.Load() {
		t.Fatalf("WaitFor returned with done=%v, failure %q", done.Load(), r.msg)
	}
}

func TestAwaitReturnsTheValueSent(t *testing.T) {
	ch := make(chan error, 1)
	want := errors.New("exit status 3")
	time.AfterFunc(10*time.Millisecond, func() { ch <- want })
	if got := Await(t, "the exit", ch); got != want {
		t.Fatalf("Await returned %v, want %v", got, want)
	}
}

func TestAwaitFailsNamingWhatItAwaited(t *testing.T) {
	r := &fatalRecorder{TB: t}
	await(r, 20*time.Millisecond, "exit after SIGTERM", make(chan error))
	if r.msg != "no exit after SIGTERM within 20ms" {
		t.Fatalf("failure message %q", r.msg)
	}
}
