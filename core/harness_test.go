package core

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// harness drives one Site by hand: every step checks the driver contract
// and the invariants and keeps a copy of the actions, so a test can say
// exactly what it expects. It is core/coretest's Env for in-package tests,
// which cannot import coretest (it imports core); both check with Contract.
type harness struct {
	t    *testing.T
	s    *Site
	k    *Contract
	now  time.Time
	acts []Action // of the last step
	out  map[ClientID]*bytes.Buffer
	shut map[ClientID]bool
	up   map[ChannelID]*bytes.Buffer // bytes written upstream
	dial []ChannelID                 // dialled, in order
	gone map[ChannelID]bool          // closed by the core
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testConfig() Config {
	return Config{
		Name: "s1", Channels: 2, ChannelTimeout: 5 * time.Second, QueryTimeout: 20 * time.Second,
		ConnectTimeout: 3 * time.Second, ConnectRetry: 4 * time.Second, HeartbeatInterval: 3 * time.Second,
		HeartbeatTimeoutMin: 2 * time.Second, HeartbeatPercent: 50, MaxQueryBytes: 4096, HighWater: 1000,
		CapacityRetry: 60 * time.Second,
	}
}

func newHarness(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, s: NewSite(cfg), k: NewContract(), now: epoch, out: map[ClientID]*bytes.Buffer{},
		shut: map[ClientID]bool{}, up: map[ChannelID]*bytes.Buffer{}, gone: map[ChannelID]bool{}}
	if d, ok := h.s.NextDeadline(); !ok || d.After(epoch) {
		t.Fatal("a new site must want a tick at once")
	}
	h.tick(0)
	return h
}

func (h *harness) step(ev Event) []Action {
	h.t.Helper()
	ev.Now = h.now
	acts := h.s.Step(ev)
	h.acts = append(h.acts[:0], acts...)
	if err := h.k.Check(ev, h.acts, h.s); err != nil {
		h.t.Fatalf("driver contract: %v", err)
	}
	for _, a := range h.acts {
		switch a.Kind {
		case ActDial:
			h.dial = append(h.dial, a.Channel)
			h.up[a.Channel] = &bytes.Buffer{}
		case ActWriteChannel:
			h.up[a.Channel].Write(a.Data)
		case ActCloseChannel:
			h.gone[a.Channel] = true
		case ActWriteClient:
			h.buf(a.Client).Write(a.Data)
		case ActCloseClient:
			h.shut[a.Client] = true
		}
	}
	if err := h.s.CheckInvariants(); err != nil {
		h.t.Fatalf("invariant after %v: %v", ev.Kind, err)
	}
	return h.acts
}

func (h *harness) buf(c ClientID) *bytes.Buffer {
	if h.out[c] == nil {
		h.out[c] = &bytes.Buffer{}
	}
	return h.out[c]
}

func (h *harness) tick(d time.Duration) { h.now = h.now.Add(d); h.step(Event{Kind: EvTick}) }

// mustDeadline is the site's next deadline, for a test that expects one.
func mustDeadline(t testing.TB, s *Site) time.Time {
	t.Helper()
	d, ok := s.NextDeadline()
	if !ok {
		t.Fatal("no deadline")
	}
	return d
}

// tickTo advances to the site's own next deadline, as a driver does.
func (h *harness) tickTo() {
	h.t.Helper()
	d := mustDeadline(h.t, h.s)
	if d.After(h.now) {
		h.now = d
	}
	h.step(Event{Kind: EvTick})
}

func (h *harness) connect(ch ChannelID) { h.step(Event{Kind: EvChannelConnected, Channel: ch}) }

func (h *harness) reply(ch ChannelID, code int, body string) {
	h.step(Event{Kind: EvChannelData, Channel: ch, Data: append(FormatHeader(code, int64(len(body))), body...)})
}

// takeUp returns and clears what the core wrote on a channel.
func (h *harness) takeUp(ch ChannelID) string {
	s := h.up[ch].String()
	h.up[ch].Reset()
	return s
}

// start connects every dialled channel and answers its probe.
func (h *harness) start(programStart int) {
	h.t.Helper()
	for _, ch := range h.dial {
		if h.gone[ch] {
			continue
		}
		h.connect(ch)
		if got := h.takeUp(ch); got != string(heartbeatQuery) {
			h.t.Fatalf("probe on channel %d = %q", ch, got)
		}
		h.reply(ch, 200, fmt.Sprintf("%d\n", programStart))
	}
	if st := h.s.Snapshot().State; st != SiteAlive {
		h.t.Fatalf("site %s after start", st)
	}
}

func (h *harness) accept(c ClientID) { h.step(Event{Kind: EvClientAccepted, Client: c}) }

func (h *harness) send(c ClientID, data string) {
	h.step(Event{Kind: EvClientData, Client: c, Data: []byte(data)})
}

func (h *harness) busyChannel(c ClientID) ChannelID {
	for _, info := range h.s.Snapshot().Channels {
		if info.Client == c {
			return info.ID
		}
	}
	h.t.Fatalf("client %d has no channel", c)
	return 0
}

func (h *harness) expectOut(c ClientID, want string, closed bool) {
	h.t.Helper()
	if got := h.buf(c).String(); got != want {
		h.t.Fatalf("client %d got %q, want %q", c, got, want)
	}
	if h.shut[c] != closed {
		h.t.Fatalf("client %d closed=%v, want %v", c, h.shut[c], closed)
	}
}

func (h *harness) expectErr(c ClientID, code int, text string) {
	h.t.Helper()
	got := h.buf(c).String()
	if !strings.HasPrefix(got, fmt.Sprintf("%03d ", code)) || !strings.Contains(got, text) || !h.shut[c] {
		h.t.Fatalf("client %d got %q (closed %v), want %d error with %q", c, got, h.shut[c], code, text)
	}
}

func (h *harness) has(kind ActionKind, ch ChannelID) bool {
	for _, a := range h.acts {
		if a.Kind == kind && a.Channel == ch {
			return true
		}
	}
	return false
}

// run lets d pass as a driver would, ticking at each deadline; heartbeats
// are answered at once and new channels connect at once, so only what the
// test holds back (a busy channel's answer) stays silent.
func (h *harness) run(d time.Duration) {
	h.t.Helper()
	end := h.now.Add(d)
	for i := 0; i < 10000; i++ {
		h.serveHeartbeats()
		next, ok := h.s.NextDeadline()
		if !ok || next.After(end) {
			h.now = end
			h.step(Event{Kind: EvTick})
			h.serveHeartbeats()
			return
		}
		if next.After(h.now) {
			h.now = next
		}
		h.step(Event{Kind: EvTick})
	}
	h.t.Fatal("run: too many steps")
}

func (h *harness) serveHeartbeats() {
	for again := true; again; {
		again = false
		for _, info := range h.s.Snapshot().Channels {
			switch {
			case info.State == ChanConnecting:
				h.connect(info.ID)
				again = true
			case (info.State == ChanProbing || info.State == ChanHeartbeat) && h.up[info.ID].String() == string(heartbeatQuery):
				h.takeUp(info.ID)
				h.reply(info.ID, 200, "1\n")
				again = true
			}
		}
	}
}
