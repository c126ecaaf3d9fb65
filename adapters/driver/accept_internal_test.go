package driver

import (
	"testing"
	"time"
)

// TestAcceptBackoffBoundsRetries: a listener that keeps failing (out of
// file descriptors) is retried at most a handful of times in the first
// 10 s and then once a second; the old fixed 100 ms pause retried (and
// logged) 100 times in those 10 s.
func TestAcceptBackoffBoundsRetries(t *testing.T) {
	var d, elapsed time.Duration
	retries := 0
	for elapsed < 10*time.Second {
		d = nextAcceptDelay(d)
		elapsed += d
		retries++
	}
	if retries > 20 {
		t.Fatalf("%d accept retries in 10 s of failures, want at most 20", retries)
	}
	if d != acceptDelayMax {
		t.Fatalf("delay after 10 s of failures is %v, want the cap %v", d, acceptDelayMax)
	}
	if first := nextAcceptDelay(0); first != acceptDelayMin {
		t.Fatalf("first retry after %v, want %v", first, acceptDelayMin)
	}
}
