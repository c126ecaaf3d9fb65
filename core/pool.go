package core

import "time"

// The pool's size against its target (docs/design.md §9): a channel that
// becomes free while the pool is over target is closed, after any still
// on probation.

// release makes a channel free again, or closes it when the pool is over
// its target (after a reconfigure or a capacity shrink).
func (s *Site) release(ch *channel) {
	ch.client, ch.draining, ch.command = nil, false, false
	if ch.paused {
		s.resume(ch) // sets the deadline the line below clears
	}
	ch.deadline = time.Time{}
	s.closeUnproven()
	if s.poolSize() > s.target {
		s.closeChannel(ch)
		return
	}
	ch.state, ch.since = ChanFree, s.now
}

// closeUnproven closes surplus channels still on probation, newest first,
// while the pool is over its target. They go before any proven one:
// closing a proven channel could leave only unproven ones, and the next
// of them to miss its probe would then find no proven channel and kill
// the site.
func (s *Site) closeUnproven() {
	for i := len(s.channels) - 1; i >= 0 && s.poolSize() > s.target; i-- {
		if c := s.channels[i]; !c.extra && !c.proven && (c.state == ChanConnecting || c.state == ChanProbing) {
			s.closeChannel(c)
		}
	}
}
