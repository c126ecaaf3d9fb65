package coretest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"liveproxyd/core"
)

// Transcript runs datadriven transcripts (the way etcd's raft tests its
// Step): each directive is an event, or a few, and its expected output
// is every step it caused, the event on one line and each action indented
// under it:
//
//	t=0s channel-data ch=1 "200          11\n1700000000\n"
//	  log info "site s1 is alive ..."
//
// Data prints Go-quoted, so a fixed16 header shows its real bytes; the
// heartbeat query's bytes print as <heartbeat> (so a transcript's client
// should not send exactly them). Bytes a directive sends are its input:
// one Go-quoted string per line, joined.
//
// Directives:
//
//	site [channels=N] [heartbeat=D] [high-water=N] [answer-buffer=N] [cache]
//	                            a new site, Config() otherwise
//	tick [DURATION]             let DURATION pass (default 0) and tick
//	deadline                    move to the site's next deadline and tick
//	serve                       connect dialling channels, answer heartbeats
//	run DURATION                tick at each deadline and serve until DURATION has passed
//	accept|eof|gone|ack client=N
//	send client=N               input: the client's bytes
//	connect ch=N
//	data ch=N                   input: the site's bytes
//	reply ch=N code=C           input: the body; the fixed16 header is built
//	closed ch=N                 input: the error text
//	reconfigure channels=N
//	shutdown
//	state                       the site's state and channels (no step)
//	stats                       the site's non-zero counters (no step)
type Transcript struct {
	env *Env
	out strings.Builder
}

// Config is the site a transcript starts with unless it says otherwise:
// two channels, heartbeat every 3 s with a 2 s floor, 5 s channel timeout,
// 20 s query timeout, 4 s connect retry.
func Config() core.Config {
	return core.Config{
		Name: "s1", Channels: 2, ChannelTimeout: 5 * time.Second, QueryTimeout: 20 * time.Second,
		ConnectTimeout: 3 * time.Second, ConnectRetry: 4 * time.Second, HeartbeatInterval: 3 * time.Second,
		HeartbeatTimeoutMin: 2 * time.Second, HeartbeatPercent: 50, MaxQueryBytes: 4096, HighWater: 1000,
		CapacityRetry: 60 * time.Second,
	}
}

// Handle runs one directive and returns its output.
func (tr *Transcript) Handle(t *testing.T, d *datadriven.TestData) string {
	t.Helper()
	tr.out.Reset()
	if d.Cmd == "site" {
		tr.site(t, d)
		return "ok"
	}
	if tr.env == nil {
		d.Fatalf(t, "%s before site", d.Cmd)
	}
	e := tr.env
	e.TB = t
	switch d.Cmd {
	case "tick":
		var by time.Duration
		if len(d.CmdArgs) > 0 {
			var err error
			if by, err = time.ParseDuration(d.CmdArgs[0].Key); err != nil {
				d.Fatalf(t, "tick: %v", err)
			}
		}
		e.Tick(by)
	case "deadline":
		e.TickDeadline()
	case "serve":
		e.Serve()
	case "run":
		if len(d.CmdArgs) != 1 {
			d.Fatalf(t, "run DURATION")
		}
		by, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			d.Fatalf(t, "run: %v", err)
		}
		e.Run(by)
	case "accept":
		e.Accept(clientArg(t, d))
	case "eof":
		e.Step(core.Event{Kind: core.EvClientEOF, Client: clientArg(t, d)})
	case "gone":
		e.Step(core.Event{Kind: core.EvClientGone, Client: clientArg(t, d)})
	case "ack":
		e.Ack(clientArg(t, d))
	case "send":
		e.Send(clientArg(t, d), input(t, d))
	case "connect":
		e.Connect(chanArg(t, d))
	case "data":
		e.Data(chanArg(t, d), input(t, d))
	case "reply":
		var code int
		d.ScanArgs(t, "code", &code)
		e.Reply(chanArg(t, d), code, string(input(t, d)))
	case "closed":
		e.Close(chanArg(t, d), string(input(t, d)))
	case "reconfigure":
		cfg := e.Site.Config()
		d.ScanArgs(t, "channels", &cfg.Channels)
		e.Step(core.Event{Kind: core.EvReconfigure, Config: &cfg})
	case "shutdown":
		e.Step(core.Event{Kind: core.EvShutdown})
	case "state":
		return e.String()
	case "stats":
		return stats(e.Site.Snapshot().Stats)
	default:
		d.Fatalf(t, "unknown directive %q", d.Cmd)
	}
	return tr.out.String()
}

func (tr *Transcript) site(t *testing.T, d *datadriven.TestData) {
	cfg := Config()
	for _, arg := range d.CmdArgs {
		switch arg.Key {
		case "channels":
			arg.Scan(t, 0, &cfg.Channels)
		case "high-water":
			arg.Scan(t, 0, &cfg.HighWater)
		case "answer-buffer":
			arg.Scan(t, 0, &cfg.AnswerBuffer)
		case "heartbeat":
			arg.Scan(t, 0, &cfg.HeartbeatInterval)
		case "cache":
			cfg.Cache = true
		default:
			d.Fatalf(t, "site: unknown argument %q", arg.Key)
		}
	}
	tr.env = New(t, cfg)
	tr.env.Trace = tr.trace
}

// trace prints one step.
func (tr *Transcript) trace(ev core.Event, acts []core.Action) {
	fmt.Fprintf(&tr.out, "t=%v %s\n", tr.env.Now.Sub(Epoch), show(ev.String(), ev.Data))
	for _, a := range acts {
		fmt.Fprintf(&tr.out, "  %s\n", show(a.String(), a.Data))
	}
}

// show shortens the heartbeat query, which every transcript would
// otherwise repeat in full.
func show(line string, data []byte) string {
	if string(data) != HeartbeatQuery {
		return line
	}
	return strings.Replace(line, strconv.Quote(HeartbeatQuery), "<heartbeat>", 1)
}

func clientArg(t *testing.T, d *datadriven.TestData) core.ClientID {
	var id uint64
	d.ScanArgs(t, "client", &id)
	return core.ClientID(id)
}

func chanArg(t *testing.T, d *datadriven.TestData) core.ChannelID {
	var id uint64
	d.ScanArgs(t, "ch", &id)
	return core.ChannelID(id)
}

// input joins the directive's input lines, each a Go-quoted string.
func input(t *testing.T, d *datadriven.TestData) []byte {
	var b []byte
	for _, line := range strings.Split(d.Input, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		s, err := strconv.Unquote(line)
		if err != nil {
			d.Fatalf(t, "input line %s: %v", line, err)
		}
		b = append(b, s...)
	}
	return b
}

// stats prints the non-zero counters of st, in a fixed order.
func stats(st core.Stats) string {
	var out []string
	for _, c := range []struct {
		name string
		n    uint64
	}{
		{"queries-ok", st.QueriesOK}, {"queries-dead", st.QueriesDead}, {"queries-busy", st.QueriesBusy},
		{"queries-timeout", st.QueriesTimeout}, {"queries-bad", st.QueriesBad}, {"queries-gone", st.QueriesGone},
		{"commands", st.Commands}, {"heartbeats", st.Heartbeats}, {"heartbeats-lost", st.HeartbeatsLost},
		{"connect-failures", st.ConnectFailures}, {"cache-hits", st.CacheHits}, {"cache-misses", st.CacheMisses},
	} {
		if c.n != 0 {
			out = append(out, fmt.Sprintf("%s=%d", c.name, c.n))
		}
	}
	return strings.Join(out, " ")
}
