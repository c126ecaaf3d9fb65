// Package sim is a deterministic simulator for the liveproxyd core: one
// uint64 seed builds a world of virtual time, an event queue, simulated
// Livestatus servers, simulated clients and a lossy-but-ordered network,
// drives core.Site through it and checks invariants after every step.
// The same seed always gives the same run, so any failure can be replayed.
package sim

import (
	"fmt"
	"strings"
	"time"

	"liveproxyd/core"
)

// ClientKind is a kind of simulated client that is not a fault but may
// still be switched off (slow and vanishing clients are faults).
type ClientKind uint8

const (
	ClientPipelined ClientKind = iota // several queries in one write
	ClientCommand                     // COMMANDs, maybe followed by GETs
	ClientNoSuch                      // GET of an unknown table: the site's own 404
	ClientBadMethod                   // not GET or COMMAND: 400
	ClientHalfLine                    // half a line, then EOF: 451
	ClientOversize                    // over MaxQueryBytes: 413
	ClientBulky                       // big answers
	ClientBurst                       // more slow queries at once than channels
	ClientCached                      // repeated identical "Cache: reload" queries (query cache hits)
	ClientLongPoll                    // WaitTrigger/WaitTimeout queries on every channel: silent by contract
	ClientSmuggle                     // hides requests behind whitespace-only lines, COMMAND lines, bogus headers
	ClientStall                       // big answers on every channel, each reader stopping past a heartbeat interval + timeout
)

var clientNames = [...]string{"pipelined", "command", "nosuch", "bad-method", "half-line", "oversize", "bulky", "burst", "cached", "long-poll", "smuggler", "stalled"}

func (k ClientKind) String() string {
	if int(k) < len(clientNames) {
		return clientNames[k]
	}
	return fmt.Sprintf("client(%d)", uint8(k))
}

// ClientSet is a set of client kinds.
type ClientSet uint16

// Has tells whether k is in the set.
func (s ClientSet) Has(k ClientKind) bool { return s&(1<<k) != 0 }

// With returns the set plus k.
func (s ClientSet) With(k ClientKind) ClientSet { return s | 1<<k }

// ParseDisable reads a comma-separated list of fault classes and client
// kinds (their String names) into the two sets of Options.
func ParseDisable(list string) (FaultSet, ClientSet, error) {
	var fs FaultSet
	var cs ClientSet
next:
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		for f := range NumFaults {
			if f.String() == name {
				fs = fs.With(f)
				continue next
			}
		}
		for k := range ClientKind(len(clientNames)) {
			if k.String() == name {
				cs = cs.With(k)
				continue next
			}
		}
		return 0, 0, fmt.Errorf("no fault class or client kind %q", name)
	}
	return fs, cs, nil
}

// wrap it (for instance to plant a bug and prove the checks catch it).
type Core interface {
	Step(core.Event) []core.Action
	NextDeadline() (time.Time, bool)
	Snapshot() core.Snapshot
}

// invariantChecker is implemented by cores that can check themselves.
type invariantChecker interface{ CheckInvariants() error }

// Options shape a run. The zero value is the default run.
type Options struct {
	// Duration of simulated traffic; 10 minutes when zero. After it the
	// sites are shut down and the world drains.
	Duration time.Duration
	// Sites simulated side by side; 0 lets the seed choose 1 or 2.
	Sites int
	// Disabled fault classes are never injected.
	Disabled FaultSet
	// DisabledClients are replaced by plain clients.
	DisabledClients ClientSet
	// NewCore builds the state machine of one site; core.NewSite when nil.
	NewCore func(core.Config) Core
	// EventsMax guards against a livelock; 20 million when zero.
	EventsMax uint64
	// Trace, when set, receives one line per event and action.
	Trace func(line string)
}

func (o Options) withDefaults() Options {
	if o.Duration <= 0 {
		o.Duration = 10 * time.Minute
	}
	if o.NewCore == nil {
		o.NewCore = func(c core.Config) Core { return core.NewSite(c) }
	}
	if o.EventsMax == 0 {
		o.EventsMax = 20_000_000
	}
	return o
}

// QueryCounts summarise how the simulated clients' queries ended.
type QueryCounts struct {
	Sent      uint64 // queries written completely by clients
	OK        uint64 // own complete response received
	Errors    uint64 // a proxy error reply
	Err502    uint64 // of which: site dead or connection lost
	Err503    uint64 // all channels busy / none ready
	Err504    uint64 // query timeout
	Err4xx    uint64 // the proxy's own refusals: 400, 413, 451
	ErrText   uint64 // plain-text errors (no fixed16), code unknown
	Truncated uint64 // own response cut short, with a recorded cause
	Moot      uint64 // client left or an earlier query's error closed it
	Commands  uint64 // COMMANDs sent
}

// Add adds other into q.
func (q *QueryCounts) Add(o QueryCounts) {
	q.Sent += o.Sent
	q.OK += o.OK
	q.Errors += o.Errors
	q.Err502 += o.Err502
	q.Err503 += o.Err503
	q.Err504 += o.Err504
	q.Err4xx += o.Err4xx
	q.ErrText += o.ErrText
	q.Truncated += o.Truncated
	q.Moot += o.Moot
	q.Commands += o.Commands
}

// CacheCounts summarise the query cache: the core's own counters, and what
// the cached clients checked.
type CacheCounts struct {
	Hits    uint64 // core: "Cache: reload" queries answered from the cache
	Misses  uint64 // core: "Cache: reload" queries forwarded
	Checked uint64 // cached-kind answers received complete and judged
	Behind  uint64 // of which: for an older program_start than the site's (not yet told to the core)
}

// Add adds other into c.
func (c *CacheCounts) Add(o CacheCounts) {
	c.Hits += o.Hits
	c.Misses += o.Misses
	c.Checked += o.Checked
	c.Behind += o.Behind
}

// Result describes a finished run.
type Result struct {
	Seed      uint64
	SimTime   time.Duration // virtual time covered, drain included
	Events    uint64        // world events processed
	Steps     uint64        // core Step calls
	Clients   uint64
	Faults    FaultCounts
	Queries   QueryCounts
	Cache     CacheCounts
	Pauses    uint64 // ActPauseChannel seen (backpressure exercised)
	TraceHash uint64 // FNV-1a over every event and action, for replay checks
}
