package sim

import (
	"fmt"
	"time"

	"liveproxyd/core"
)

// Reconfiguration: at random times the proxy gets a new configuration for
// a site (EvReconfigure), as on SIGHUP with a changed liveproxyd.mk: another
// number of channels, maybe other timeouts, cache limits, cache on or off.
// The checks then judge by the configurations in force: a bound that must
// hold uses the largest value ever configured, a verdict that an error was
// fair the smallest value in force since the query was sent.

// cfgAt is a configuration and the time it took effect.
type cfgAt struct {
	at  time.Duration
	cfg core.Config
}

// drawCache picks small cache limits, so that entries are evicted too.
func drawCache(w *World) (entries, bytes int) {
	return w.intn(2, 16), w.intn(8<<10, 64<<10)
}

// setConfig records cfg as the configuration in force from now.
func (s *siteSim) setConfig(cfg core.Config) {
	s.cfg = cfg
	s.cfgs = append(s.cfgs, cfgAt{at: s.w.now, cfg: cfg})
	s.channelsMax = max(s.channelsMax, cfg.Channels)
	h := &s.cfgMax
	if len(s.cfgs) == 1 {
		*h = cfg
		return
	}
	h.ChannelTimeout = max(h.ChannelTimeout, cfg.ChannelTimeout)
	h.QueryTimeout = max(h.QueryTimeout, cfg.QueryTimeout)
	h.ConnectTimeout = max(h.ConnectTimeout, cfg.ConnectTimeout)
	h.ConnectRetry = max(h.ConnectRetry, cfg.ConnectRetry)
	h.HeartbeatInterval = max(h.HeartbeatInterval, cfg.HeartbeatInterval)
}

// minSince returns the configuration in force at t with the timeouts set to
// the smallest in force at any time since.
func (s *siteSim) minSince(t time.Duration) core.Config {
	out := s.cfg
	for i := len(s.cfgs) - 1; i >= 0; i-- {
		c := s.cfgs[i].cfg
		out.ChannelTimeout = min(out.ChannelTimeout, c.ChannelTimeout)
		out.QueryTimeout = min(out.QueryTimeout, c.QueryTimeout)
		if s.cfgs[i].at <= t {
			break
		}
	}
	return out
}

// isBusyText tells whether text is Checkmk's busy error, word for word,
// naming a channel count configured at some time since t (the core names
// the configured count, not how many channels are open).
func (s *siteSim) isBusyText(t time.Duration, text string) bool {
	for i := len(s.cfgs) - 1; i >= 0; i-- {
		if text == fmt.Sprintf("All %d channels busy, timeout waiting for free channel.\n", s.cfgs[i].cfg.Channels) {
			return true
		}
		if s.cfgs[i].at <= t {
			break
		}
	}
	return false
}

// nextReconfigure plans the next reconfiguration of the site.
func (s *siteSim) nextReconfigure() {
	w := s.w
	w.after(w.between(reconfigureGapMin, w.plan.ReconfigureGapMax), func() {
		if w.ending || s.stopped {
			return
		}
		if w.enabled(FaultReconfigure) {
			s.reconfigure()
		}
		s.nextReconfigure()
	})
}

// reconfigure gives the core a changed configuration.
func (s *siteSim) reconfigure() {
	w := s.w
	cfg := s.cfg
	cfg.Channels = w.intn(1, 6)
	if w.chance(0.5) {
		cfg.ChannelTimeout = w.between(2*time.Second, 5*time.Second)
		cfg.QueryTimeout = w.between(queryTimeoutFloor, 20*time.Second)
	}
	if w.chance(0.3) {
		cfg.Cache = w.chance(0.7)
		cfg.CacheEntries, cfg.CacheBytes = drawCache(w)
	}
	w.fired(s, FaultReconfigure, uint64(cfg.Channels))
	s.setConfig(cfg)
	s.step(core.Event{Kind: core.EvReconfigure, Config: &cfg})
}
