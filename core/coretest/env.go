// Package coretest drives one core.Site the way a driver does, for tests
// outside package core: transcripts, the fuzz target and the benchmarks
// (core's in-package harness cannot import it and mirrors it). Every step
// is checked against the driver contract (core.Contract) and the core's
// own invariants, and what the site wrote to clients and channels is kept
// for the test to read.
package coretest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"liveproxyd/core"
	"liveproxyd/livestatus"
)

// Epoch is the time every Env starts at; transcripts print time relative
// to it.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Env is one Site and a driver's view of it.
type Env struct {
	TB       testing.TB
	Site     *core.Site
	Contract *core.Contract
	Now      time.Time

	// Acts are the actions of the last step, copied (Step reuses its
	// slice).
	Acts []core.Action
	// Trace, when set, is called after every step with its event and
	// actions; transcripts print them.
	Trace func(ev core.Event, acts []core.Action)

	out      map[core.ClientID]*bytes.Buffer // written to clients
	unacked  map[core.ClientID]int           // written, not yet reported as EvClientWritten
	shut     map[core.ClientID]bool          // closed by the core
	up       map[core.ChannelID]*bytes.Buffer
	dialled  []core.ChannelID
	chClosed map[core.ChannelID]bool // closed by the core
}

// New returns an Env around a new Site with cfg. It does not tick: a
// transcript shows the first Tick's dials.
func New(tb testing.TB, cfg core.Config) *Env {
	tb.Helper()
	e := &Env{TB: tb, Site: core.NewSite(cfg), Contract: core.NewContract(), Now: Epoch,
		out: map[core.ClientID]*bytes.Buffer{}, unacked: map[core.ClientID]int{}, shut: map[core.ClientID]bool{},
		up: map[core.ChannelID]*bytes.Buffer{}, chClosed: map[core.ChannelID]bool{}}
	if _, ok := e.Deadline(); ok {
		tb.Fatal("a new site must want a tick at once")
	}
	return e
}

// Deadline returns the site's next deadline; ok is false when it wants a
// Tick at once (a new site) or nothing (a stopped one). It is the one place
// here that reads NextDeadline.
func (e *Env) Deadline() (time.Time, bool) {
	d, ok := e.Site.NextDeadline()
	return d, ok && !d.IsZero()
}

// Step gives ev to the site at e.Now, checks the contract and the
// invariants, records the actions and returns them (valid until the next
// Step).
func (e *Env) Step(ev core.Event) []core.Action {
	e.TB.Helper()
	ev.Now = e.Now
	e.Acts = append(e.Acts[:0], e.Site.Step(ev)...)
	if e.Trace != nil {
		e.Trace(ev, e.Acts)
	}
	if err := e.Contract.Check(ev, e.Acts, e.Site); err != nil {
		e.TB.Fatalf("driver contract: %v", err)
	}
	for _, a := range e.Acts {
		switch a.Kind {
		case core.ActDial:
			e.dialled = append(e.dialled, a.Channel)
			e.up[a.Channel] = &bytes.Buffer{}
		case core.ActWriteChannel:
			e.up[a.Channel].Write(a.Data)
		case core.ActCloseChannel:
			e.chClosed[a.Channel] = true
		case core.ActWriteClient:
			e.buf(a.Client).Write(a.Data)
			e.unacked[a.Client] += len(a.Data)
		case core.ActCloseClient:
			e.shut[a.Client] = true
		}
	}
	if err := e.Site.CheckInvariants(); err != nil {
		e.TB.Fatalf("invariant after %v: %v", ev, err)
	}
	return e.Acts
}

func (e *Env) buf(c core.ClientID) *bytes.Buffer {
	if e.out[c] == nil {
		e.out[c] = &bytes.Buffer{}
	}
	return e.out[c]
}

// Tick lets d pass and ticks.
func (e *Env) Tick(d time.Duration) []core.Action {
	e.TB.Helper()
	e.Now = e.Now.Add(d)
	return e.Step(core.Event{Kind: core.EvTick})
}

// TickDeadline moves the clock to the site's deadline, as a driver's timer
// does, and ticks.
func (e *Env) TickDeadline() []core.Action {
	e.TB.Helper()
	if d, ok := e.Deadline(); ok && d.After(e.Now) {
		e.Now = d
	}
	return e.Step(core.Event{Kind: core.EvTick})
}

// Accept, Send, EOF and Gone are a client's events.
func (e *Env) Accept(c core.ClientID) []core.Action {
	return e.Step(core.Event{Kind: core.EvClientAccepted, Client: c})
}

func (e *Env) Send(c core.ClientID, data []byte) []core.Action {
	return e.Step(core.Event{Kind: core.EvClientData, Client: c, Data: data})
}

// Ack reports every byte written to c so far as flushed.
func (e *Env) Ack(c core.ClientID) []core.Action {
	n := e.unacked[c]
	e.unacked[c] = 0
	return e.Step(core.Event{Kind: core.EvClientWritten, Client: c, N: n})
}

// Connect, Data, Reply and Close are the site's side of channel ch.
func (e *Env) Connect(ch core.ChannelID) []core.Action {
	return e.Step(core.Event{Kind: core.EvChannelConnected, Channel: ch})
}

func (e *Env) Data(ch core.ChannelID, data []byte) []core.Action {
	return e.Step(core.Event{Kind: core.EvChannelData, Channel: ch, Data: data})
}

// Reply sends a whole fixed16 answer with the given code and body.
func (e *Env) Reply(ch core.ChannelID, code int, body string) []core.Action {
	return e.Data(ch, Answer(code, body))
}

func (e *Env) Close(ch core.ChannelID, err string) []core.Action {
	return e.Step(core.Event{Kind: core.EvChannelClosed, Channel: ch, Err: err})
}

// Answer is a fixed16 answer, so no test has to count header spaces.
func Answer(code int, body string) []byte {
	return append(livestatus.FormatHeader(code, int64(len(body))), body...)
}

// Out returns what the site wrote to client c; Closed tells whether it
// closed c.
func (e *Env) Out(c core.ClientID) string           { return e.buf(c).String() }
func (e *Env) Closed(c core.ClientID) bool          { return e.shut[c] }
func (e *Env) Unacked(c core.ClientID) int          { return e.unacked[c] }
func (e *Env) Dialled() []core.ChannelID            { return slices.Clone(e.dialled) }
func (e *Env) ChannelClosed(ch core.ChannelID) bool { return e.chClosed[ch] }

// TakeUp returns and forgets what the site wrote on channel ch.
func (e *Env) TakeUp(ch core.ChannelID) string {
	b := e.up[ch]
	if b == nil {
		return ""
	}
	s := b.String()
	b.Reset()
	return s
}

// Serve connects every channel that is dialling and answers every
// heartbeat written (program_start 1700000000), until none is left: a
// healthy, quick site.
func (e *Env) Serve() {
	e.TB.Helper()
	for again := true; again; {
		again = false
		for _, info := range e.Site.Snapshot().Channels {
			switch {
			case info.State == core.ChanConnecting:
				e.Connect(info.ID)
				again = true
			case (info.State == core.ChanProbing || info.State == core.ChanHeartbeat) && strings.HasSuffix(e.up[info.ID].String(), HeartbeatQuery):
				// Probing or heartbeat: whatever went before was answered.
				e.TakeUp(info.ID)
				e.Reply(info.ID, 200, "1700000000\n")
				again = true
			}
		}
	}
}

// Run lets d pass as a driver would: it ticks at each deadline, and
// Serve answers heartbeats and connects new channels at once, so only
// what the test holds back (a busy channel's answer) stays silent.
func (e *Env) Run(d time.Duration) {
	e.TB.Helper()
	end := e.Now.Add(d)
	for range 10000 {
		e.Serve()
		next, ok := e.Deadline()
		if !ok || next.After(end) {
			e.Now = end
			e.Step(core.Event{Kind: core.EvTick})
			e.Serve()
			return
		}
		if next.After(e.Now) {
			e.Now = next
		}
		e.Step(core.Event{Kind: core.EvTick})
	}
	e.TB.Fatal("Run: 10000 steps without reaching the end")
}

// HeartbeatQuery is the core's probe and heartbeat as a site receives it.
// It is spelled out, not taken from core, so a change to it shows.
const HeartbeatQuery = "GET status\nResponseHeader: fixed16\nKeepAlive: on\nColumns: program_start\n\n"

// Start ticks a new site and serves it until it is alive.
func (e *Env) Start() {
	e.TB.Helper()
	e.Tick(0)
	e.Serve()
	if st := e.Site.Snapshot().State; st != core.SiteAlive {
		e.TB.Fatalf("site %s after start", st)
	}
}

// String summarises the site for a transcript: state, target, next
// deadline, last error, channels.
func (e *Env) String() string {
	snap := e.Site.Snapshot()
	s := fmt.Sprintf("site %s target=%d", snap.State, snap.Target)
	if d, ok := e.Deadline(); ok {
		s += fmt.Sprintf(" next-tick=%v", d.Sub(Epoch))
	} else {
		s += " next-tick=none"
	}
	if snap.LastError != "" {
		s += fmt.Sprintf(" last-error=%q", snap.LastError)
	}
	for _, ch := range snap.Channels {
		s += fmt.Sprintf("\nch=%d %s", ch.ID, ch.State)
		if ch.Client != 0 {
			s += fmt.Sprintf(" client=%d", ch.Client)
		}
	}
	return s
}
