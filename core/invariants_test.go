package core

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// CheckInvariants is what the simulator and the fuzz targets trust to see
// a broken core: each way the site's bookkeeping can break must be named.
// Every case below starts from the same busy, consistent site and breaks
// exactly one thing.

// invariantSite is a site with something in every state: client 1 leads a
// cacheable query on channel 1, client 2 holds half an answer on channel
// 2, client 4 follows client 1's flight, client 5 is half-way through a
// query, client 6 is refused a query too large, and channel 3 is free.
func invariantSite(t *testing.T) *harness {
	cfg := testConfig()
	cfg.Channels, cfg.Cache = 3, true
	h := newHarness(t, cfg)
	h.start(100)
	h.ask(1, cq)
	h.accept(2)
	h.send(2, q16)
	h.step(Event{Kind: EvChannelData, Channel: h.busyChannel(2), Data: answer(200, strings.Repeat("x", 50))[:20]})
	h.accept(4)
	h.send(4, cq)
	h.accept(5)
	h.send(5, "GET ho")
	h.accept(6)
	h.send(6, "GET hosts\nFilter: name = "+strings.Repeat("x", 5000))
	s := h.s
	if len(s.flights) != 1 || s.clients[4].state != clientWaiting || s.clients[6].state != clientRefusing ||
		s.channel(2).hold == nil || s.channel(3).state != ChanFree || s.clients[5].buffered == 0 {
		t.Fatal("the site under test is not in the states it should be")
	}
	if err := s.CheckInvariants(); err != nil {
		t.Fatalf("consistent site: %v", err)
	}
	return h
}

func TestCheckInvariantsNamesEachBreakage(t *testing.T) {
	cases := []struct {
		name  string
		brk   func(s *Site)
		wants string
	}{
		{"a probe carrying a query", func(s *Site) { s.channel(1).extra = true }, "a probe only connects"},
		{"two probes", func(s *Site) {
			for range 2 {
				s.nextChan++
				s.channels = append(s.channels, &channel{id: s.nextChan, extra: true, state: ChanConnecting})
			}
		}, "(2 probes)"},
		{"a channel listed twice", func(s *Site) { s.channels = append(s.channels, s.channels[2]) }, "listed twice"},
		{"channels out of order", func(s *Site) { s.channels[0], s.channels[1] = s.channels[1], s.channels[0] }, "out of order"},
		{"an ID never given out", func(s *Site) { s.nextChan = 2 }, "beyond the last ID"},
		{"busy without a client", func(s *Site) { s.channel(1).client = nil }, "busy without a client"},
		{"a client on another channel", func(s *Site) { s.clients[1].channel = s.channel(3) }, "disagree"},
		{"a client not in flight", func(s *Site) { s.clients[1].state = clientWaiting }, "disagree"},
		{"a client forgotten", func(s *Site) { delete(s.clients, 1) }, "disagree"},
		{"free but never proven", func(s *Site) { s.channel(3).proven = false }, "never proven"},
		{"free but paused", func(s *Site) { s.channel(3).paused = true }, "owned by a client"},
		{"free but draining", func(s *Site) { s.channel(3).draining = true }, "owned by a client"},
		{"header overrun", func(s *Site) { s.channel(2).hn = HeaderLen + 1 }, "out of range"},
		{"negative remainder", func(s *Site) { s.channel(2).remaining = -1 }, "out of range"},
		{"dead with open channels", func(s *Site) { s.state = SiteDead }, "while site dead"},
		{"starting with open channels", func(s *Site) { s.state = SiteStarting }, "while site starting"},
		{"stopped with channels", func(s *Site) { s.state = SiteStopped }, "stopped site"},
		{"stopped with flights only", func(s *Site) { s.state, s.channels = SiteStopped, nil }, "stopped site"},
		{"an unproven heartbeat beside another", func(s *Site) {
			s.channel(3).state = ChanHeartbeat
			s.nextChan++
			s.channels = append(s.channels, &channel{id: s.nextChan, state: ChanHeartbeat})
		}, "heartbeat but unproven"},
		{"a free channel over target", func(s *Site) { s.target = 0 }, "target 0"},
		{"a pool over the largest size", func(s *Site) { s.target, s.peak = 2, 2 }, "largest configured 2"},
		{"a reading client queued", func(s *Site) { s.waitQ = append(s.waitQ, s.clients[5]) }, "queued wrongly"},
		{"a client queued twice", func(s *Site) {
			c := s.clients[5]
			c.state = clientWaiting
			s.waitQ = append(s.waitQ, c, c)
		}, "queued wrongly"},
		{"a gone client queued", func(s *Site) {
			s.waitQ = append(s.waitQ, &client{id: 9, state: clientWaiting})
		}, "queued wrongly"},
		{"a flight without waiters", func(s *Site) { s.flights[0].waiters = nil }, "without waiters"},
		{"a follower twice", func(s *Site) { s.flights[0].waiters = append(s.flights[0].waiters, s.clients[4]) }, "in a flight wrongly"},
		{"a follower also queued", func(s *Site) { s.waitQ = append(s.waitQ, s.clients[4]) }, "in a flight wrongly"},
		{"a follower not waiting", func(s *Site) {
			s.flights[0].waiters = append(s.flights[0].waiters, s.clients[5])
			s.clients[5].cacheKey = s.flights[0].key
		}, "in a flight wrongly"},
		{"a gone follower", func(s *Site) { delete(s.clients, 4) }, "in a flight wrongly"},
		{"a follower of another key", func(s *Site) { s.clients[4].cacheKey = "other" }, "in a flight wrongly"},
		{"a client under another ID", func(s *Site) { s.clients[7] = s.clients[5] }, "bookkeeping broken"},
		{"negative unacked bytes", func(s *Site) { s.clients[5].unacked = -1 }, "bookkeeping broken"},
		{"waiting but in no queue", func(s *Site) { s.clients[5].state = clientWaiting }, "waiting but not queued"},
		{"in flight without a channel", func(s *Site) { s.clients[5].state = clientInFlight }, "in flight without its channel"},
		{"in flight on a closed channel", func(s *Site) {
			c := s.clients[5]
			c.state, c.channel = clientInFlight, &channel{id: 3, client: c}
		}, "in flight without its channel"},
		{"reading with a channel", func(s *Site) { s.clients[5].channel = s.channel(3) }, "reading (or refusing) but holds"},
		{"refusing with a channel", func(s *Site) { s.clients[6].channel = s.channel(3) }, "reading (or refusing) but holds"},
		{"a refusal while reading", func(s *Site) { s.clients[5].refusal.code = CodeTooLarge }, "has a refusal"},
		{"refusing and keeping bytes", func(s *Site) { s.clients[6].buffered = 1 }, "keeps"},
		{"refusing and keeping a long line", func(s *Site) {
			s.clients[6].refusal.skim.line = make([]byte, skimCarry+1)
		}, "bytes of a line"},
		{"refusing without a clock", func(s *Site) { s.clients[6].partialSince = time.Time{} }, "without a read deadline"},
		{"refusing without a reply", func(s *Site) { s.clients[6].refusal.code = 0 }, "without a reply"},
		{"refusing past EOF", func(s *Site) { s.clients[6].eof = true }, "not answered at EOF"},
		{"held bytes miscounted", func(s *Site) { s.heldBytes++ }, "memory counts"},
		{"unacked bytes miscounted", func(s *Site) { s.unackedBytes++ }, "memory counts"},
		{"query bytes miscounted", func(s *Site) { s.queryBytes++ }, "memory counts"},
		{"a client's query bytes miscounted", func(s *Site) { s.clients[5].buffered++ }, "query bytes counted"},
		{"an unfinished query that never expires", func(s *Site) { s.partialDue = time.Time{} }, "would expire"},
		{"an unfinished query that expires late", func(s *Site) { s.partialDue = s.partialDue.Add(time.Nanosecond) }, "would expire"},
		{"a read deadline before any query expires", func(s *Site) { s.partialDue = s.partialDue.Add(-time.Nanosecond) }, "would expire"},
		{"a hold over its reservation", func(s *Site) { s.channel(2).reserved = 1; s.heldBytes = 1 }, "holds"},
		{"a hold without a reader", func(s *Site) { s.channel(2).command = true }, "holds"},
		{"a hold on a free channel", func(s *Site) {
			ch := s.channel(3)
			ch.hold = []byte{}
		}, "holds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := invariantSite(t)
			tc.brk(h.s)
			err := h.s.CheckInvariants()
			if err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("CheckInvariants = %v, want an error with %q", err, tc.wants)
			}
		})
	}
}

// TestCheckInvariantsAllowsTwiceMaxQueryBytesBuffered: a client may hold
// up to 2 × MaxQueryBytes + 1 bytes of input (a query at the limit and
// the pipelined input behind it); one byte more is a leak.
func TestCheckInvariantsAllowsTwiceMaxQueryBytesBuffered(t *testing.T) {
	h := invariantSite(t)
	s, c := h.s, h.s.clients[5]
	grow := func(n int) {
		c.framer.Push([]byte(strings.Repeat("x", n)))
		c.buffered += int64(n)
		s.queryBytes += int64(n)
	}
	grow(2*s.cfg.MaxQueryBytes + 1 - c.framer.Buffered())
	if err := s.CheckInvariants(); err != nil {
		t.Fatalf("2 × MaxQueryBytes + 1 buffered: %v", err)
	}
	grow(1)
	if err := s.CheckInvariants(); err == nil || !strings.Contains(err.Error(), "buffers") {
		t.Fatalf("2 × MaxQueryBytes + 2 buffered: %v", err)
	}
}

// TestShutdownAnswersClientsInTheOrderOfTheirIDs: the shutdown's actions
// do not depend on map order, and go to the oldest client first.
func TestShutdownAnswersClientsInTheOrderOfTheirIDs(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	for c := ClientID(1); c <= 5; c++ {
		h.accept(c)
		h.send(c, q16)
	}
	var order []ClientID
	for _, a := range h.step(Event{Kind: EvShutdown}) {
		if a.Kind == ActCloseClient {
			order = append(order, a.Client)
		}
	}
	if fmt.Sprint(order) != "[1 2 3 4 5]" {
		t.Fatalf("clients closed in the order %v", order)
	}
}
