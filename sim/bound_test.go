package sim

import (
	"bytes"
	"testing"
	"time"

	"liveproxyd/core"
)

// TestClientBoundCoversAHeldBackHeader tells seed 5561's story: a KeepAlive
// client sits just at HighWater when its next answer starts; the first 15
// header bytes arrive alone (held back: a header is checked whole), then a
// full chunk. The core forwards the header and the whole chunk in one
// step: HighWater + 4096 + 15 unread bytes, 2 over the bound the simulator
// used to check (HighWater + 4096).
func TestClientBoundCoversAHeldBackHeader(t *testing.T) {
	const highWater = 7668
	site := core.NewSite(core.Config{Name: "s", Channels: 1, HighWater: highWater})
	now := epoch
	unacked := 0
	step := func(ev core.Event) {
		ev.Now = now
		for _, a := range site.Step(ev) {
			if a.Kind == core.ActWriteClient {
				unacked += len(a.Data)
			}
		}
		if err := site.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	}
	step(core.Event{Kind: core.EvTick})
	step(core.Event{Kind: core.EvChannelConnected, Channel: 1})
	step(core.Event{Kind: core.EvChannelData, Channel: 1, Data: append(core.FormatHeader(200, 2), "1\n"...)})
	step(core.Event{Kind: core.EvClientAccepted, Client: 1})
	query := []byte("GET hosts\nResponseHeader: fixed16\nKeepAlive: on\n\n")
	step(core.Event{Kind: core.EvClientData, Client: 1, Data: query})
	body := bytes.Repeat([]byte("x"), highWater-core.HeaderLen) // the client reaches HighWater exactly
	step(core.Event{Kind: core.EvChannelData, Channel: 1, Data: append(core.FormatHeader(200, int64(len(body))), body...)})
	now = now.Add(time.Millisecond)
	step(core.Event{Kind: core.EvClientData, Client: 1, Data: query})
	next := append(core.FormatHeader(200, 20000), bytes.Repeat([]byte("y"), maxChunk)...)
	step(core.Event{Kind: core.EvChannelData, Channel: 1, Data: next[:core.HeaderLen-1]})
	if unacked != highWater {
		t.Fatalf("%d bytes written before the full chunk, want %d (a header is forwarded only whole)", unacked, highWater)
	}
	step(core.Event{Kind: core.EvChannelData, Channel: 1, Data: next[core.HeaderLen-1 : core.HeaderLen-1+maxChunk]})
	if unacked <= highWater+maxChunk || unacked > clientBound(highWater) {
		t.Fatalf("%d bytes unread: want over HighWater+maxChunk = %d (the story) and at most clientBound = %d",
			unacked, highWater+maxChunk, clientBound(highWater))
	}
}
