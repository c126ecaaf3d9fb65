package core

import (
	"strconv"
	"testing"
	"time"
)

// TestWaitTimeoutOutOfRangeCountsAsNone: a WaitTimeout that is negative or
// a day or more is not taken as the wait: the long-poll gets the query
// timeout as its wait, as with none, and the query timeout on top.
func TestWaitTimeoutOutOfRangeCountsAsNone(t *testing.T) {
	for _, ms := range []int{-5000, 24 * 3600 * 1000} {
		t.Run(strconv.Itoa(ms), func(t *testing.T) {
			h := newHarness(t, testConfig()) // query timeout 20s
			h.start(1)
			h.accept(1)
			h.send(1, longPoll(ms))
			ch := h.busyChannel(1)
			h.run(40*time.Second - time.Millisecond)
			if h.gone[ch] || h.buf(1).Len() > 0 {
				t.Fatalf("long-poll ended before twice the query timeout: client got %q", h.buf(1).String())
			}
			h.run(time.Millisecond)
			h.expectErr(1, CodeTimeout, "query timeout after 20s")
		})
	}
}

// TestWaitTimeoutOfOneMillisecondIsTaken: the shortest real WaitTimeout
// is the wait, so the query timeout counts from 1 ms after dispatch.
func TestWaitTimeoutOfOneMillisecondIsTaken(t *testing.T) {
	h := newHarness(t, testConfig()) // query timeout 20s
	h.start(1)
	h.accept(1)
	h.send(1, longPoll(1))
	h.busyChannel(1)
	h.run(20*time.Second + time.Millisecond)
	h.expectErr(1, CodeTimeout, "query timeout after 20s")
}
