package sim

import (
	"time"

	"liveproxyd/core"
)

// siteSim is one proxied site: the core under test, the driver around it
// (the part the daemon's adapters play for real), the simulated server and
// the site's clients.
type siteSim struct {
	w           *World
	idx         int
	name        string
	cfg         core.Config // in force now
	cfgs        []cfgAt     // every configuration given, with its time (reconfig.go)
	cfgMax      core.Config // the largest timeouts ever configured, for bounds
	channelsMax int         // the most channels ever configured
	core        Core
	check       invariantChecker // nil when the core cannot check itself
	srv         *server
	contract    *core.Contract // the driver contract, checked after every step

	stopped        bool // EvShutdown was given
	inStep         bool
	tickSet        bool
	tickAt         time.Duration
	tickGen        uint64
	instant        time.Duration // livelock guard: steps at one instant
	stepsAtInstant int

	chans        map[core.ChannelID]*chanConn
	chanIDLast   core.ChannelID
	chansOpen    int
	cls          map[core.ClientID]*client
	clientIDLast core.ClientID
	clientsOpen  int       // clients the core should know: accepted, not closed, not gone
	active       []*client // clients not yet finished, for the audit

	snap         core.Snapshot // after the last step
	seen         seenStats     // what the world saw, for the core's Stats (stats.go)
	states       []stateChange // the core's site state over time, from snapshots
	cutSeenAt    time.Duration // last time the core learnt that the server closed a channel
	hbTimeoutMax time.Duration
	watch        *watch
	hangAt       time.Duration // start of the current hang episode, -1 if none
	episodeEndAt time.Duration // end of the last site-wide fault episode
	rxLastAt     time.Duration // last EvChannelData given

	// The query cache (cache.go): the highest program_start that a
	// heartbeat answer delivered to the core reported, and when; the
	// cached-kind queries sent, by upstream request.
	hbPS     int64
	hbAt     time.Duration
	cachedQs map[string][]*query
}

// queryTimeoutFloor is the least query timeout a site is configured with,
// at the start or by a reconfiguration.
const queryTimeoutFloor = 10 * time.Second

// newSite builds one simulated site with a configuration drawn from the seed.
func newSite(w *World, idx int) *siteSim {
	names := []string{"alpha", "beta", "gamma", "delta"}
	cfg := core.Config{
		Name:                names[idx%len(names)],
		Channels:            w.intn(2, 6),
		ChannelTimeout:      w.between(2*time.Second, 5*time.Second),
		QueryTimeout:        w.between(queryTimeoutFloor, 20*time.Second),
		ConnectTimeout:      w.between(2*time.Second, 4*time.Second),
		ConnectRetry:        w.between(2*time.Second, 6*time.Second),
		HeartbeatInterval:   w.between(time.Second, 5*time.Second),
		HeartbeatTimeoutMin: w.between(time.Second, 3*time.Second),
		HeartbeatPercent:    50,
		MaxQueryBytes:       4096,
		HighWater:           w.intn(4<<10, 16<<10),
		CapacityRetry:       w.between(20*time.Second, 60*time.Second),
		Cache:               w.chance(0.85),
	}
	cfg.CacheEntries, cfg.CacheBytes = drawCache(w)
	cfg.AnswerBuffer = w.budget.answerBuffer()
	s := &siteSim{
		w: w, idx: idx, name: cfg.Name, hangAt: -1, contract: core.NewContract(),
		chans: map[core.ChannelID]*chanConn{}, cls: map[core.ClientID]*client{},
	}
	s.setConfig(cfg)
	s.core = w.opts.NewCore(cfg)
	s.check, _ = s.core.(invariantChecker)
	s.srv = newServer(s, w.chance(0.5))
	s.srv.capacity = s.pickCapacity()
	s.hbTimeoutMax = cfg.HeartbeatTimeoutMin
	return s
}

// pickCapacity: an Icinga-like server may have fewer workers than the
// proxy wants channels.
func (s *siteSim) pickCapacity() int {
	w := s.w
	if s.srv.naemon || s.cfg.Channels < 2 || !w.strikes(FaultCapacity) {
		return 0
	}
	return w.intn(1, s.cfg.Channels-1)
}

// begin starts the site's traffic and fault plan.
func (s *siteSim) begin() {
	w := s.w
	s.scheduleTick()
	s.openWatch("start")
	s.nextArrival()
	s.nextBurst()
	s.nextEpisode(w.between(30*time.Second, 30*time.Second+w.plan.EpisodeQuietMax))
	s.nextReload()
	s.nextReconfigure()
	w.after(time.Second, s.audit)
}

func (s *siteSim) nextArrival() {
	w := s.w
	gap := time.Duration(w.rng.ExpFloat64() * float64(700*time.Millisecond))
	w.after(gap, func() {
		if w.ending {
			return
		}
		s.spawnRandom()
		s.nextArrival()
	})
}

func (s *siteSim) nextBurst() {
	w := s.w
	w.after(w.between(40*time.Second, 120*time.Second), func() {
		if w.ending {
			return
		}
		if !w.opts.DisabledClients.Has(ClientBurst) {
			s.spawnBurst()
		}
		s.nextBurst()
	})
}

// recoveryBound: after a disruption ends, the core may sit out one
// cool-down, one connect, a heartbeat interval and timeout, and a client
// may wait for a channel; five seconds of slack on top.
func (s *siteSim) recoveryBound() time.Duration {
	c := s.cfgMax
	return c.ConnectRetry + c.ConnectTimeout + c.HeartbeatInterval + 2*s.hbTimeoutMax + c.ChannelTimeout + 5*time.Second
}

// detectBound: a hung site must be found dead within one heartbeat
// interval plus the (adaptive) heartbeat timeout, plus a tick of slack.
func (s *siteSim) detectBound() time.Duration {
	return s.cfgMax.HeartbeatInterval + s.hbTimeoutMax + time.Second
}
