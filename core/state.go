package core

// The life cycles of a site, its channels and its clients. Snapshot shows
// the first two; CheckInvariants (invariants.go) states what each implies.

// SiteState is the life cycle of a site.
type SiteState uint8

const (
	SiteStarting SiteState = iota // no heartbeat answered yet
	SiteAlive                     // heartbeats answered
	SiteDead                      // cooling down, then redialling
	SiteStopped                   // after EvShutdown
)

func (s SiteState) String() string {
	switch s {
	case SiteStarting:
		return "starting"
	case SiteAlive:
		return "alive"
	case SiteDead:
		return "dead"
	case SiteStopped:
		return "stopped"
	}
	return "unknown"
}

// ChannelState is the life cycle of one channel.
type ChannelState uint8

const (
	ChanConnecting ChannelState = iota // dial under way
	ChanProbing                        // connected, first heartbeat not yet answered
	ChanFree                           // proven, idle
	ChanBusy                           // carrying a client's query
	ChanHeartbeat                      // carrying a heartbeat
)

func (s ChannelState) String() string {
	switch s {
	case ChanConnecting:
		return "connecting"
	case ChanProbing:
		return "probing"
	case ChanFree:
		return "free"
	case ChanBusy:
		return "busy"
	case ChanHeartbeat:
		return "heartbeat"
	}
	return "unknown"
}

// clientState is the life cycle of one client: a client reads until its
// query is complete, then waits for a channel or goes in flight on one.
type clientState uint8

const (
	clientReading  clientState = iota // no query pending
	clientWaiting                     // query waiting for a free channel
	clientInFlight                    // query on a channel
	// clientRefusing: the query being sent is refused; its input is read
	// past without being kept until the query ends (refusal.go).
	clientRefusing
)
