package sim

import "time"

// chunkMax is the largest piece a pipe delivers at once: one "read" of the
// receiver. The per-client memory bound is HighWater plus one such chunk.
const chunkMax = 4096

// oneByteSpan is how much of each write a one-byte pipe delivers byte by
// byte; the rest goes in ordinary chunks, so a 100 KiB body does not cost
// 100 000 events while headers and short answers are still split everywhere.
const oneByteSpan = 300

// pipe is one direction of a simulated connection. A write is split into
// random chunks, each arriving after the link latency; arrivals never
// overtake each other, so bytes stay in order as on a stream socket.
type pipe struct {
	w       *World
	base    time.Duration // fixed part of the latency
	jitter  time.Duration // random extra latency per chunk
	last    time.Duration // arrival time of the last thing scheduled
	oneByte bool
	closed  bool         // the writer has closed: later writes vanish
	onData  func([]byte) // runs at each chunk's arrival
}

func newPipe(w *World, base, jitter time.Duration, onData func([]byte)) *pipe {
	return &pipe{w: w, base: base, jitter: jitter, onData: onData}
}

// arrival is when something written now reaches the other end.
func (p *pipe) arrival() time.Duration {
	t := p.w.now + p.base
	if p.jitter > 0 {
		t += time.Duration(p.w.rng.Int64N(int64(p.jitter) + 1))
	}
	if t < p.last {
		t = p.last
	}
	p.last = t
	return t
}

// write sends a copy of b.
func (p *pipe) write(b []byte) {
	if !p.closed && len(b) > 0 {
		p.writeOwned(append([]byte(nil), b...))
	}
}

// writeOwned sends b, which the caller gives up. Every chunk is its own
// slice with no spare capacity: the receiver (the core) owns it and may
// append to it.
func (p *pipe) writeOwned(buf []byte) {
	if p.closed || len(buf) == 0 {
		return
	}
	sent := 0
	for sent < len(buf) {
		n := p.chunkLen(sent, len(buf)-sent)
		chunk := buf[sent : sent+n : sent+n]
		sent += n
		p.w.at(p.arrival(), func() { p.onData(chunk) })
	}
}

// chunkLen picks the size of the next chunk of a write with left bytes to
// go, off bytes already sent.
func (p *pipe) chunkLen(off, left int) int {
	if p.oneByte && off < oneByteSpan {
		return 1
	}
	var n int
	switch r := p.w.rng.IntN(10); {
	case r == 0:
		n = p.w.intn(1, 16) // tiny: splits headers and lines anywhere
	case r < 4:
		n = p.w.intn(1, chunkMax)
	default:
		n = chunkMax // a full read, as on a busy stream
	}
	return min(n, left)
}

// then runs fn after everything written so far has arrived.
func (p *pipe) then(fn func()) { p.w.at(p.arrival(), fn) }

// close stops the writer and runs fn (the FIN or RST) after all data.
func (p *pipe) close(fn func()) {
	if p.closed {
		return
	}
	p.closed = true
	p.then(fn)
}

// writeGlued sends buf like writeOwned, but the bytes on either side of
// offset glue arrive in one chunk (one read of the receiver).
func (p *pipe) writeGlued(buf []byte, glue int) {
	if p.closed || len(buf) == 0 {
		return
	}
	sent := 0
	for sent < len(buf) {
		n := p.chunkLen(sent, len(buf)-sent)
		if sent+n == glue && glue < len(buf) {
			n++
		}
		chunk := buf[sent : sent+n : sent+n]
		sent += n
		p.w.at(p.arrival(), func() { p.onData(chunk) })
	}
}
