package core

import (
	"fmt"

	"liveproxyd/livestatus"
)

// CheckInvariants verifies the internal consistency of the site. The
// simulator and the fuzz targets call it after every Step; a non-nil error
// is a bug in the core.
func (s *Site) CheckInvariants() error {
	// IDs strictly increasing in list order also rules out duplicates.
	var prev ChannelID
	heartbeats, probes := 0, 0
	for _, ch := range s.channels {
		if ch.extra {
			probes++
			if probes > 1 || ch.state != ChanConnecting && ch.state != ChanProbing {
				return fmt.Errorf("extra channel %d %s (%d probes): a probe only connects and probes", ch.id, ch.state, probes)
			}
		}
		if ch.id <= prev {
			return fmt.Errorf("channel %d listed twice or out of order", ch.id)
		}
		prev = ch.id
		if ch.id > s.nextChan {
			return fmt.Errorf("channel %d beyond the last ID given out (%d)", ch.id, s.nextChan)
		}
		switch ch.state {
		case ChanBusy:
			if ch.client == nil && !ch.draining {
				return fmt.Errorf("channel %d busy without a client", ch.id)
			}
			if c := ch.client; c != nil && (c.channel != ch || c.state != clientInFlight || s.clients[c.id] != c) {
				return fmt.Errorf("channel %d and client %d disagree about each other", ch.id, c.id)
			}
		case ChanFree:
			if !ch.proven {
				return fmt.Errorf("channel %d free but never proven", ch.id)
			}
			fallthrough
		default:
			if ch.client != nil || ch.draining || ch.paused {
				return fmt.Errorf("channel %d %s but owned by a client", ch.id, ch.state)
			}
		}
		if ch.state == ChanHeartbeat {
			heartbeats++
		}
		if ch.hn > livestatus.HeaderLen || ch.remaining < 0 {
			return fmt.Errorf("channel %d response state out of range", ch.id)
		}
		if (s.state == SiteDead || s.state == SiteStarting) && ch.state != ChanConnecting && ch.state != ChanProbing {
			return fmt.Errorf("channel %d %s while site %s", ch.id, ch.state, s.state)
		}
	}
	if s.state == SiteStopped && (len(s.channels) > 0 || len(s.waitQ) > 0 || len(s.flights) > 0) {
		return fmt.Errorf("stopped site still holds channels or waiting clients")
	}
	if heartbeats > 1 && s.state == SiteAlive {
		// Several are possible only from COMMAND resync probes.
		for _, ch := range s.channels {
			if ch.state == ChanHeartbeat && !ch.proven {
				return fmt.Errorf("channel %d in heartbeat but unproven", ch.id)
			}
		}
	}
	// Surplus channels may stay while in use after a shrink, but none is
	// left idle, and the pool never grows past the largest size asked for.
	free := 0
	for _, ch := range s.channels {
		if ch.state == ChanFree {
			free++
		}
	}
	if free > s.target || s.poolSize() > max(s.target, s.peak) {
		return fmt.Errorf("%d channels (%d free), target %d, largest configured %d", s.poolSize(), free, s.target, s.peak)
	}
	inQ := map[ClientID]bool{}
	for _, c := range s.waitQ {
		if inQ[c.id] || c.state != clientWaiting || s.clients[c.id] != c {
			return fmt.Errorf("client %d queued wrongly", c.id)
		}
		inQ[c.id] = true
	}
	inFlight, err := s.checkFlights(inQ)
	if err != nil {
		return err
	}
	for id, c := range s.clients {
		if c.id != id || c.unacked < 0 {
			return fmt.Errorf("client %d bookkeeping broken", id)
		}
		switch c.state {
		case clientWaiting:
			if !inQ[id] && !inFlight[id] {
				return fmt.Errorf("client %d waiting but not queued", id)
			}
		case clientInFlight:
			if c.channel == nil || c.channel.client != c || s.channel(c.channel.id) != c.channel {
				return fmt.Errorf("client %d in flight without its channel", id)
			}
		case clientReading, clientRefusing:
			if c.channel != nil {
				return fmt.Errorf("client %d reading (or refusing) but holds channel %d", id, c.channel.id)
			}
		}
		if err := checkRefusing(c); err != nil {
			return err
		}
		if c.framer.Buffered() > 2*s.cfg.MaxQueryBytes+1 {
			return fmt.Errorf("client %d buffers %d bytes", id, c.framer.Buffered())
		}
	}
	return s.checkMemory()
}
