package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
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

// FaultPlan is the trouble one seed's world may see: which fault classes
// are on, and how often or how long each strikes. Each world draws its own
// (swarm testing, as TigerBeetle's simulator draws its options per seed):
// a class is on with probability planOnChance, and every rate is its base
// rate scaled by a random factor. A world spared some kinds of trouble gets
// deeper into the others (long-lived channels, long pipelines, big caches)
// than one where everything strikes all the time. The plan comes from its
// own random stream, so it is a function of the seed alone; the failure
// report prints it.
type FaultPlan struct {
	// On holds the classes this world injects: the drawn ones, minus
	// Options.Disabled. A class that is off never fires.
	On FaultSet

	// DialRefusedChance is the chance that a dial is refused
	// (connect-refused).
	DialRefusedChance float64
	// DialHangChance is the chance that a dial never completes, so that the
	// core's connect timeout must end it (connect-hang).
	DialHangChance float64
	// OneByteChance is the chance that a new channel, or a new client
	// connection, moves its first bytes one at a time (one-byte-io).
	OneByteChance float64
	// ResetChance is the chance that the site resets the connection in the
	// middle of an answer (reset-mid-response).
	ResetChance float64
	// GarbageHeaderChance is the chance that an answer comes with a garbage
	// or short fixed16 header (garbage-header).
	GarbageHeaderChance float64
	// ExtraAnswerChance is the chance that an answer to a client's query
	// comes with an unrequested one next to it (extra-answer).
	ExtraAnswerChance float64
	// Command400Chance is the chance that naemon answers a COMMAND with
	// "400: ..." (command-400).
	Command400Chance float64
	// CapacityChance is the chance that an Icinga-like site starts, or
	// restarts, with fewer workers than the proxy wants channels
	// (capacity-limit).
	CapacityChance float64

	// IdleCloseAfterMax bounds how long naemon lets a channel sit idle
	// before it closes it: 5 s up to this (idle-close).
	IdleCloseAfterMax time.Duration
	// HangDurationMax bounds a site hang: 5 s up to this (site-hang).
	HangDurationMax time.Duration
	// RestartDurationMax bounds how long a restarting site refuses
	// connects: 1 s up to this (site-restart).
	RestartDurationMax time.Duration
	// SlowHeartbeatDurationMax bounds a stretch of heartbeat answers that
	// take about the heartbeat timeout: 15 s up to this (slow-heartbeat).
	SlowHeartbeatDurationMax time.Duration
	// EpisodeQuietMax bounds the quiet time between site-wide episodes
	// (hang, restart, slow heartbeats) beyond the recovery bound: 5 s up
	// to this. The first episode comes 30 s up to 30 s + this into the run.
	EpisodeQuietMax time.Duration
	// ReloadGapMax bounds the time between reloads of the monitoring core:
	// 20 s up to this (site-reload).
	ReloadGapMax time.Duration
	// ReconfigureGapMax bounds the time between reconfigurations of the
	// proxy: 30 s up to this (reconfigure).
	ReconfigureGapMax time.Duration
}

// planStream is the PCG word of the fault plan's draws.
const planStream = 0xbb67ae8584caa73b

// planOnChance is the chance that a fault class is on in a world: high
// enough that the default 500 seeds fire every class many times over.
const planOnChance = 0.8

// Lower bounds of the plan's durations; the plan draws the upper ones.
const (
	idleCloseAfterMin        = 5 * time.Second
	hangDurationMin          = 5 * time.Second
	restartDurationMin       = time.Second
	slowHeartbeatDurationMin = 15 * time.Second
	episodeQuietMin          = 5 * time.Second
	reloadGapMin             = 20 * time.Second
	reconfigureGapMin        = 30 * time.Second
)

// newFaultPlan draws the plan of seed's world. Rates are the base rates
// the simulator ran with before it drew plans, times a factor between a
// quarter and twice (log-uniform); durations and gaps stretch their base
// span by half to one and a half times, and no further, so that every
// episode still ends well before the traffic does.
func newFaultPlan(seed uint64, disabled FaultSet) FaultPlan {
	rng := rand.New(rand.NewPCG(seed, planStream))
	var p FaultPlan
	for f := range NumFaults {
		if rng.Float64() < planOnChance && !disabled.Has(f) {
			p.On = p.On.With(f)
		}
	}
	rate := func(base float64) float64 { return base * math.Exp2(-2+3*rng.Float64()) }
	span := func(lo, base time.Duration) time.Duration {
		return lo + time.Duration(float64(base-lo)*(0.5+rng.Float64()))
	}
	p.DialRefusedChance = rate(0.03)
	p.DialHangChance = rate(0.03)
	p.OneByteChance = rate(0.04)
	p.ResetChance = rate(0.015)
	p.GarbageHeaderChance = rate(0.015)
	p.ExtraAnswerChance = rate(0.01)
	p.Command400Chance = rate(0.4)
	p.CapacityChance = rate(0.4)
	p.IdleCloseAfterMax = span(idleCloseAfterMin, time.Minute)
	p.HangDurationMax = span(hangDurationMin, 40*time.Second)
	p.RestartDurationMax = span(restartDurationMin, 15*time.Second)
	p.SlowHeartbeatDurationMax = span(slowHeartbeatDurationMin, time.Minute)
	p.EpisodeQuietMax = span(episodeQuietMin, time.Minute)
	p.ReloadGapMax = span(reloadGapMin, 2*time.Minute)
	p.ReconfigureGapMax = span(reconfigureGapMin, 150*time.Second)
	return p
}

// chance is the plan's per-occasion chance of f, for the classes that
// strike by chance; 0 for the others.
func (p *FaultPlan) chance(f Fault) float64 {
	switch f {
	case FaultConnectRefused:
		return p.DialRefusedChance
	case FaultConnectHang:
		return p.DialHangChance
	case FaultOneByte:
		return p.OneByteChance
	case FaultReset:
		return p.ResetChance
	case FaultGarbageHeader:
		return p.GarbageHeaderChance
	case FaultExtraAnswer:
		return p.ExtraAnswerChance
	case FaultCommand400:
		return p.Command400Chance
	case FaultCapacity:
		return p.CapacityChance
	}
	return 0
}

// String lists the classes on, each with its rate or span, then those off.
func (p FaultPlan) String() string {
	per := func(x float64, what string) string { return fmt.Sprintf(" %.2f%% per %s", 100*x, what) }
	upTo := func(lo, hi time.Duration) string {
		return fmt.Sprintf(" %v..%v", lo, hi.Round(100*time.Millisecond))
	}
	var on, off []string
	for f := range NumFaults {
		if !p.On.Has(f) {
			off = append(off, f.String())
			continue
		}
		var rate string
		switch f {
		case FaultConnectRefused, FaultConnectHang:
			rate = per(p.chance(f), "dial")
		case FaultOneByte:
			rate = per(p.chance(f), "connection")
		case FaultReset, FaultGarbageHeader, FaultExtraAnswer:
			rate = per(p.chance(f), "answer")
		case FaultCommand400:
			rate = per(p.chance(f), "COMMAND")
		case FaultCapacity:
			rate = per(p.chance(f), "start")
		case FaultIdleClose:
			rate = upTo(idleCloseAfterMin, p.IdleCloseAfterMax) + " idle"
		case FaultSiteHang:
			rate = upTo(hangDurationMin, p.HangDurationMax)
		case FaultRestart:
			rate = upTo(restartDurationMin, p.RestartDurationMax)
		case FaultSlowHeartbeat:
			rate = upTo(slowHeartbeatDurationMin, p.SlowHeartbeatDurationMax)
		case FaultReload:
			rate = " every" + upTo(reloadGapMin, p.ReloadGapMax)
		case FaultReconfigure:
			rate = " every" + upTo(reconfigureGapMin, p.ReconfigureGapMax)
		}
		on = append(on, f.String()+rate)
	}
	if len(off) == 0 {
		off = []string{"none"}
	}
	return fmt.Sprintf("on: %s; episodes quiet for the recovery bound +%s; off: %s",
		strings.Join(on, ", "), upTo(episodeQuietMin, p.EpisodeQuietMax), strings.Join(off, ", "))
}
