package sim

import (
	"fmt"
	"strings"
	"time"

	"liveproxyd/core"
)

// Failure is an invariant violation, with everything needed to understand
// and replay it: which invariant broke, how, the world the seed drew, the
// last events and the replay command.
type Failure struct {
	Seed      uint64
	At        time.Duration
	Invariant Invariant
	Msg       string
	World     string   // the world the seed drew: fault plan, budgets, sites
	Last      []string // the last events before the violation, oldest first
	opts      Options
}

// fail records the first invariant violation; the run stops after it.
func (w *World) fail(inv Invariant, format string, args ...any) {
	if w.err != nil {
		return
	}
	w.err = &Failure{Seed: w.seed, At: w.now, Invariant: inv, Msg: fmt.Sprintf(format, args...),
		World: w.describe(), Last: w.ring.lines(), opts: w.opts}
}

// describe renders what the seed drew: the fault plan, the memory
// budgets, and for each site its server, capacity and configurations.
func (w *World) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "faults: %s\nmemory budget: %s\n", w.plan, w.budget)
	for _, s := range w.sites {
		flavour, capacity := "icinga", "every connection served"
		if s.srv.naemon {
			flavour = "naemon"
		}
		if s.srv.capacity > 0 {
			capacity = fmt.Sprintf("%d workers", s.srv.capacity)
		}
		fmt.Fprintf(&b, "site %s: %s, %s; %s\n", s.name, flavour, capacity, configText(s.cfgs[0].cfg))
		if n := len(s.cfgs) - 1; n > 0 {
			fmt.Fprintf(&b, "  reconfigured %d times, last at +%v: %s\n", n, s.cfgs[n].at, configText(s.cfg))
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// configText renders the fields of a site configuration the world draws.
func configText(c core.Config) string {
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	cache := "off"
	if c.Cache {
		cache = fmt.Sprintf("%d entries, %d bytes", c.CacheEntries, c.CacheBytes)
	}
	return fmt.Sprintf("Channels=%d ChannelTimeout=%v QueryTimeout=%v ConnectTimeout=%v ConnectRetry=%v "+
		"HeartbeatInterval=%v HeartbeatTimeout=%v HighWater=%d AnswerBuffer=%d CapacityRetry=%v Cache=%s",
		c.Channels, ms(c.ChannelTimeout), ms(c.QueryTimeout), ms(c.ConnectTimeout), ms(c.ConnectRetry),
		ms(c.HeartbeatInterval), ms(c.HeartbeatTimeoutMin), c.HighWater, c.AnswerBuffer, ms(c.CapacityRetry), cache)
}

// Replay is the command that reruns exactly this seed (with the test
// flags that give the same Options; a custom NewCore is not expressible).
func (f *Failure) Replay() string {
	cmd := fmt.Sprintf("go test ./sim -run 'TestSeed$' -seed=%d", f.Seed)
	if d := f.opts.Duration; d != 10*time.Minute {
		cmd += fmt.Sprintf(" -simtime=%v", d)
	}
	var off []string
	for i := range NumFaults {
		if f.opts.Disabled.Has(i) {
			off = append(off, i.String())
		}
	}
	for k := range ClientKind(len(clientNames)) {
		if f.opts.DisabledClients.Has(k) {
			off = append(off, k.String())
		}
	}
	if len(off) > 0 {
		cmd += " -disable=" + strings.Join(off, ",")
	}
	return cmd + " -v"
}

// Headline is the failure in one line: seed, time, invariant, class and
// message.
func (f *Failure) Headline() string {
	return fmt.Sprintf("seed %d failed at +%v: %s (%s): %s", f.Seed, f.At, f.Invariant, f.Invariant.Class(), f.Msg)
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\ninvariant %s: %s\n%s\nreplay: %s\nlast %d events:\n",
		f.Headline(), f.Invariant, f.Invariant.What(), f.World, f.Replay(), len(f.Last))
	for _, l := range f.Last {
		b.WriteString("  ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
