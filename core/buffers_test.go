package core

import (
	"strings"
	"testing"
)

// countingBuffers hands out buffers and remembers them.
type countingBuffers struct{ got [][]byte }

func (b *countingBuffers) Get(n int) []byte {
	buf := make([]byte, 0, n)
	b.got = append(b.got, buf)
	return buf
}

// A held answer is assembled in a buffer from the Site's Buffers, and the
// action that writes it hands that buffer back (Action.Buf) with the data
// inside it, header included or not as the client asked. A cached answer
// stays the cache's: its write carries no Buf, so the driver cannot
// recycle memory the cache still serves from.
func TestHeldAnswerBufferIsLentAndGivenBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		query  string
		cached bool
	}{
		{"fixed16", q16, false},
		{"plain", "GET hosts\n\n", false},
		{"cached", "GET hosts\nCache: reload\nResponseHeader: fixed16\n\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Cache, cfg.CacheBytes = true, 1<<20
			h := newHarness(t, cfg)
			bufs := &countingBuffers{}
			h.s.SetBuffers(bufs)
			h.start(1)
			h.accept(1)
			h.send(1, tc.query)
			resp := answer(200, strings.Repeat("z", 3000))
			acts := h.step(Event{Kind: EvChannelData, Channel: h.busyChannel(1), Data: resp})
			if len(bufs.got) != 1 || cap(bufs.got[0]) < len(resp) {
				t.Fatalf("%d buffers got for one held answer of %d bytes", len(bufs.got), len(resp))
			}
			var w *Action
			for i := range acts {
				if acts[i].Kind == ActWriteClient {
					w = &acts[i]
				}
			}
			if w == nil {
				t.Fatal("no client write")
			}
			switch {
			case tc.cached && w.Buf != nil:
				t.Fatal("a cached answer's write lends its buffer to the driver")
			case !tc.cached && (w.Buf == nil || &w.Buf[:1][0] != &bufs.got[0][:1][0]):
				t.Fatal("the write does not give back the buffer the answer was held in")
			case !tc.cached && !within(w.Data, w.Buf):
				t.Fatal("the data written is not in the buffer given back")
			}
		})
	}
}

// The contract rejects a Buf on any other action, or one that does not
// hold the data.
func TestContractChecksActionBuf(t *testing.T) {
	buf := make([]byte, 10)
	for _, a := range []Action{
		{Kind: ActWriteClient, Client: 1, Data: []byte("abc"), Buf: buf},
		{Kind: ActWriteChannel, Channel: 1, Data: buf[2:5], Buf: buf},
	} {
		if err := fieldsOf(a); err == nil {
			t.Errorf("%v with a foreign or misplaced Buf passed", a.Kind)
		}
	}
	for _, data := range [][]byte{buf[2:5], buf[:1], buf[9:], buf} {
		if err := fieldsOf(Action{Kind: ActWriteClient, Client: 1, Data: data, Buf: buf}); err != nil {
			t.Errorf("a write of %d bytes at the buffer's offset %d: %v", len(data), cap(buf)-cap(data), err)
		}
	}
}
