package driver

import (
	"net"
	"testing"
	"time"
)

// read is one report of a channel's reader.
type read struct {
	data string
	gen  uint64
}

// chanSink collects what a channel's reader reports.
type chanSink struct{ reads chan read }

func (s chanSink) data(c *conn, b []byte, gen uint64) bool {
	s.reads <- read{string(b), gen} // b is lent: copied
	return true
}
func (s chanSink) end(*conn, error)          {}
func (s chanSink) written(*conn, int)        {}
func (s chanSink) broken(*conn, error)       {}
func (s chanSink) quitting() <-chan struct{} { return nil }
func (s chanSink) draining() <-chan struct{} { return nil }

// next waits (bounded, a hang guard only) for the reader's next report.
func (s chanSink) next(t *testing.T) read {
	t.Helper()
	select {
	case m := <-s.reads:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no message from the reader")
		return read{}
	}
}

// TestReadsAreTaggedWithTheWritesBeforeThem: bytes read before the loop
// writes a request are marked stale when the loop handles them after that
// write; bytes read after it are not.
func TestReadsAreTaggedWithTheWritesBeforeThem(t *testing.T) {
	proxySide, siteSide := net.Pipe()
	defer siteSide.Close()
	c := newConn(proxySide, false, 1)
	defer c.kill()
	sink := chanSink{reads: make(chan read, 4)}
	go c.readLoop(sink)

	c.writes.Add(1) // the first request
	if _, err := siteSide.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	early := sink.next(t)
	if early.gen != 1 || early.gen < c.writes.Load() {
		t.Fatalf("answer read after the first request tagged %d, writes %d", early.gen, c.writes.Load())
	}
	if _, err := siteSide.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	late := sink.next(t)
	c.writes.Add(1) // the loop writes the next request, then handles the read
	if !(late.gen < c.writes.Load()) {
		t.Fatalf("bytes read before the second request tagged %d, writes %d: not stale", late.gen, c.writes.Load())
	}
	if _, err := siteSide.Write([]byte("second answer")); err != nil {
		t.Fatal(err)
	}
	if m := sink.next(t); m.gen < c.writes.Load() {
		t.Fatalf("answer read after the second request tagged %d, writes %d: stale", m.gen, c.writes.Load())
	}
}
