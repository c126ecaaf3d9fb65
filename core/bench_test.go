package core_test

// Micro-benchmarks of the core's hot paths, run by `make bench` with
// -benchmem. They use only the public API, as a driver does, and check
// what they measure, so a benchmark of a broken path fails instead of
// timing nothing.

import (
	"testing"
	"time"

	"liveproxyd/core"
	"liveproxyd/livestatus"
)

// statusQuery is what the Checkmk GUI sends for the smallest answer.
const statusQuery = "GET status\nColumns: program_start\nOutputFormat: python3\nKeepAlive: on\nResponseHeader: fixed16\n\n"

var benchEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// aliveSite returns a site whose every channel is connected and proven.
func aliveSite(b *testing.B) *core.Site {
	b.Helper()
	s := core.NewSite(core.Config{Name: "bench", Channels: 4})
	probe := append(livestatus.FormatHeader(200, 11), "1700000000\n"...)
	pending := map[core.ChannelID]int{} // 1 dialled, 2 probed
	feed := func(acts []core.Action) {
		for _, a := range acts {
			switch a.Kind {
			case core.ActDial:
				pending[a.Channel] = 1
			case core.ActWriteChannel:
				pending[a.Channel] = 2
			}
		}
	}
	feed(s.Step(core.Event{Kind: core.EvTick, Now: benchEpoch}))
	for round := 0; round < 10 && len(pending) > 0; round++ {
		for id, st := range pending {
			delete(pending, id)
			ev := core.Event{Kind: core.EvChannelConnected, Now: benchEpoch, Channel: id}
			if st == 2 {
				ev = core.Event{Kind: core.EvChannelData, Now: benchEpoch, Channel: id, Data: append([]byte(nil), probe...)}
			}
			feed(s.Step(ev))
		}
	}
	snap := s.Snapshot()
	if snap.State != core.SiteAlive || len(snap.Channels) != 4 {
		b.Fatalf("site %s with %d channels after start", snap.State, len(snap.Channels))
	}
	for _, ch := range snap.Channels {
		if ch.State != core.ChanFree {
			b.Fatalf("channel %d is %s after start", ch.ID, ch.State)
		}
	}
	return s
}

// BenchmarkForwardedQuery is one query of a KeepAlive fixed16 client
// through the core: three Steps (the query arrives and is forwarded, the
// answer arrives and is passed on, the client's socket took it). The
// driver hands the core fresh slices, as a real one does per read.
func BenchmarkForwardedQuery(b *testing.B) {
	s := aliveSite(b)
	const client = core.ClientID(1)
	s.Step(core.Event{Kind: core.EvClientAccepted, Now: benchEpoch, Client: client})
	query := []byte(statusQuery)
	answer := append(livestatus.FormatHeader(200, 11), "1700000000\n"...)
	b.ReportAllocs()
	for b.Loop() {
		var ch core.ChannelID
		for _, a := range s.Step(core.Event{Kind: core.EvClientData, Now: benchEpoch, Client: client,
			Data: append([]byte(nil), query...)}) {
			if a.Kind == core.ActWriteChannel {
				ch = a.Channel
			}
		}
		if ch == 0 {
			b.Fatal("query not forwarded")
		}
		written := 0
		for _, a := range s.Step(core.Event{Kind: core.EvChannelData, Now: benchEpoch, Channel: ch,
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
		s.Step(core.Event{Kind: core.EvClientWritten, Now: benchEpoch, Client: client, N: written})
	}
}
