package core

import (
	"fmt"
	"slices"
	"time"
)

// Contract checks, from the outside, that every Step asks of its driver
// only what a driver can do (the kinds' doc comments above their
// constants in api.go). Every harness that drives a Site (scenario tests,
// transcripts, the rapid model, the fuzz target, the benchmarks, the
// simulator) feeds it each event with the actions it caused, so the rules
// live here once. It lives in core rather than in core/coretest because
// core's own in-package tests cannot import a package that imports core.
//
// The rules: dials name channels 1, 2, 3… in order and stop at shutdown;
// nothing is written to, paused or resumed on a channel before it
// connected or after it was closed by either side, and a channel is closed
// once (again only to answer a late EvChannelConnected); nothing is
// written to or closed on a client that was never accepted, was closed or
// is gone; pause and resume alternate; each action carries exactly the
// fields its kind uses; EvShutdown closes every client and channel in its
// own step; and after every step of a running site NextDeadline lies in
// the future, so a driver that ticks at it gets a Tick the site acts on
// instead of spinning.
type Contract struct {
	steps    int
	now      time.Time
	lastDial ChannelID
	stopped  bool
	chans    map[ChannelID]*contractChan
	clients  map[ClientID]*contractClient
}

type contractChan struct {
	connected bool // EvChannelConnected given
	closed    bool // ActCloseChannel seen or EvChannelClosed given
	paused    bool
}

type contractClient struct {
	closed bool // ActCloseClient seen
	gone   bool // EvClientGone given
}

// Deadliner is the part of a Site that Contract asks for the next deadline;
// the simulator drives Sites wrapped by planted bugs, so it is an interface.
type Deadliner interface {
	NextDeadline() (time.Time, bool)
}

// NewContract returns the checker for one new Site.
func NewContract() *Contract {
	return &Contract{chans: map[ChannelID]*contractChan{}, clients: map[ClientID]*contractClient{}}
}

// Check checks the actions acts that Step returned for ev, and the
// deadline s offers after it. The first broken rule is returned.
func (k *Contract) Check(ev Event, acts []Action, s Deadliner) error {
	k.steps++
	if ev.Now.After(k.now) {
		k.now = ev.Now // as the core does: time never runs backwards
	}
	k.noteEvent(ev)
	for i, a := range acts {
		if err := k.action(ev, a); err != nil {
			return fmt.Errorf("step %d (%v), action %d (%v): %w", k.steps, ev, i+1, a, err)
		}
	}
	if ev.Kind == EvShutdown {
		if err := k.allClosed(); err != nil {
			return fmt.Errorf("step %d (%v): %w", k.steps, ev, err)
		}
		k.stopped = true
	}
	d, ok := s.NextDeadline()
	if !k.stopped && (!ok || !d.After(k.now)) {
		return fmt.Errorf("step %d (%v): NextDeadline %v (ok %v) is not after now %v: a driver ticking at it would spin",
			k.steps, ev, d, ok, k.now)
	}
	if k.stopped && ok {
		return fmt.Errorf("step %d (%v): a stopped site wants a Tick at %v", k.steps, ev, d)
	}
	return nil
}

// noteEvent records what the driver reported, before the actions it caused.
func (k *Contract) noteEvent(ev Event) {
	switch ev.Kind {
	case EvClientAccepted:
		if k.clients[ev.Client] == nil {
			k.clients[ev.Client] = &contractClient{}
		}
	case EvClientGone:
		if c := k.clients[ev.Client]; c != nil {
			c.gone = true
		}
	case EvChannelConnected:
		if ch := k.chans[ev.Channel]; ch != nil {
			ch.connected = true
		}
	case EvChannelClosed:
		if ch := k.chans[ev.Channel]; ch != nil {
			ch.closed = true
		}
	}
}

func (k *Contract) action(ev Event, a Action) error {
	if err := fieldsOf(a); err != nil {
		return err
	}
	switch a.Kind {
	case ActDial:
		if k.stopped || ev.Kind == EvShutdown {
			return fmt.Errorf("dial after shutdown")
		}
		if a.Channel != k.lastDial+1 {
			return fmt.Errorf("dial of channel %d after %d: IDs count up from 1", a.Channel, k.lastDial)
		}
		k.lastDial = a.Channel
		k.chans[a.Channel] = &contractChan{}
	case ActWriteChannel, ActCloseChannel, ActPauseChannel, ActResumeChannel:
		return k.channelAction(ev, a)
	case ActWriteClient, ActCloseClient:
		c := k.clients[a.Client]
		switch {
		case c == nil:
			return fmt.Errorf("client %d was never accepted", a.Client)
		case c.gone:
			return fmt.Errorf("client %d is gone", a.Client)
		case c.closed:
			return fmt.Errorf("client %d was closed", a.Client)
		}
		c.closed = a.Kind == ActCloseClient
	}
	return nil
}

func (k *Contract) channelAction(ev Event, a Action) error {
	ch := k.chans[a.Channel]
	switch {
	case ch == nil:
		return fmt.Errorf("channel %d was never dialled", a.Channel)
	case ch.closed && a.Kind == ActCloseChannel && ev.Kind == EvChannelConnected && ev.Channel == a.Channel:
		return nil // a connect that was on its way: closing it is the answer
	case ch.closed:
		return fmt.Errorf("channel %d is closed", a.Channel)
	}
	switch a.Kind {
	case ActWriteChannel:
		if !ch.connected {
			return fmt.Errorf("write to channel %d before it connected", a.Channel)
		}
	case ActPauseChannel, ActResumeChannel:
		if ch.paused == (a.Kind == ActPauseChannel) {
			return fmt.Errorf("channel %d: %v while paused=%v", a.Channel, a.Kind, ch.paused)
		}
		ch.paused = a.Kind == ActPauseChannel
	case ActCloseChannel:
		ch.closed = true
	}
	return nil
}

// fieldsOf checks that a carries the fields its kind uses and no others,
// so a driver never has to guess which one counts.
func fieldsOf(a Action) error {
	var client, channel, data, text bool // the fields the kind uses
	switch a.Kind {
	case ActDial, ActCloseChannel, ActPauseChannel, ActResumeChannel:
		channel = true
	case ActWriteChannel:
		channel, data = true, true
	case ActWriteClient:
		client, data = true, true
	case ActCloseClient:
		client = true
	case ActLog:
		text = true
		if a.Level != LevelDebug && a.Level != LevelInfo && a.Level != LevelWarn && a.Level != LevelError {
			return fmt.Errorf("log level %d is none of debug, info, warn, error", a.Level)
		}
	default:
		return fmt.Errorf("unknown action kind %d", a.Kind)
	}
	switch {
	case client != (a.Client != 0):
		return fmt.Errorf("%v with client=%d", a.Kind, a.Client)
	case channel != (a.Channel != 0):
		return fmt.Errorf("%v with ch=%d", a.Kind, a.Channel)
	case data != (len(a.Data) > 0):
		return fmt.Errorf("%v with %d bytes of data", a.Kind, len(a.Data))
	case text != (a.Text != ""):
		return fmt.Errorf("%v with text %q", a.Kind, a.Text)
	case a.Kind != ActLog && a.Level != 0:
		return fmt.Errorf("%v with a log level", a.Kind)
	case a.Buf != nil && (a.Kind != ActWriteClient || !within(a.Data, a.Buf)):
		return fmt.Errorf("%v with a buffer of %d bytes that does not hold its data", a.Kind, cap(a.Buf))
	}
	return nil
}

// allClosed checks that shutdown left nothing open; it looks in ID order,
// so the same run always names the same client or channel.
func (k *Contract) allClosed() error {
	ids := make([]ClientID, 0, len(k.clients))
	for id := range k.clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if c := k.clients[id]; !c.closed && !c.gone {
			return fmt.Errorf("shutdown left client %d open", id)
		}
	}
	for id := ChannelID(1); id <= k.lastDial; id++ {
		if !k.chans[id].closed {
			return fmt.Errorf("shutdown left channel %d open", id)
		}
	}
	return nil
}

// within tells whether b is a part of buf: the same memory, not a copy.
// Linear in buf's size; the contract runs in tests only.
func within(b, buf []byte) bool {
	if len(b) == 0 {
		return false
	}
	full := buf[:cap(buf)]
	for off := 0; off+len(b) <= len(full); off++ {
		if &full[off] == &b[0] {
			return true
		}
	}
	return false
}
