package driver

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// A wake is never before the core's deadline (the core would find nothing
// due and the loop would sleep again), and never later than the slack
// allows: at most a twentieth of the wait, at most 50 ms.
func TestCoalesceWakesAtOrShortlyAfterTheDeadline(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		now := time.Unix(rapid.Int64Range(0, 1<<40).Draw(t, "now"), rapid.Int64Range(0, 999_999_999).Draw(t, "ns"))
		wait := time.Duration(rapid.Int64Range(-int64(time.Second), int64(time.Hour)).Draw(t, "wait"))
		next := now.Add(wait)
		wake := coalesce(next, now)
		if wake.Before(next) {
			t.Fatalf("wake %v before the deadline %v", wake, next)
		}
		late := wake.Sub(next)
		if allowed := min(maxSlack, max(wait, 0)/slackFraction); late > allowed {
			t.Fatalf("wake %v after a wait of %v, allowed %v", late, wait, allowed)
		}
		if wait < slackFraction*time.Millisecond && late != 0 {
			t.Fatalf("a deadline %v away woke %v late; below 20 ms none is allowed", wait, late)
		}
	})
}

// Sites' deadlines seconds away, within one 50 ms window of the shared
// grid, wake together: the point of the slack. Two in different windows
// do not.
func TestCoalesceSharesOneGridAcrossSites(t *testing.T) {
	now := time.Unix(1_700_000_000, 123_456_789)
	window := now.Add(3 * time.Second).Truncate(maxSlack)
	a := coalesce(window.Add(1*time.Millisecond), now)
	b := coalesce(window.Add(49*time.Millisecond), now.Add(-700*time.Millisecond))
	if !a.Equal(b) {
		t.Errorf("deadlines in one grid window wake at %v and %v", a, b)
	}
	if c := coalesce(window.Add(51*time.Millisecond), now); c.Equal(a) {
		t.Errorf("a deadline in the next window wakes with the earlier one at %v", c)
	}
}
