package driver

import (
	"context"
	"log/slog"
	"net"

	"liveproxyd/core"
)

// The sink side of the conns: each call takes the site's lock and turns
// what a goroutine saw into a core Event. Reports about connections the
// core has already let go are dropped: the core said it would ignore
// them, and their sockets are closed already.

func (l *Loop) data(c *conn, b []byte, gen uint64) bool {
	return l.enter(func() {
		if c.client {
			if id := core.ClientID(c.id); l.clients[id] == c {
				l.step(core.Event{Kind: core.EvClientData, Client: id, Data: b}, b)
			}
			return
		}
		// A read that returned before the core's latest write to the
		// channel happened before that request left: it cannot answer it.
		if id := core.ChannelID(c.id); l.chans[id] == c {
			l.step(core.Event{Kind: core.EvChannelData, Channel: id, Data: b, Stale: gen < c.writes.Load()}, b)
		}
	})
}

func (l *Loop) end(c *conn, err error) {
	l.enter(func() {
		if c.client && isEOF(err) {
			// A half close: the client may still read its answer.
			if id := core.ClientID(c.id); l.clients[id] == c {
				l.step(core.Event{Kind: core.EvClientEOF, Client: id}, nil)
			}
			return
		}
		l.lost(c, err)
	})
}

func (l *Loop) written(c *conn, n int) {
	l.enter(func() { l.wroteTo(c, n) })
}

func (l *Loop) broken(c *conn, err error) {
	l.enter(func() { l.lost(c, err) })
}

func (l *Loop) quitting() <-chan struct{} { return l.quit }

func (l *Loop) draining() <-chan struct{} { return l.drain }

func (l *Loop) wroteTo(c *conn, n int) {
	if id := core.ClientID(c.id); l.clients[id] == c {
		l.step(core.Event{Kind: core.EvClientWritten, Client: id, N: n}, nil)
	}
}

// lost: a client or channel connection broke (read or write error, or a
// channel's EOF).
func (l *Loop) lost(c *conn, err error) {
	if c.client {
		id := core.ClientID(c.id)
		if l.clients[id] != c {
			return
		}
		delete(l.clients, id)
		c.forgotten.Store(true)
		c.kill()
		l.step(core.Event{Kind: core.EvClientGone, Client: id, Err: err.Error()}, nil)
		return
	}
	id := core.ChannelID(c.id)
	if l.chans[id] != c {
		return
	}
	l.dropChannel(id, c)
	l.step(core.Event{Kind: core.EvChannelClosed, Channel: id, Err: channelErr(err)}, nil)
}

// channelErr is the text the core gets for a broken channel.
func channelErr(err error) string {
	if isEOF(err) {
		return "connection closed by the site"
	}
	return err.Error()
}

// followUp is what a write done inside a Step caused: bytes that reached
// a client (the core's backpressure) or an error. It is stepped after the
// actions of that Step.
type followUp struct {
	c   *conn
	n   int
	err error
}

// runLater steps the follow-ups, including those their own Steps cause.
func (l *Loop) runLater() {
	for i := 0; i < len(l.later); i++ {
		f := l.later[i]
		if f.n > 0 {
			l.wroteTo(f.c, f.n)
		}
		if f.err != nil {
			l.lost(f.c, f.err)
		}
	}
	l.later = l.later[:0]
}

func (l *Loop) accept(nc net.Conn) {
	c := newConn(nc, true, 0)
	l.acceptConn(c)
	go c.readLoop(l)
}

// acceptConn gives a new client to the core; its reads are the caller's
// to start (a reader goroutine, or the poller).
func (l *Loop) acceptConn(c *conn) {
	l.nextID++
	id := l.nextID
	c.id = uint64(id)
	c.stall = l.cfg.QueryTimeout
	c.onDead = func() { l.untrack(c); l.open.Done() }
	l.clients[id] = c
	l.open.Add(1) // before track: a conn tracked after closeAll is killed at once (onDead)
	l.track(c)
	l.step(core.Event{Kind: core.EvClientAccepted, Client: id}, nil)
}

func (l *Loop) dialed(id core.ChannelID, nc net.Conn, err error) {
	c, ok := l.chans[id]
	if !ok || c.nc != nil {
		// The core closed the channel while it was dialling.
		if nc != nil {
			nc.Close()
		}
		return
	}
	if err != nil {
		l.dropChannel(id, c)
		l.step(core.Event{Kind: core.EvChannelClosed, Channel: id, Err: err.Error()}, nil)
		return
	}
	c.setConn(nc)
	c.onDead = func() { l.untrack(c) }
	l.track(c)
	go c.readLoop(l)
	l.step(core.Event{Kind: core.EvChannelConnected, Channel: id}, nil)
}

func (l *Loop) dropChannel(id core.ChannelID, c *conn) {
	delete(l.chans, id)
	c.forgotten.Store(true)
	c.kill()
}

// do carries out one action. An action naming a connection the driver no
// longer has is logged at debug level: it means the core and the driver
// disagree, which the simulator should have caught.
func (l *Loop) do(a core.Action) {
	switch a.Kind {
	case core.ActDial:
		l.dial(a.Channel)
	case core.ActWriteChannel:
		if c := l.channel(a); c != nil {
			c.writes.Add(1) // before the write: no answer can be read before this
			if _, err := c.write(l, a.Data, l.borrowed, nil); err != nil {
				l.later = append(l.later, followUp{c: c, err: err})
			}
		}
	case core.ActCloseChannel:
		if c := l.channel(a); c != nil {
			l.dropChannel(a.Channel, c)
		}
	case core.ActPauseChannel:
		if c := l.channel(a); c != nil {
			c.gate.pause()
		}
	case core.ActResumeChannel:
		if c := l.channel(a); c != nil {
			c.gate.open()
		}
	case core.ActWriteClient:
		if c := l.client(a); c != nil {
			n, err := c.write(l, a.Data, l.borrowed, a.Buf)
			if n > 0 || err != nil {
				l.later = append(l.later, followUp{c: c, n: n, err: err})
			}
		}
	case core.ActCloseClient:
		if c := l.client(a); c != nil {
			delete(l.clients, a.Client)
			c.forgotten.Store(true)
			c.finish(l)
		}
	case core.ActLog:
		l.log.Log(context.Background(), slog.Level(a.Level), a.Text)
	}
}

func (l *Loop) dial(id core.ChannelID) {
	c := newConn(nil, false, uint64(id))
	ctx, cancel := context.WithTimeout(l.ctx, l.cfg.ConnectTimeout)
	c.cancel = cancel
	l.chans[id] = c
	dial := l.opts.Dial
	go func() {
		defer cancel()
		nc, err := dial(ctx)
		if !l.enter(func() { l.dialed(id, nc, err) }) && nc != nil {
			nc.Close()
		}
	}()
}

func (l *Loop) channel(a core.Action) *conn {
	c := l.chans[a.Channel]
	if c == nil {
		l.log.Debug("driver: action for unknown channel", "channel", a.Channel, "action", a.Kind)
	}
	return c
}

func (l *Loop) client(a core.Action) *conn {
	c := l.clients[a.Client]
	if c == nil {
		l.log.Debug("driver: action for unknown client", "client", a.Client, "action", a.Kind)
	}
	return c
}
