package core

import "time"

// ChannelInfo describes one channel in a Snapshot.
type ChannelInfo struct {
	ID     ChannelID
	State  ChannelState
	Since  time.Time
	Client ClientID // when busy
	Probe  bool     // the extra heartbeat connection outside the pool
}

// Stats are counters since the Site was made.
type Stats struct {
	QueriesOK       uint64 // answered by the site (any status code)
	QueriesDead     uint64 // answered with 502: site dead or connection lost
	QueriesBusy     uint64 // answered with 503: all channels busy
	QueriesTimeout  uint64 // answered with 504: query timeout
	QueriesBad      uint64 // malformed, too large or incomplete: 4xx from the proxy
	QueriesGone     uint64 // client vanished before its answer was complete
	Commands        uint64 // COMMANDs forwarded
	Heartbeats      uint64 // heartbeats answered
	HeartbeatsLost  uint64 // heartbeats timed out
	ConnectFailures uint64
	CacheHits       uint64 // "Cache: reload" queries answered from the cache
	CacheMisses     uint64 // "Cache: reload" queries forwarded
	BytesFromSite   uint64
	BytesToClients  uint64

	// Latency of answered queries (by the site, the cache, or a 5xx of
	// the proxy), from the complete query to the last byte handed to the
	// client: Latency[i] counts those ≤ LatencyBuckets[i], the last slot
	// the rest. Kept here so the core stays free of I/O and callbacks.
	Latency    [len(LatencyBuckets) + 1]uint64
	LatencySum time.Duration
}

// LatencyBuckets are the upper bounds of Stats.Latency: from a status query
// on a UNIX socket to all services of a large site (1.3–2.9 s on Icinga for
// 10 000) and up to the order of the query timeout.
var LatencyBuckets = [...]time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second, 30 * time.Second, 60 * time.Second,
}

func (st *Stats) observe(d time.Duration) {
	i := 0
	for i < len(LatencyBuckets) && d > LatencyBuckets[i] {
		i++
	}
	st.Latency[i]++
	st.LatencySum += d
}

// Snapshot is a read-only view of a Site for state files and metrics.
type Snapshot struct {
	Name             string
	State            SiteState
	Since            time.Time // when State was entered
	Target           int       // channels the site keeps (may shrink below Config.Channels)
	Channels         []ChannelInfo
	ClientsReading   int // connected, no query pending (a refused one still arriving included)
	ClientsWaiting   int // query waiting for a free channel
	ClientsInFlight  int // query on a channel
	TypicalRTT       time.Duration
	HeartbeatTimeout time.Duration
	ProgramStart     int64 // from the last heartbeat, 0 if unknown
	CacheEntries     int   // answers held by the query cache
	LastError        string
	LastErrorAt      time.Time
	Stats            Stats
	// Memory is what the site holds under the global budgets; of its
	// AnswerBytes, HeldAnswerBytes are reserved by answers being held.
	Memory          MemoryUse
	HeldAnswerBytes int64
}

// Snapshot returns a view of the site for state files and metrics.
func (s *Site) Snapshot() Snapshot {
	snap := Snapshot{
		Name: s.cfg.Name, State: s.state, Since: s.since, Target: s.target,
		TypicalRTT: s.rtt, HeartbeatTimeout: s.hbTimeout(), ProgramStart: s.programStart,
		LastError: s.lastErr, LastErrorAt: s.lastErrAt, Stats: s.stats, CacheEntries: s.cache.len(),
		Memory: s.Memory(), HeldAnswerBytes: s.heldBytes,
	}
	snap.Channels = make([]ChannelInfo, 0, len(s.channels))
	for _, ch := range s.channels {
		info := ChannelInfo{ID: ch.id, State: ch.state, Since: ch.since, Probe: ch.extra}
		if ch.client != nil {
			info.Client = ch.client.id
		}
		snap.Channels = append(snap.Channels, info)
	}
	for _, c := range s.clients {
		switch c.state {
		case clientReading, clientRefusing:
			snap.ClientsReading++
		case clientWaiting:
			snap.ClientsWaiting++
		case clientInFlight:
			snap.ClientsInFlight++
		}
	}
	return snap
}
