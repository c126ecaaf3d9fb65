package fuzz

import (
	"fmt"
	"testing"
	"time"

	"liveproxyd/core"
	"liveproxyd/core/coretest"
	"liveproxyd/livestatus"
)

// FuzzSite feeds the whole core with arbitrary client and channel bytes.
// The fuzz input is a little program (see the op constants); it runs
// against one Site with small limits, driven by coretest.Env, so every
// step is checked against the driver contract (core.Contract: no action on
// a client or channel that is closed or gone, dials numbered 1, 2, 3...,
// valid fields, a deadline in the future) and the core's own invariants.

// Opcodes: a program byte modulo numOps; its operands follow it.
const (
	opAccept       = iota // a new client
	opClientData          // client, n, n bytes
	opClientQuery         // client, which canned query
	opClientEOF           // client
	opClientGone          // client
	opAck                 // client: all its written bytes flushed
	opConnected           // channel
	opChannelData         // channel, n, n bytes
	opAnswer              // channel, n, n bytes behind a valid fixed16 header
	opChannelDown         // channel
	opTick                // k: k milliseconds pass
	opTickDeadline        // time jumps to NextDeadline
	opReconfigure         // c: 1 + c%3 channels
	opShutdown
	numOps
)

const maxSteps = 400

// cannedQueries are what real clients send, so the fuzzer reaches
// forwarding without having to invent a query first.
var cannedQueries = []string{
	"GET hosts\nColumns: name state\nOutputFormat: python3\nKeepAlive: on\nResponseHeader: fixed16\n\n",
	"GET services\nColumns: host_name description state\nFilter: state > 0\nOutputFormat: json\nResponseHeader: fixed16\n\n",
	"GET status\nColumns: program_start\n\n",
	"COMMAND [1700000000] SCHEDULE_FORCED_HOST_CHECK;h1;1700000000\n\n",
	"GET hosts\nCache: reload\nKeepAlive: on\nResponseHeader: fixed16\n\nGET hosts\nCache: reload\nKeepAlive: on\nResponseHeader: fixed16\n\n",
	"GET hosts\r\nColumns: name\r\nKeepAlive: on\r\n\r\n",
}

type siteRun struct {
	env     *coretest.Env
	clients []core.ClientID
	cfg     core.Config
}

func FuzzSite(f *testing.F) {
	for _, prog := range siteSeeds() {
		f.Add(prog)
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		channels := 2
		if len(prog) > 0 {
			channels = 1 + int(prog[0])%3
		}
		cfg := core.Config{
			Name: "fz", Channels: channels, ChannelTimeout: 50 * time.Millisecond,
			QueryTimeout: 300 * time.Millisecond, ConnectTimeout: 100 * time.Millisecond,
			ConnectRetry: 150 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond,
			HeartbeatTimeoutMin: 40 * time.Millisecond, MaxQueryBytes: 256, HighWater: 64,
			CapacityRetry: 500 * time.Millisecond, Cache: true, CacheEntries: 4, CacheBytes: 1024,
		}
		r := &siteRun{env: coretest.New(t, cfg), cfg: cfg}
		r.env.Tick(0)
		r.run(prog)
	})
}

// run interprets the program; missing operands read as zero.
func (r *siteRun) run(prog []byte) {
	pc := 0
	arg := func() int {
		if pc >= len(prog) {
			return 0
		}
		pc++
		return int(prog[pc-1])
	}
	data := func() []byte {
		end := min(pc+arg(), len(prog))
		d := append([]byte(nil), prog[pc:end]...)
		pc = end
		return d
	}
	client := func() (core.ClientID, bool) {
		if len(r.clients) == 0 {
			return 0, false
		}
		return r.clients[arg()%len(r.clients)], true
	}
	channel := func() (core.ChannelID, bool) {
		chans := r.env.Dialled()
		if len(chans) == 0 {
			return 0, false
		}
		return chans[arg()%len(chans)], true
	}
	for steps := 0; pc < len(prog) && steps < maxSteps; steps++ {
		op := prog[pc] % numOps
		pc++
		var ev core.Event
		switch op {
		case opAccept:
			r.clients = append(r.clients, core.ClientID(len(r.clients)+1))
			ev = core.Event{Kind: core.EvClientAccepted, Client: r.clients[len(r.clients)-1]}
		case opClientData, opClientQuery:
			id, ok := client()
			if !ok {
				continue
			}
			ev = core.Event{Kind: core.EvClientData, Client: id}
			if op == opClientData {
				ev.Data = data()
			} else {
				ev.Data = []byte(cannedQueries[arg()%len(cannedQueries)])
			}
		case opClientEOF, opClientGone, opAck:
			id, ok := client()
			if !ok {
				continue
			}
			if op == opAck {
				r.env.Ack(id) // every byte written so far
				continue
			}
			ev = core.Event{Kind: map[byte]core.EventKind{opClientEOF: core.EvClientEOF, opClientGone: core.EvClientGone}[op], Client: id}
		case opConnected, opChannelData, opAnswer, opChannelDown:
			id, ok := channel()
			if !ok {
				continue
			}
			switch op {
			case opConnected:
				ev = core.Event{Kind: core.EvChannelConnected, Channel: id}
			case opChannelData:
				ev = core.Event{Kind: core.EvChannelData, Channel: id, Data: data()}
			case opAnswer:
				body := data()
				ev = core.Event{Kind: core.EvChannelData, Channel: id, Data: append(livestatus.FormatHeader(200, int64(len(body))), body...)}
			default:
				ev = core.Event{Kind: core.EvChannelClosed, Channel: id, Err: "connection reset by peer"}
			}
		case opTick:
			r.env.Tick(time.Duration(arg()) * time.Millisecond)
			continue
		case opTickDeadline:
			r.env.TickDeadline()
			continue
		case opReconfigure:
			cfg := r.cfg
			cfg.Channels = 1 + arg()%3
			ev = core.Event{Kind: core.EvReconfigure, Config: &cfg}
		case opShutdown:
			ev = core.Event{Kind: core.EvShutdown}
		default:
			panic(fmt.Sprintf("opcode %d", op))
		}
		r.env.Step(ev)
	}
}

// siteSeeds are programs for real situations: a site coming up and serving
// a Checkmk query, pipelining, an Icinga header with a separator, naemon's
// garbage after a COMMAND, a dead site, a query timeout.
func siteSeeds() [][]byte {
	up := []byte{1, opConnected, 0, opConnected, 1,
		opAnswer, 0, 11, '1', '7', '0', '0', '0', '0', '0', '0', '0', '0', '\n',
		opAnswer, 1, 11, '1', '7', '0', '0', '0', '0', '0', '0', '0', '0', '\n',
		opAccept}
	seq := func(parts ...[]byte) []byte {
		var p []byte
		for _, x := range parts {
			p = append(p, x...)
		}
		return p
	}
	icinga := []byte("200          11;h1;0;h2;1;\n")
	return [][]byte{
		seq(up, []byte{opClientQuery, 0, 0, opAnswer, 0, 6, 'h', '1', ';', '0', '\n', '\n', opAck, 0}),
		seq(up, []byte{opClientQuery, 0, 4, opAnswer, 0, 2, '[', ']', opAnswer, 0, 2, '[', ']', opClientEOF, 0}),
		seq(up, []byte{opClientQuery, 0, 1, opChannelData, 0, byte(len(icinga))}, icinga),
		seq(up, []byte{opClientQuery, 0, 3, opChannelData, 0, 21}, []byte("400: Invalid command\n"), []byte{opTickDeadline}),
		{0, opChannelDown, 0, opAccept, opClientQuery, 0, 0, opTickDeadline, opTickDeadline},
		seq(up, []byte{opClientQuery, 0, 0, opTick, 200, opTick, 200, opTickDeadline}),
		seq(up, []byte{opClientData, 0, 9}, []byte("GET hosts"), []byte{opClientEOF, 0}),
	}
}
