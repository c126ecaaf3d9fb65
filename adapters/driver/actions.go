package driver

import (
	"context"
	"log/slog"

	"liveproxyd/core"
)

// handle turns a message from a connection goroutine into a core Event.
// Messages about connections the core has already let go are dropped: the
// core said it would ignore them, and their sockets are closed already.
func (l *Loop) handle(m msg) {
	switch m.kind {
	case msgAccept:
		l.accept(m)
	case msgDialed:
		l.dialed(m)
	case msgClientData, msgClientEOF, msgWritten:
		id := core.ClientID(m.id)
		if _, ok := l.clients[id]; !ok {
			return
		}
		ev := core.Event{Client: id, Data: m.data, N: m.n}
		switch m.kind {
		case msgClientData:
			ev.Kind = core.EvClientData
		case msgClientEOF:
			ev.Kind = core.EvClientEOF
		default:
			ev.Kind = core.EvClientWritten
		}
		l.step(ev)
	case msgClientBroken:
		id := core.ClientID(m.id)
		c, ok := l.clients[id]
		if !ok {
			return
		}
		delete(l.clients, id)
		c.forgotten.Store(true)
		c.kill()
		l.step(core.Event{Kind: core.EvClientGone, Client: id, Err: m.err.Error()})
	case msgChannelData:
		id := core.ChannelID(m.id)
		if c, ok := l.chans[id]; ok {
			l.step(core.Event{Kind: core.EvChannelData, Channel: id, Data: m.data, Stale: m.gen < c.writes.Load()})
		}
	case msgChannelBroken:
		id := core.ChannelID(m.id)
		c, ok := l.chans[id]
		if !ok {
			return
		}
		l.dropChannel(id, c)
		l.step(core.Event{Kind: core.EvChannelClosed, Channel: id, Err: channelErr(m.err)})
	}
}

func (l *Loop) accept(m msg) {
	l.nextID++
	id := l.nextID
	c := newConn(m.conn, true)
	c.stall = l.cfg.QueryTimeout
	l.clients[id] = c
	l.track(c)
	l.open.Add(1)
	go c.readLoop(l, uint64(id))
	go c.writeLoop(l, uint64(id), func() { l.untrack(c); l.open.Done() })
	l.step(core.Event{Kind: core.EvClientAccepted, Client: id})
}

func (l *Loop) dialed(m msg) {
	id := core.ChannelID(m.id)
	c, ok := l.chans[id]
	if !ok || c.nc != nil {
		// The core closed the channel while it was dialling.
		if m.conn != nil {
			m.conn.Close()
		}
		return
	}
	if m.err != nil {
		l.dropChannel(id, c)
		l.step(core.Event{Kind: core.EvChannelClosed, Channel: id, Err: m.err.Error()})
		return
	}
	c.nc = m.conn
	l.track(c)
	go c.readLoop(l, uint64(id))
	go c.writeLoop(l, uint64(id), func() { l.untrack(c) })
	l.step(core.Event{Kind: core.EvChannelConnected, Channel: id})
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
			c.writes.Add(1) // before the push: no answer can be read before this
			c.out.push(a.Data)
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
			c.out.push(a.Data)
		}
	case core.ActCloseClient:
		if c := l.client(a); c != nil {
			delete(l.clients, a.Client)
			c.forgotten.Store(true)
			c.out.finish()
		}
	case core.ActLog:
		l.log.Log(context.Background(), slog.Level(a.Level), a.Text)
	}
}

func (l *Loop) dial(id core.ChannelID) {
	c := newConn(nil, false)
	ctx, cancel := context.WithTimeout(l.ctx, l.cfg.ConnectTimeout)
	c.cancel = cancel
	l.chans[id] = c
	dial := l.opts.Dial
	go func() {
		defer cancel()
		nc, err := dial(ctx)
		if !l.send(msg{kind: msgDialed, id: uint64(id), conn: nc, err: err}) && nc != nil {
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
