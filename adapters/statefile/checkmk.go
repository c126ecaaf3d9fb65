package statefile

import (
	"fmt"
	"strings"
	"time"

	"liveproxyd/core"
)

// keyWidth is the column where values start after a top-level key. Checkmk
// pads its keys the same way, and its integration tests wait for sites by
// counting the exact string "State:" + padding + "ready" in this file
// (docs/checkmk.md, "State file"), so the width is part of the format.
const keyWidth = 25

// subIndent indents the lines of a group (channels, clients, ...) so that
// their values line up with the top-level values.
const subIndent = "     "

// Text renders f in Checkmk's readable form: one block per site, headed
// [SITE], with its state, channels, clients, heartbeat and cache. Times are
// shown with their age relative to f.Written, so the file reads on its own.
func Text(f File) []byte {
	var b strings.Builder
	for _, s := range f.Sites {
		writeSite(&b, s, f.Written)
	}
	return []byte(b.String())
}

// checkmkSiteState names a site state as Checkmk does where the meaning is
// the same: a usable site is "ready" (Checkmk's word for our "alive").
func checkmkSiteState(state string) string {
	if state == core.SiteAlive.String() {
		return "ready"
	}
	return state
}

// checkmkChannelState does the same for channels: an idle proven channel
// is "ready" (our "free").
func checkmkChannelState(state string) string {
	if state == core.ChanFree.String() {
		return "ready"
	}
	return state
}

func writeSite(b *strings.Builder, s Site, now time.Time) {
	group := func(key string) { fmt.Fprintf(b, "  %s:\n", key) }
	line := func(key, format string, args ...any) {
		fmt.Fprintf(b, "  %-*s%s\n", keyWidth, key+":", fmt.Sprintf(format, args...))
	}
	sub := func(key, format string, args ...any) {
		fmt.Fprintf(b, "%s%-*s%s\n", subIndent, keyWidth+2-len(subIndent), key+":", fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(b, "[%s]\n", s.Name)
	line("State", "%s", checkmkSiteState(s.State))
	line("State dump time", "%s", stamp(now, now))
	line("Since", "%s", stamp(s.Since, now))
	if s.LastError == "" || s.LastErrorAt == nil {
		line("Last error", "never")
	} else {
		line("Last error", "%s: %s", stamp(*s.LastErrorAt, now), oneLine(s.LastError))
	}
	if s.TCP != nil {
		line("TCP listener", "%s", tcpText(*s.TCP))
	}
	line("Channels", "%d of %d", len(s.Channels), s.Target)
	for _, ch := range s.Channels {
		client := "none"
		if ch.Client != 0 {
			client = fmt.Sprint(ch.Client)
		}
		fmt.Fprintf(b, "%s%3d - %-14s - client: %-5s - since: %s\n",
			subIndent, ch.ID, checkmkChannelState(ch.State), client, stamp(ch.Since, now))
	}
	line("Clients", "%d", s.ClientsReading+s.ClientsWaiting+s.ClientsInFlight)
	sub("reading query", "%d", s.ClientsReading)
	sub("waiting for channel", "%d", s.ClientsWaiting)
	sub("waiting for response", "%d", s.ClientsInFlight)
	group("Heartbeat")
	sub("received", "%d", s.HeartbeatsReceived)
	sub("lost", "%d", s.Counters.HeartbeatsLost)
	sub("response time", "%.3f ms", s.TypicalRTTMS)
	sub("timeout", "%.0f ms", s.HeartbeatTimeoutMS)
	if s.ProgramStart != 0 {
		sub("program start", "%s", stamp(time.Unix(s.ProgramStart, 0), now))
	}
	group("Cache")
	sub("entries", "%d", s.CacheEntries)
	sub("hits", "%d", s.Counters.CacheHits)
	sub("misses", "%d", s.Counters.CacheMisses)
	b.WriteString("\n")
}

// tcpText is the TCP listener's line: ":6560 (tls)", or with the reason
// it is not served.
func tcpText(l TCPListener) string {
	text := l.Address
	if l.TLS {
		text += " (tls)"
	}
	if l.Error != "" {
		text += " not served: " + oneLine(l.Error)
	}
	return text
}

// stamp shows t as local wall time with its age, or "-" if unset.
func stamp(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s (%.0f sec ago)", t.In(now.Location()).Format("2006-01-02 15:04:05"), now.Sub(t).Seconds())
}

// oneLine keeps a multi-line error (a site's stack trace) on one line, so
// the file stays one key per line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
