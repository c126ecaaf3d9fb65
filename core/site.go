package core

import (
	"fmt"
	"sort"
	"time"

	"liveproxyd/livestatus"
)

// Site is the state machine of one proxied site. It is not safe for
// concurrent use: one driver goroutine owns it.
type Site struct {
	cfg     Config
	buffers Buffers // nil: make
	state   SiteState
	since   time.Time
	now     time.Time
	started bool
	cause   string // why the site is dead

	channels []*channel // ordered by ID, so iteration is deterministic
	nextChan ChannelID
	target   int       // channels to keep; shrinks below cfg.Channels on capacity limits
	peak     int       // the largest cfg.Channels ever in force
	redialAt time.Time // no dial before this (after a failed connect)
	retryAt  time.Time // dead: when the cool-down ends
	growAt   time.Time // shrunk: when to try one channel more
	retries  int       // reconnect attempts since the site died

	clients map[ClientID]*client
	waitQ   []*client // waiting for a channel, first come first served
	flights []*flight // waiting for an identical query's answer (flight.go)

	hbDue        time.Time     // next periodic heartbeat
	rtt          time.Duration // typical heartbeat round trip (EWMA)
	lastRx       time.Time     // last byte from the site on any channel
	programStart int64
	probedFor    time.Time // the due heartbeat the last probe was dialled for
	probeRoom    int       // a probe was answered with this many pool channels open

	cache *queryCache

	// Memory under the global budgets (memory.go).
	budget       *Budget   // room given with the current event; nil: none
	stepUse      MemoryUse // what the site held when the event came
	heldBytes    int64     // room reserved by answers held until complete
	unackedBytes int64     // sum of the clients' unacked bytes
	queryBytes   int64     // sum of the clients' unfinished query bytes
	partialDue   time.Time // when the first unfinished query expires; zero: none

	lastErr   string
	lastErrAt time.Time
	stats     Stats
	out       []Action
}

// NewSite returns the state machine of one site. Its first NextDeadline is
// due at once: the driver ticks it and it starts dialling.
// SetBuffers makes the core take the buffers of held answers from b
// instead of allocating each; nil goes back to allocating.
func (s *Site) SetBuffers(b Buffers) { s.buffers = b }

func NewSite(cfg Config) *Site {
	cfg = cfg.WithDefaults()
	return &Site{cfg: cfg, target: cfg.Channels, peak: cfg.Channels, clients: map[ClientID]*client{},
		cache: newQueryCache(cfg.CacheEntries, cfg.CacheBytes)}
}

// Config returns the configuration in force.
func (s *Site) Config() Config { return s.cfg }

// Step consumes one event and returns the actions it causes. The returned
// slice is reused: it is valid only until the next call of Step.
func (s *Site) Step(ev Event) []Action {
	s.out = s.out[:0]
	if ev.Now.After(s.now) {
		s.now = ev.Now // time never runs backwards inside the core
	}
	s.noteBudget(ev.Budget)
	if s.state == SiteStopped {
		s.stepStopped(ev)
		return s.out
	}
	if !s.started {
		s.started = true
		s.since = s.now
		s.hbDue = s.now
	}
	switch ev.Kind {
	case EvClientAccepted:
		s.clientAccepted(ev.Client)
	case EvClientData:
		s.clientData(ev.Client, ev.Data)
	case EvClientEOF:
		s.clientEOF(ev.Client)
	case EvClientGone:
		s.clientGone(ev.Client)
	case EvClientWritten:
		s.clientWritten(ev.Client, ev.N)
	case EvChannelConnected:
		s.channelConnected(ev.Channel)
	case EvChannelData:
		s.channelData(ev.Channel, ev.Data, ev.Stale)
	case EvChannelClosed:
		s.channelClosed(ev.Channel, ev.Err)
	case EvReconfigure:
		if ev.Config != nil {
			s.reconfigure(*ev.Config)
		}
	case EvShutdown:
		s.shutdown()
		return s.out
	}
	s.advance()
	return s.out
}

// stepStopped closes whatever still shows up after shutdown.
func (s *Site) stepStopped(ev Event) {
	switch ev.Kind {
	case EvClientAccepted:
		s.emit(Action{Kind: ActCloseClient, Client: ev.Client})
	case EvChannelConnected:
		s.emit(Action{Kind: ActCloseChannel, Channel: ev.Channel})
	}
}

func (s *Site) emit(a Action) { s.out = append(s.out, a) }

func (s *Site) logf(level Level, format string, args ...any) {
	s.emit(Action{Kind: ActLog, Level: level, Text: fmt.Sprintf(format, args...)})
}

// siteErr is the text of an error reply: it always names the site.
func (s *Site) siteErr(format string, args ...any) string {
	return "site " + s.cfg.Name + ": " + fmt.Sprintf(format, args...)
}

func (s *Site) setState(st SiteState) {
	if s.state != st {
		s.state, s.since = st, s.now
	}
}

// hbTimeout is the adaptive heartbeat timeout: the configured floor, or the
// typical round trip plus the configured percentage, whichever is larger.
func (s *Site) hbTimeout() time.Duration {
	t := s.rtt + s.rtt*time.Duration(s.cfg.HeartbeatPercent)/100
	if t < s.cfg.HeartbeatTimeoutMin {
		return s.cfg.HeartbeatTimeoutMin
	}
	return t
}

func (s *Site) noteError(msg string) {
	s.lastErr, s.lastErrAt = msg, s.now
}

// markDead closes every channel, answers every waiting and in-flight client
// with 502 and starts the cool-down before the next connect attempt.
func (s *Site) markDead(cause string) {
	if s.state != SiteDead {
		s.logf(LevelWarn, "site %s is dead: %s", s.cfg.Name, cause)
	} else {
		s.logf(LevelDebug, "site %s still dead: %s", s.cfg.Name, cause)
	}
	s.setState(SiteDead)
	s.cause = cause
	s.cache.clear()
	s.noteError(cause)
	text := s.siteErr("site is dead: %s", cause)
	for _, ch := range s.channels {
		s.dropHold(ch)
		if ch.client != nil {
			s.failClient(ch.client, livestatus.CodeBadGateway, text)
		}
		s.emit(Action{Kind: ActCloseChannel, Channel: ch.id})
	}
	s.channels = s.channels[:0]
	waiting := append(s.waitQ, s.flightWaiters()...)
	s.waitQ = nil
	for _, c := range waiting {
		c.state = clientReading // already off the queue
		s.failClient(c, livestatus.CodeBadGateway, text)
	}
	s.retryAt = s.now.Add(s.cfg.ConnectRetry)
	s.redialAt = time.Time{}
	s.probeRoom = 0
	s.target = s.cfg.Channels // capacity is learnt again after a recovery
	s.growAt = time.Time{}
}

func (s *Site) markAlive() {
	if s.state == SiteAlive {
		return
	}
	if s.state == SiteDead {
		s.logf(LevelInfo, "site %s is alive again after %s", s.cfg.Name, s.now.Sub(s.since))
	} else {
		s.logf(LevelInfo, "site %s is alive", s.cfg.Name)
	}
	s.retries = 0
	s.setState(SiteAlive)
	s.cause = ""
	s.hbDue = s.now.Add(s.cfg.HeartbeatInterval)
}

func (s *Site) reconfigure(c Config) {
	c = c.WithDefaults()
	if c.Name == "" {
		c.Name = s.cfg.Name
	}
	if c.Channels != s.cfg.Channels {
		s.logf(LevelInfo, "site %s: channels %d -> %d", c.Name, s.cfg.Channels, c.Channels)
		s.target = c.Channels
	}
	s.cfg = c
	s.resetPartialDue() // QueryReadTimeout may have changed
	s.peak = max(s.peak, c.Channels)
	s.cache.maxEntries, s.cache.maxBytes = c.CacheEntries, c.CacheBytes
	s.cache.clear() // limits or the switch may have changed
	// Surplus channels go now if idle, else when they become free; those
	// on probation first (closeUnproven).
	s.closeUnproven()
	for i := len(s.channels) - 1; i >= 0 && s.poolSize() > s.target; i-- {
		if ch := s.channels[i]; !ch.extra && (ch.state == ChanFree || ch.state == ChanConnecting) {
			s.closeChannel(ch)
		}
	}
}

func (s *Site) shutdown() {
	s.setState(SiteStopped) // first: pipelined queries behind a COMMAND get the error too
	text := s.siteErr("liveproxyd is shutting down")
	ids := make([]ClientID, 0, len(s.clients))
	for id := range s.clients {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		c := s.clients[id]
		if c.state == clientWaiting || c.state == clientInFlight { // not one still sending its query
			s.failClient(c, livestatus.CodeBadGateway, text)
		}
		if s.clients[id] == c { // a COMMAND's client reads on after it
			s.closeClient(c)
		}
	}
	for _, ch := range s.channels {
		s.dropHold(ch)
		s.emit(Action{Kind: ActCloseChannel, Channel: ch.id})
	}
	s.channels, s.waitQ = nil, nil
	s.logf(LevelInfo, "site %s stopped", s.cfg.Name)
}
