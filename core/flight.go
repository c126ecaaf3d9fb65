package core

import "fmt"

// Single flight: identical cacheable queries that miss the cache at the
// same time go upstream once. The first one (the leader) takes the normal
// way, waiting for a channel and then on it; the others wait for its answer
// in a flight instead of in the channel queue, and are answered from the
// cache as soon as the answer is complete there.
//
// If the leader's answer does not make it into the cache (an error status,
// too large to cache, the channel broke, the leader timed out or the
// monitoring core restarted meanwhile), every waiter goes upstream itself,
// as it would have without the flight: it joins the channel queue as if it
// had just arrived, and gets its own answer or its own error. A dead site
// answers the waiters with 502 at once, like everybody waiting.

// flight is the set of clients waiting for the answer to one cache key.
type flight struct {
	key     string
	waiters []*client // in arrival order
}

// flying tells whether an answer for key is on its way into the cache: a
// channel reading one, or a client with that query waiting for a channel.
func (s *Site) flying(key string) bool {
	for _, ch := range s.channels {
		if ch.state == ChanBusy && ch.cacheWrite && ch.cacheKey == key {
			return true
		}
	}
	for _, c := range s.waitQ {
		if c.cacheKey == key {
			return true
		}
	}
	return false
}

// follow makes c wait for the answer already on its way for its query.
func (s *Site) follow(c *client) {
	c.state, c.since = clientWaiting, s.now
	for _, f := range s.flights {
		if f.key == c.cacheKey {
			f.waiters = append(f.waiters, c)
			return
		}
	}
	s.flights = append(s.flights, &flight{key: c.cacheKey, waiters: []*client{c}})
}

// unfollow takes c out of its flight, if it is in one.
func (s *Site) unfollow(c *client) {
	for i, f := range s.flights {
		for j, w := range f.waiters {
			if w != c {
				continue
			}
			f.waiters = append(f.waiters[:j], f.waiters[j+1:]...)
			if len(f.waiters) == 0 {
				s.flights = append(s.flights[:i], s.flights[i+1:]...)
			}
			return
		}
	}
}

// land ends every flight whose answer is no longer on its way: from the
// cache if it got there, else each waiter queues for a channel itself.
func (s *Site) land() {
	for i := 0; i < len(s.flights); {
		f := s.flights[i]
		if s.state == SiteAlive && s.flying(f.key) {
			i++
			continue
		}
		s.flights = append(s.flights[:i], s.flights[i+1:]...)
		for _, c := range f.waiters {
			if s.clients[c.id] != c || c.state != clientWaiting {
				continue // answered or gone while landing the ones before
			}
			if s.answerFromCache(c) {
				c.state = clientReading
				s.queryDone(c)
				continue
			}
			c.since = s.now // its own wait for a channel starts now
			s.waitQ = append(s.waitQ, c)
		}
	}
}

// flightWaiters takes every client out of every flight, in order.
func (s *Site) flightWaiters() []*client {
	var all []*client
	for _, f := range s.flights {
		all = append(all, f.waiters...)
	}
	s.flights = nil
	return all
}

// checkFlights is the invariant of the flights: each waiter is a known,
// waiting client with the flight's key, in one flight, not in the queue.
func (s *Site) checkFlights(inQ map[ClientID]bool) (map[ClientID]bool, error) {
	in := map[ClientID]bool{}
	for _, f := range s.flights {
		if len(f.waiters) == 0 {
			return nil, fmt.Errorf("flight %.40q without waiters", f.key)
		}
		for _, c := range f.waiters {
			if in[c.id] || inQ[c.id] || c.state != clientWaiting || s.clients[c.id] != c || c.cacheKey != f.key {
				return nil, fmt.Errorf("client %d in a flight wrongly", c.id)
			}
			in[c.id] = true
		}
	}
	return in, nil
}
