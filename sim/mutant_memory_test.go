package sim

import (
	"testing"
	"time"

	"liveproxyd/core"
	"liveproxyd/livestatus"
)

// TestStreamingCoreIsCaught runs the old behaviour, every answer streamed
// as it comes (a hold limit of one byte), against sites that reset
// connections in the middle of answers: the simulator must catch a client
// that received a 200 header and then a cut body, for an answer that fits
// the limit the world believes in force.
func TestStreamingCoreIsCaught(t *testing.T) {
	var quiet FaultSet
	for f := range NumFaults {
		if f != FaultReset {
			quiet = quiet.With(f)
		}
	}
	streaming := func(c core.Config) Core {
		c.AnswerBuffer = 1
		return core.NewSite(c)
	}
	// The check needs a world where every fitting answer is held.
	skip := func(seed uint64) bool { return withBudget(seed) || planWithout(FaultReset)(seed) }
	caughtWithin(t, 20, skip, Options{Duration: 5 * time.Minute, NewCore: streaming, Disabled: quiet,
		DisabledClients: ClientSet(0).With(ClientCommand)},
		"a core that streams every answer", invAnswerHeldWhole)
}

// splitter hands the core every channel read cut after each complete
// fixed16 answer, as a network may: the core then cannot see that a stray
// answer is followed by the real one (docs/memory.md, what a lying server
// can still do). The world's no-foreign-bytes check must catch what then
// reaches a client.
type splitter struct {
	site *core.Site
	hdr  map[core.ChannelID][]byte
	left map[core.ChannelID]int64
}

func newSplitter(c core.Config) Core {
	return &splitter{site: core.NewSite(c), hdr: map[core.ChannelID][]byte{}, left: map[core.ChannelID]int64{}}
}

func (s *splitter) Step(ev core.Event) []core.Action {
	if ev.Kind != core.EvChannelData {
		return s.site.Step(ev)
	}
	var acts []core.Action
	data := ev.Data
	for i := 0; i < len(data); i++ {
		id := ev.Channel
		if h := s.hdr[id]; len(h) < livestatus.HeaderLen {
			s.hdr[id] = append(h, data[i])
			if len(s.hdr[id]) < livestatus.HeaderLen {
				continue
			}
			hd, err := livestatus.ParseHeader(s.hdr[id])
			if err != nil {
				break // not fixed16: leave the rest alone
			}
			s.left[id] = hd.Length
		} else {
			s.left[id]--
		}
		if s.left[id] == 0 && i+1 < len(data) {
			ev.Data = data[:i+1]
			acts = append(acts, s.site.Step(ev)...)
			data, i = data[i+1:], -1
			delete(s.hdr, id)
		} else if s.left[id] == 0 {
			delete(s.hdr, id)
		}
	}
	ev.Data = data
	return append(acts, s.site.Step(ev)...)
}

func (s *splitter) NextDeadline() (time.Time, bool) { return s.site.NextDeadline() }
func (s *splitter) Snapshot() core.Snapshot         { return s.site.Snapshot() }

func TestExtraAnswerAfterReuseIsCaught(t *testing.T) {
	var only FaultSet
	for f := range NumFaults {
		if f != FaultExtraAnswer {
			only = only.With(f)
		}
	}
	// The stray answer comes first only where it would be held. Taken for
	// the next query's answer, it differs from that one in the body
	// (answer-bytes), in a text reply, or already in the header: a 200 of
	// another length reads as a status the query cannot get (error-code).
	skip := func(seed uint64) bool { return withBudget(seed) || planWithout(FaultExtraAnswer)(seed) }
	caughtWithin(t, 20, skip, Options{Duration: 5 * time.Minute, NewCore: newSplitter, Disabled: only,
		DisabledClients: ClientSet(0).With(ClientCommand)},
		"a stray answer taken for the next query's", invAnswerBytes, invTextReplyKnown, invErrorCode)
}

// unbudgeted never hears of the global budgets, like a driver that does
// not pass them on: in a world with tight budgets the simulator must see
// the sites hold more than the budgets allow.
type unbudgeted struct{ *core.Site }

func (u unbudgeted) Step(ev core.Event) []core.Action {
	ev.Budget = nil
	return u.Site.Step(ev)
}

func TestIgnoredBudgetIsCaught(t *testing.T) {
	withoutBudget := func(seed uint64) bool { return !withBudget(seed) }
	caughtWithin(t, 30, withoutBudget, Options{Duration: 5 * time.Minute,
		NewCore: func(c core.Config) Core { return unbudgeted{core.NewSite(c)} }},
		"a core that ignores the budgets", invBudgetMax)
}

// withBudget tells the seeds whose world draws a memory budget at all.
func withBudget(seed uint64) bool { return newBudgetPlan(seed).mode != budgetNone }
