package sim

import (
	"fmt"
	"strings"
)

// Fault is one class of misbehaviour the world can inject. Each is counted
// when it fires (FaultCounts), and Options.Disabled switches classes off.
type Fault uint8

const (
	FaultConnectRefused     Fault = iota // a dial is refused
	FaultConnectHang                     // a dial never completes
	FaultSiteHang                        // the server accepts but answers nothing
	FaultReset                           // connection reset in the middle of a response
	FaultOneByte                         // a connection moves its bytes one at a time
	FaultSlowHeartbeat                   // status answers delayed around the heartbeat timeout
	FaultGarbageHeader                   // a response with a garbage or short fixed16 header
	FaultIdleClose                       // the server closes an idle channel (naemon)
	FaultCapacity                        // only the first K connections are served (Icinga)
	FaultCommand400                      // "400: ..." written after a COMMAND (naemon)
	FaultClientGoneQuery                 // a client disconnects in the middle of its query
	FaultClientGoneResponse              // a client disconnects in the middle of its answer
	FaultSlowClient                      // a client reads slowly (backpressure)
	FaultRestart                         // the monitoring core restarts: resets, refusals, new program_start
	FaultReload                          // the monitoring core reloads: new program_start, connections kept
	FaultReconfigure                     // the proxy is reconfigured (EvReconfigure): channels, timeouts, cache
	FaultExtraAnswer                     // an unrequested answer next to a real one (a late answer to an earlier request)
	NumFaults
)

var faultNames = [NumFaults]string{
	"connect-refused", "connect-hang", "site-hang", "reset-mid-response", "one-byte-io",
	"slow-heartbeat", "garbage-header", "idle-close", "capacity-limit", "command-400",
	"client-gone-query", "client-gone-response", "slow-client", "site-restart", "site-reload",
	"reconfigure", "extra-answer",
}

func (f Fault) String() string {
	if f < NumFaults {
		return faultNames[f]
	}
	return fmt.Sprintf("fault(%d)", uint8(f))
}

// FaultSet is a set of fault classes.
type FaultSet uint32

// Has tells whether f is in the set.
func (s FaultSet) Has(f Fault) bool { return s&(1<<f) != 0 }

// With returns the set plus f.
func (s FaultSet) With(f Fault) FaultSet { return s | 1<<f }

// FaultCounts counts how often each fault class fired.
type FaultCounts [NumFaults]uint64

// Add adds other into c.
func (c *FaultCounts) Add(other FaultCounts) {
	for i := range c {
		c[i] += other[i]
	}
}

func (c FaultCounts) String() string {
	var b strings.Builder
	for i, n := range c {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", Fault(i), n)
	}
	return b.String()
}

// Core is what the simulator drives; *core.Site implements it. A test may
