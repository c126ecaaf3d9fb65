package core_test

// Micro-benchmarks of the core's hot paths, run by `make bench` with
// -benchmem. They use only the public API, as a driver does, and check
// what they measure, so a benchmark of a broken path fails instead of
// timing nothing.

import (
	"testing"

	"liveproxyd/core"
	"liveproxyd/core/coretest"
)

// statusQuery is what the Checkmk GUI sends for the smallest answer.
const statusQuery = "GET status\nColumns: program_start\nOutputFormat: python3\nKeepAlive: on\nResponseHeader: fixed16\n\n"

// aliveEnv returns a site whose every channel is connected and proven,
// started through coretest.Env so that the start is contract-checked.
func aliveEnv(b *testing.B) *coretest.Env {
	b.Helper()
	env := coretest.New(b, core.Config{Name: "bench", Channels: 4})
	env.Start()
	snap := env.Site.Snapshot()
	if snap.State != core.SiteAlive || len(snap.Channels) != 4 {
		b.Fatalf("site %s with %d channels after start", snap.State, len(snap.Channels))
	}
	for _, ch := range snap.Channels {
		if ch.State != core.ChanFree {
			b.Fatalf("channel %d is %s after start", ch.ID, ch.State)
		}
	}
	return env
}

// BenchmarkForwardedQuery is one query of a KeepAlive fixed16 client
// through the core: three Steps (the query arrives and is forwarded, the
// answer arrives and is passed on, the client's socket took it). The
// driver hands the core fresh slices, as a real one does per read.
//
// The loop steps the Site directly: the contract and invariant checks of
// coretest.Env would cost more than the Steps measured. The loop opens
// and closes nothing, checks what each Step returns, and one more round
// through the Env afterwards checks the state it left.
func BenchmarkForwardedQuery(b *testing.B) {
	env := aliveEnv(b)
	s := env.Site
	const client = core.ClientID(1)
	env.Accept(client)
	query := []byte(statusQuery)
	answer := coretest.Answer(200, "1700000000\n")
	now := env.Now
	b.ReportAllocs()
	for b.Loop() {
		var ch core.ChannelID
		for _, a := range s.Step(core.Event{Kind: core.EvClientData, Now: now, Client: client,
			Data: append([]byte(nil), query...)}) {
			if a.Kind == core.ActWriteChannel {
				ch = a.Channel
			}
		}
		if ch == 0 {
			b.Fatal("query not forwarded")
		}
		written := 0
		for _, a := range s.Step(core.Event{Kind: core.EvChannelData, Now: now, Channel: ch,
			Data: append([]byte(nil), answer...)}) {
			if a.Kind == core.ActWriteClient {
				written += len(a.Data)
			}
			if a.Kind == core.ActCloseClient {
				b.Fatal("KeepAlive client closed")
			}
		}
		if written != len(answer) {
			b.Fatalf("client got %d bytes, want %d", written, len(answer))
		}
		s.Step(core.Event{Kind: core.EvClientWritten, Now: now, Client: client, N: written})
	}
	var ch core.ChannelID // b.Loop has stopped the timer
	for _, a := range env.Send(client, []byte(statusQuery)) {
		if a.Kind == core.ActWriteChannel {
			ch = a.Channel
		}
	}
	env.Reply(ch, 200, "1700000000\n")
	if got := env.Out(client); got != string(answer) {
		b.Fatalf("after the loop the client got %q, want %q", got, answer)
	}
}
