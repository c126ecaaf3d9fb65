package driver

import (
	"net"

	"liveproxyd/core"
)

// msgKind says what a connection goroutine saw.
type msgKind uint8

const (
	msgAccept        msgKind = iota + 1 // conn: a new client
	msgDialed                           // id, conn or err: a dial finished
	msgClientData                       // id, data
	msgClientEOF                        // id
	msgClientBroken                     // id, err: read or write error
	msgWritten                          // id, n: bytes reached a client
	msgChannelData                      // id, data
	msgChannelBroken                    // id, err: EOF, read or write error
)

// msg travels from connection goroutines to the site loop, which alone
// turns it into a core.Event (it knows which IDs are still alive).
type msg struct {
	kind msgKind
	id   uint64
	conn net.Conn
	data []byte
	n    int
	err  error
	// gen is the channel's write count when the read returned: a read
	// tagged below the count at the time the loop handles it happened
	// before a request the core has written since, so it cannot answer it.
	gen uint64
}

func dataMsg(client bool, id uint64, data []byte) msg {
	if client {
		return msg{kind: msgClientData, id: id, data: data}
	}
	return msg{kind: msgChannelData, id: id, data: data}
}

// endMsg reports the end of a reader: a client's EOF is a half close (it
// may still read its answer); anything else means the connection is gone.
func endMsg(client bool, id uint64, err error) msg {
	if client && isEOF(err) {
		return msg{kind: msgClientEOF, id: id}
	}
	return brokenMsg(client, id, err)
}

func brokenMsg(client bool, id uint64, err error) msg {
	if client {
		return msg{kind: msgClientBroken, id: id, err: err}
	}
	return msg{kind: msgChannelBroken, id: id, err: err}
}

// channelErr is the text the core gets for a broken channel.
func channelErr(err error) string {
	if isEOF(err) {
		return "connection closed by the site"
	}
	return err.Error()
}

// ctlKind is a request from the supervisor to the site loop.
type ctlKind uint8

const (
	ctlReconfigure ctlKind = iota + 1
	ctlSnapshot
	ctlStop
)

type ctl struct {
	kind   ctlKind
	config core.Config
	snap   chan core.Snapshot
}
