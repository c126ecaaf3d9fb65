package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"liveproxyd/livestatus"
)

// failPause slows a client down after a failed query, so a refused
// connect does not turn into a busy loop that starves what is measured.
const failPause = 10 * time.Millisecond

// worker is one client: it owns at most one connection at a time.
type worker struct {
	o   *Options
	id  int
	res *Result
	n   int // queries started, picks the next one of the mix

	mu   sync.Mutex // guards conn against the close on cancellation
	conn net.Conn
	br   *bufio.Reader
	buf  []byte
}

func (w *worker) run(ctx context.Context, take func() bool) {
	// A read blocked on a slow or hung server returns once the run ends.
	stop := context.AfterFunc(ctx, w.closeConn)
	defer stop()
	defer w.closeConn()
	for take() {
		q := w.o.Queries[(w.id+w.n)%len(w.o.Queries)]
		w.n++
		start := time.Now()
		code, err := w.query(ctx, q)
		if err != nil {
			w.closeConn()
			if ctx.Err() != nil {
				w.res.Aborted++
				return
			}
			w.res.fail(err)
			sleepCtx(ctx, failPause)
			continue
		}
		w.res.record(time.Since(start), code)
		// Servers and the proxy close a connection after an error reply;
		// without KeepAlive every query has its own connection anyway.
		if !w.o.KeepAlive || code != 200 {
			w.closeConn()
		}
	}
}

func (w *worker) closeConn() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		w.conn.Close()
		w.conn, w.br = nil, nil
	}
}

// connect returns the open connection or dials a new one.
func (w *worker) connect(ctx context.Context) (net.Conn, *bufio.Reader, error) {
	w.mu.Lock()
	c, br := w.conn, w.br
	w.mu.Unlock()
	if c != nil {
		return c, br, nil
	}
	c, err := w.o.Target.Dial(w.o.Timeout)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	br = bufio.NewReaderSize(c, 64<<10)
	w.mu.Lock()
	defer w.mu.Unlock()
	if ctx.Err() != nil { // cancelled while dialling: AfterFunc has run
		c.Close()
		return nil, nil, ctx.Err()
	}
	w.conn, w.br = c, br
	return c, br, nil
}

// query sends one request and reads its whole fixed16 answer.
func (w *worker) query(ctx context.Context, q string) (int, error) {
	c, br, err := w.connect(ctx)
	if err != nil {
		return 0, err
	}
	if err := c.SetDeadline(time.Now().Add(w.o.Timeout)); err != nil {
		return 0, err
	}
	if _, err := c.Write(request(q, w.o.KeepAlive)); err != nil {
		return 0, fmt.Errorf("send: %w", err)
	}
	var hdr [livestatus.HeaderLen]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, fmt.Errorf("fixed16 header: %w", err)
	}
	w.res.Bytes += livestatus.HeaderLen
	h, err := livestatus.ParseHeader(hdr[:])
	if err != nil {
		return 0, err
	}
	if err := w.readBody(ctx, br, h.Length); err != nil {
		return 0, fmt.Errorf("body of %d bytes (code %d): %w", h.Length, h.Code, err)
	}
	return h.Code, nil
}

// readBody discards length bytes, at most ReadRate bytes per second.
func (w *worker) readBody(ctx context.Context, br *bufio.Reader, length int64) error {
	if w.o.ReadRate <= 0 {
		n, err := io.CopyN(io.Discard, br, length)
		w.res.Bytes += n
		return err
	}
	if w.buf == nil {
		w.buf = make([]byte, 32<<10)
	}
	start := time.Now()
	var got int64
	for got < length {
		chunk := min(int64(len(w.buf)), length-got)
		n, err := io.ReadFull(br, w.buf[:chunk])
		got += int64(n)
		w.res.Bytes += int64(n)
		if err != nil {
			return err
		}
		due := start.Add(time.Duration(float64(got) / float64(w.o.ReadRate) * float64(time.Second)))
		if !sleepCtx(ctx, time.Until(due)) {
			return ctx.Err()
		}
	}
	return nil
}

// sleepCtx sleeps for d unless ctx ends first; false if it did.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
