package core

import (
	"strings"
	"testing"
	"time"
)

// fixedDeadline is a Deadliner that offers one time.
type fixedDeadline time.Time

// The zero time means nothing is scheduled.
func (d fixedDeadline) NextDeadline() (time.Time, bool) { return time.Time(d), !time.Time(d).IsZero() }

// contractStep is one Step as a driver saw it.
type contractStep struct {
	ev   Event
	acts []Action
}

// TestContractCatchesEveryBrokenRule feeds the checker made-up steps that
// break one rule each, after a good start; a checker that lets one pass
// would let a core bug pass every harness.
func TestContractCatchesEveryBrokenRule(t *testing.T) {
	later := fixedDeadline(epoch.Add(time.Second))
	start := []contractStep{
		{Event{Kind: EvTick}, []Action{{Kind: ActDial, Channel: 1}, {Kind: ActDial, Channel: 2}}},
		{Event{Kind: EvChannelConnected, Channel: 1}, []Action{{Kind: ActWriteChannel, Channel: 1, Data: heartbeatQuery}}},
		{Event{Kind: EvClientAccepted, Client: 7}, nil},
	}
	cases := []struct {
		name string
		step contractStep
		want string
	}{
		{"dial out of order", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActDial, Channel: 4}}}, "after 2"},
		{"write before connect", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActWriteChannel, Channel: 2, Data: []byte("x")}}}, "before it connected"},
		{"write to a channel never dialled", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActCloseChannel, Channel: 9}}}, "never dialled"},
		{"write after close", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActCloseChannel, Channel: 1}, {Kind: ActWriteChannel, Channel: 1, Data: []byte("x")}}}, "is closed"},
		{"action after the driver closed it", contractStep{Event{Kind: EvChannelClosed, Channel: 1}, []Action{{Kind: ActCloseChannel, Channel: 1}}}, "is closed"},
		{"resume before pause", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActResumeChannel, Channel: 1}}}, "paused=false"},
		{"client never accepted", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActWriteClient, Client: 8, Data: []byte("x")}}}, "never accepted"},
		{"write after client close", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActCloseClient, Client: 7}, {Kind: ActWriteClient, Client: 7, Data: []byte("x")}}}, "was closed"},
		{"write to a gone client", contractStep{Event{Kind: EvClientGone, Client: 7}, []Action{{Kind: ActWriteClient, Client: 7, Data: []byte("x")}}}, "is gone"},
		{"empty write", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActWriteClient, Client: 7}}}, "0 bytes"},
		{"stray field", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActCloseClient, Client: 7, Channel: 1}}}, "with ch=1"},
		{"log without text", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActLog, Level: LevelWarn}}}, "with text"},
		{"bad log level", contractStep{Event{Kind: EvTick}, []Action{{Kind: ActLog, Level: 3, Text: "x"}}}, "log level 3"},
		{"unknown kind", contractStep{Event{Kind: EvTick}, []Action{{Kind: 99}}}, "unknown action kind"},
		{"shutdown leaves a client open", contractStep{Event{Kind: EvShutdown}, []Action{{Kind: ActCloseChannel, Channel: 1}, {Kind: ActCloseChannel, Channel: 2}}}, "client 7 open"},
		{"shutdown leaves a channel open", contractStep{Event{Kind: EvShutdown}, []Action{{Kind: ActCloseClient, Client: 7}, {Kind: ActCloseChannel, Channel: 1}}}, "channel 2 open"},
		{"dial at shutdown", contractStep{Event{Kind: EvShutdown}, []Action{{Kind: ActDial, Channel: 3}}}, "after shutdown"},
		{"close again for another channel's connect", contractStep{Event{Kind: EvChannelConnected, Channel: 2}, []Action{{Kind: ActCloseChannel, Channel: 1}, {Kind: ActCloseChannel, Channel: 1}}}, "channel 1 is closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := NewContract()
			for _, st := range start {
				st.ev.Now = epoch
				if err := k.Check(st.ev, st.acts, later); err != nil {
					t.Fatalf("good start refused: %v", err)
				}
			}
			tc.step.ev.Now = epoch
			err := k.Check(tc.step.ev, tc.step.acts, later)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestContractNamesTheBrokenAction: the error says which of the step's
// actions broke the rule, counting from 1, so a failing harness points at
// it in the step's trace.
func TestContractNamesTheBrokenAction(t *testing.T) {
	later := fixedDeadline(epoch.Add(time.Second))
	k := NewContract()
	good := []Action{{Kind: ActDial, Channel: 1}, {Kind: ActDial, Channel: 2}}
	if err := k.Check(Event{Kind: EvTick, Now: epoch}, good, later); err != nil {
		t.Fatal(err)
	}
	bad := []Action{{Kind: ActCloseChannel, Channel: 1}, {Kind: ActCloseChannel, Channel: 2}, {Kind: ActCloseChannel, Channel: 2}}
	err := k.Check(Event{Kind: EvTick, Now: epoch}, bad, later)
	if err == nil || !strings.Contains(err.Error(), "step 2 (") || !strings.Contains(err.Error(), "action 3 (") {
		t.Fatalf("got %v, want an error naming step 2, action 3", err)
	}
}

func TestContractWantsADeadlineInTheFuture(t *testing.T) {
	k := NewContract()
	err := k.Check(Event{Kind: EvTick, Now: epoch}, []Action{{Kind: ActDial, Channel: 1}}, fixedDeadline(epoch))
	if err == nil || !strings.Contains(err.Error(), "would spin") {
		t.Fatalf("a deadline at now: got %v", err)
	}
	k = NewContract()
	if err := k.Check(Event{Kind: EvShutdown, Now: epoch}, nil, fixedDeadline(time.Time{})); err != nil {
		t.Fatalf("a stopped site needs no deadline: %v", err)
	}
}

// TestContractAllowsClosingALateConnect: a connect on its way when the
// core closed the channel is answered by closing it again.
func TestContractAllowsClosingALateConnect(t *testing.T) {
	k := NewContract()
	later := fixedDeadline(epoch.Add(time.Second))
	steps := []contractStep{
		{Event{Kind: EvTick, Now: epoch}, []Action{{Kind: ActDial, Channel: 1}}},
		{Event{Kind: EvTick, Now: epoch}, []Action{{Kind: ActCloseChannel, Channel: 1}}},
		{Event{Kind: EvChannelConnected, Channel: 1, Now: epoch}, []Action{{Kind: ActCloseChannel, Channel: 1}}},
	}
	for _, st := range steps {
		d := later
		if st.ev.Kind == EvShutdown {
			d = fixedDeadline(time.Time{}) // a stopped site schedules nothing
		}
		if err := k.Check(st.ev, st.acts, d); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEveryKindHasAName: a kind added without a name would print as a
// number in every transcript and failure message.
func TestEveryKindHasAName(t *testing.T) {
	seen := map[string]bool{}
	for k := EvTick; k <= EvShutdown; k++ {
		name := k.String()
		if strings.HasPrefix(name, "event-kind-") || seen[name] {
			t.Errorf("event kind %d is named %q", k, name)
		}
		seen[name] = true
	}
	for k := ActDial; k <= ActLog; k++ {
		name := k.String()
		if strings.HasPrefix(name, "action-kind-") || seen[name] {
			t.Errorf("action kind %d is named %q", k, name)
		}
		seen[name] = true
	}
	if got := (EventKind(0)).String(); got != "event-kind-0" {
		t.Errorf("the zero event kind prints as %q", got)
	}
	ev := Event{Kind: EvChannelClosed, Channel: 3, Err: "connection refused"}
	if got, want := ev.String(), `channel-closed ch=3 err="connection refused"`; got != want {
		t.Errorf("event prints as %s, want %s", got, want)
	}
	a := Action{Kind: ActLog, Level: LevelWarn, Text: "site s1 is dead"}
	if got, want := a.String(), `log warn "site s1 is dead"`; got != want {
		t.Errorf("action prints as %s, want %s", got, want)
	}
}

// TestContractAcceptsAGoneClientAtShutdown: a client the driver reported
// gone needs no close; one that shutdown closed needs nothing more.
func TestContractAcceptsAGoneClientAtShutdown(t *testing.T) {
	k := NewContract()
	later := fixedDeadline(epoch.Add(time.Second))
	steps := []contractStep{
		{Event{Kind: EvClientAccepted, Client: 1, Now: epoch}, nil},
		{Event{Kind: EvClientAccepted, Client: 2, Now: epoch}, nil},
		{Event{Kind: EvClientGone, Client: 1, Now: epoch}, nil},
		{Event{Kind: EvShutdown, Now: epoch}, []Action{{Kind: ActCloseClient, Client: 2}}},
	}
	for _, st := range steps {
		d := later
		if st.ev.Kind == EvShutdown {
			d = fixedDeadline(time.Time{}) // a stopped site schedules nothing
		}
		if err := k.Check(st.ev, st.acts, d); err != nil {
			t.Fatal(err)
		}
	}
}
