// Package core is the pure state machine of one proxied Livestatus site.
//
// A Site consumes Events (each carrying its own Now) and returns Actions. It
// performs no I/O, starts no goroutines, never reads the wall clock and uses
// no randomness, so the same event sequence always yields the same actions.
// The adapters package drives it with real sockets; the sim package drives it
// with a seeded, simulated world.
package core

import "time"

// ClientID names a client connection. The driver assigns it (it accepts the
// connection); it must be unique for the life of a Site.
type ClientID uint64

// ChannelID names an upstream connection. The core assigns it, counting up
// from 1, in the ActDial action.
type ChannelID uint64

// EventKind says what happened.
type EventKind uint8

const (
	// EvTick: time has passed; the driver calls Step with a Tick at
	// NextDeadline (earlier or later ticks are harmless).
	EvTick EventKind = iota + 1
	// EvClientAccepted: a new client connection (Client).
	EvClientAccepted
	// EvClientData: bytes read from a client (Client, Data).
	EvClientData
	// EvClientEOF: the client shut down its write side; it may still read.
	EvClientEOF
	// EvClientGone: the client connection broke (reset, write error). The
	// driver has closed it; the core forgets it and writes nothing more.
	EvClientGone
	// EvClientWritten: N bytes of earlier ActWriteClient data reached the
	// client's socket; drives backpressure.
	EvClientWritten
	// EvChannelConnected: the dial of Channel succeeded.
	EvChannelConnected
	// EvChannelData: bytes read from a channel (Channel, Data).
	EvChannelData
	// EvChannelClosed: a dial failed, or an open channel hit EOF or an error
	// (Err says which). The driver has closed the connection.
	EvChannelClosed
	// EvReconfigure: apply Config (channel count, timeouts).
	EvReconfigure
	// EvShutdown: answer everyone, close everything; the Site is finished.
	EvShutdown
)

// Event is one input to Step. Data is only lent to the core for the Step:
// what the core keeps, it copies. An Action's Data may point into it (the
// bytes of a streamed answer), so the driver writes or copies those before
// it reuses the buffer.
type Event struct {
	Kind    EventKind
	Now     time.Time
	Client  ClientID
	Channel ChannelID
	Data    []byte
	N       int
	Err     string
	Config  *Config
	// Stale (EvChannelData): the driver read these bytes before it carried
	// out the core's latest ActWriteChannel to the channel, so they cannot
	// be the answer to that request (see staleBytes).
	Stale bool
	// Budget is the room left in the daemon's global memory budgets when
	// the event happened (see memory.go); nil means there is none (a lone
	// site, tests), and only the per-site limits apply.
	Budget *Budget
}

// ActionKind says what the driver must do.
type ActionKind uint8

const (
	// ActDial: open a new upstream connection for Channel.
	ActDial ActionKind = iota + 1
	// ActWriteChannel: write Data to Channel.
	ActWriteChannel
	// ActCloseChannel: close Channel; no EvChannelClosed is expected after it
	// (one that was already on its way is ignored).
	ActCloseChannel
	// ActPauseChannel / ActResumeChannel: stop / restart reading Channel
	// (backpressure from a slow client).
	ActPauseChannel
	ActResumeChannel
	// ActWriteClient: write Data to Client, in order; report EvClientWritten.
	ActWriteClient
	// ActCloseClient: close Client once all data written before it is
	// flushed. The core forgets the client; later events for it are ignored.
	ActCloseClient
	// ActLog: a log line (Level, Text) about the site.
	ActLog
)

// Level of an ActLog action.
type Level int8

const (
	LevelDebug Level = -4
	LevelInfo  Level = 0
	LevelWarn  Level = 4
	LevelError Level = 8
)

// Action is one output of Step. Data must not be modified by the driver;
// it may point into the Data of the Event that caused it (see Event).
type Action struct {
	Kind    ActionKind
	Client  ClientID
	Channel ChannelID
	Data    []byte
	// Buf (ActWriteClient only, nil unless the Site has Buffers): the
	// buffer Data lies in, got from the Site's Buffers, which the core
	// lets go of with this action. Once all of Data is written the driver may give Buf back to
	// its pool; the core never touches it again.
	Buf   []byte
	Level Level
	Text  string
}

// Buffers lends the core the buffers it holds whole answers in (see
// Site.SetBuffers): Get returns a slice of length 0 and capacity at least
// n. What it held before does not matter, so a driver may recycle them
// (Action.Buf) and the core stays deterministic.
type Buffers interface {
	Get(n int) []byte
}

// Config is one site's policy. Zero fields take the defaults of the design
// notes and our own (see WithDefaults; docs/design.md §21).
type Config struct {
	Name                string
	Channels            int           // persistent channels to keep open
	ChannelTimeout      time.Duration // max wait for a free channel
	QueryTimeout        time.Duration // max time from dispatch to an answer's last byte (Checkmk's total query timeout)
	ConnectTimeout      time.Duration // max time a dial may take
	ConnectRetry        time.Duration // cool-down of a dead site before redialling
	HeartbeatInterval   time.Duration // one heartbeat this often
	HeartbeatTimeoutMin time.Duration // floor of the heartbeat timeout
	HeartbeatPercent    int           // timeout = max(floor, typical RTT × (1+pct/100))
	MaxQueryBytes       int           // larger queries get 413
	HighWater           int           // unflushed client bytes that pause the channel
	AnswerBuffer        int           // answers up to this size (header included) are held until complete
	QueryReadTimeout    time.Duration // max time from an unfinished query's first byte to its end
	CapacityRetry       time.Duration // how often to try growing a shrunk pool
	Cache               bool          // answer "Cache: reload" queries from earlier answers
	CacheEntries        int           // at most this many cached answers
	CacheBytes          int           // of at most this many bytes in all
}

// Defaults: the design notes' and our own (docs/design.md §21).
const (
	DefaultChannels            = 10
	DefaultChannelTimeout      = 5 * time.Second
	DefaultQueryTimeout        = 120 * time.Second
	DefaultConnectTimeout      = 5 * time.Second
	DefaultConnectRetry        = 4 * time.Second
	DefaultHeartbeatInterval   = 3 * time.Second
	DefaultHeartbeatTimeoutMin = 2 * time.Second
	DefaultHeartbeatPercent    = 50
	DefaultMaxQueryBytes       = 16 << 20
	DefaultHighWater           = 1 << 20
	DefaultCapacityRetry       = 60 * time.Second
	DefaultCacheEntries        = 256
	DefaultCacheBytes          = 32 << 20
	DefaultAnswerBuffer        = 16 << 20

	// DefaultQueryReadTimeout is naemon's own limit for a half-sent
	// query: no client that works with naemon needs longer.
	DefaultQueryReadTimeout = 10 * time.Second
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Channels <= 0 {
		c.Channels = DefaultChannels
	}
	set(&c.ChannelTimeout, DefaultChannelTimeout)
	set(&c.QueryTimeout, DefaultQueryTimeout)
	set(&c.ConnectTimeout, DefaultConnectTimeout)
	set(&c.ConnectRetry, DefaultConnectRetry)
	set(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	set(&c.HeartbeatTimeoutMin, DefaultHeartbeatTimeoutMin)
	set(&c.CapacityRetry, DefaultCapacityRetry)
	set(&c.QueryReadTimeout, DefaultQueryReadTimeout)
	if c.AnswerBuffer <= 0 {
		c.AnswerBuffer = DefaultAnswerBuffer
	}
	if c.HeartbeatPercent <= 0 {
		c.HeartbeatPercent = DefaultHeartbeatPercent
	}
	if c.MaxQueryBytes <= 0 {
		c.MaxQueryBytes = DefaultMaxQueryBytes
	}
	if c.HighWater <= 0 {
		c.HighWater = DefaultHighWater
	}
	if c.CacheEntries <= 0 {
		c.CacheEntries = DefaultCacheEntries
	}
	if c.CacheBytes <= 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	return c
}
