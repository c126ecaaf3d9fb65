package relay

import (
	"net"
	"time"
)

// queueChunks bounds what one direction holds in flight: with 32 KB reads
// that is 8 MB, plenty for the benchmarks' bandwidth × delay, and a full
// queue stops the reader, so a slow receiver pushes back on the sender as
// TCP would.
const (
	queueChunks = 256
	readSize    = 32 << 10
)

// chunk is bytes read at one moment, due at the far end at at. eof marks
// the end of the direction (EOF or an error).
type chunk struct {
	at   time.Time
	data []byte
	eof  bool
}

// read moves src's bytes into q, each chunk due delay after it was read,
// and never before notBefore+delay (the modelled end of the handshake).
// It ends after queueing the eof marker, or when stop closes.
func read(src net.Conn, q chan<- chunk, stop <-chan struct{}, delay time.Duration, notBefore time.Time) {
	buf := make([]byte, readSize)
	for {
		n, err := src.Read(buf)
		sent := time.Now()
		if sent.Before(notBefore) {
			sent = notBefore
		}
		if n == 0 && err == nil {
			continue
		}
		// A copy of the exact size: the queue may hold many small chunks.
		c := chunk{at: sent.Add(delay), data: append([]byte(nil), buf[:n]...), eof: err != nil}
		select {
		case q <- c:
		case <-stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// write delivers q's chunks to dst, each at its due time, in order. At
// the eof marker it half-closes dst, so the peer sees the EOF the sender
// sent; a write error cuts both connections.
func (r *Relay) write(dst, src net.Conn, q <-chan chunk) {
	for c := range q {
		if !r.sleepUntil(c.at) {
			return
		}
		if len(c.data) > 0 {
			if _, err := dst.Write(c.data); err != nil {
				dst.Close()
				src.Close()
				return
			}
		}
		if c.eof {
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			} else {
				dst.Close()
			}
			return
		}
	}
}
