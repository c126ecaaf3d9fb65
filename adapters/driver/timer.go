package driver

import (
	"time"

	"liveproxyd/core"
)

// The site loop's timer: one per site, armed for the core's next deadline
// after every Step.

// timerLoop steps the core's timers. Steps re-arm the timer under the
// lock (arm); a fire that raced with a re-arm only causes a Tick with
// nothing due.
func (l *Loop) timerLoop() {
	for {
		select {
		case <-l.timer.C:
			l.enter(func() { l.armed = time.Time{} })
		case <-l.quit:
			return
		}
	}
}

// idleTick is the Tick interval when the core has nothing scheduled; extra
// ticks are harmless and guard against a deadline the driver misread.
const idleTick = time.Second

// arm makes the timer fire at the core's next deadline, or a little after
// it (coalesce). It is moved later too, not only earlier: a heartbeat's
// answer moves the deadline from its timeout to the next heartbeat, and a
// timer left at the timeout would wake a goroutine for a Tick with nothing
// due, once per heartbeat.
func (l *Loop) arm() {
	next, ok := l.site.NextDeadline()
	now := l.clk.Now()
	if !ok {
		next = now.Add(idleTick)
	}
	next = coalesce(next, now)
	if next.Equal(l.armed) {
		return
	}
	l.armed = next
	l.timer.Reset(max(next.Sub(now), time.Millisecond))
}

// Timer slack. Every site's core sets its own deadlines, a heartbeat
// every few seconds among them, and 1,000 sites woke the daemon a few
// hundred times a second, each wake a thread switch that costs more than
// the heartbeat it serves. A wake is therefore put off to a grid shared
// by all sites: by at most 1/slackFraction of the time still to wait,
// and at most maxSlack. The core acts at or after its deadlines, so a
// later wake only moves a heartbeat or a timeout by that much: 50 ms on
// the seconds of a heartbeat, 1 ms on a 20 ms deadline, none below.
const (
	maxSlack      = 50 * time.Millisecond
	slackFraction = 20
)

// coalesce returns when to wake for deadline next: next itself, or the
// first point of the slack's grid after it.
func coalesce(next, now time.Time) time.Time {
	slack := min(maxSlack, next.Sub(now)/slackFraction)
	if slack < time.Millisecond {
		return next
	}
	slack = slack.Truncate(time.Millisecond)
	wake := next.Truncate(slack)
	if wake.Before(next) {
		wake = wake.Add(slack)
	}
	return wake
}

// tickIfDue steps Ticks while the core's deadline has passed (a new
// core's has, so its first Tick comes at once).
func (l *Loop) tickIfDue() {
	for i := 0; i < maxImmediateTicks; i++ {
		d, ok := l.site.NextDeadline()
		if !ok || d.After(l.clk.Now()) {
			return
		}
		l.step(core.Event{Kind: core.EvTick}, nil)
	}
}
