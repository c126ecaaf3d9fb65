// Package testutil holds the plumbing that tests of several packages share:
// the hang guard that bounds their waits, polling until a condition holds,
// short temporary directories and the files of a site tree, free TCP
// ports, dialling under the hang guard, reading a TCP socket option, a
// log buffer safe across goroutines, scraping the metrics endpoint and
// building the daemon.
// Site certificates live apart, in internal/sitecert. Only tests import it.
package testutil

import (
	"fmt"
	"testing"
	"time"
)

// HangGuard bounds every wait of a test: a dial, a read, a poll, a child
// process. It only fires when something hangs, never as a timing
// assertion, so it is generous: the tests share two cores with others and
// run under -race.
const HangGuard = 30 * time.Second

// WaitFor polls cond every 10 ms until it holds and fails the test, naming
// what it waited for, if it does not within HangGuard. The short interval
// suits conditions that read memory or a local file.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll(t, HangGuard, 10*time.Millisecond, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("waiting for %s", what)
	})
}

// Eventually retries check every 50 ms until it returns nil and returns
// the attempts that took; once timeout has passed it fails the test with
// check's last error. Unlike WaitFor the bound is the caller's (HangGuard,
// or a bound the test claims), the failure says why the last attempt
// failed, and the longer interval spares a server that every attempt
// queries.
func Eventually(t testing.TB, timeout time.Duration, check func() error) int {
	t.Helper()
	return poll(t, timeout, 50*time.Millisecond, check)
}

func poll(t testing.TB, timeout, every time.Duration, check func() error) int {
	t.Helper()
	start := time.Now()
	for n := 1; ; n++ {
		err := check()
		if err == nil {
			return n
		}
		if time.Since(start) > timeout {
			t.Fatalf("still failing after %v (%d attempts): %v", timeout, n, err)
			return n // only reached with a TB whose Fatalf returns (this package's tests)
		}
		time.Sleep(every)
	}
}

// Await returns the next value from ch and fails the test, naming what it
// awaited, if none comes within HangGuard.
func Await[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	return await(t, HangGuard, what, ch)
}

func await[T any](t testing.TB, bound time.Duration, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(bound):
		t.Fatalf("no %s within %v", what, bound)
		var zero T
		return zero // only reached with a TB whose Fatalf returns (this package's tests)
	}
}
