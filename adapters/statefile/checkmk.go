package statefile

import (
	"strconv"
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
func Text(f File) []byte { return AppendText(nil, f) }

// AppendText appends Text(f) to dst. It appends instead of formatting with
// fmt because the daemon rewrites this file every StateInterval for every
// site: at a thousand sites the fmt version was a quarter of an idle
// daemon's CPU, and the garbage it left most of the rest.
func AppendText(dst []byte, f File) []byte {
	for _, s := range f.Sites {
		dst = appendSite(dst, s, f.Written)
	}
	return dst
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

func appendSite(b []byte, s Site, now time.Time) []byte {
	b = append(append(append(b, '['), s.Name...), ']')
	b = append(key(b, "State"), checkmkSiteState(s.State)...)
	b = stamp(key(b, "State dump time"), now, now)
	b = stamp(key(b, "Since"), s.Since, now)
	b = key(b, "Last error")
	if s.LastError == "" || s.LastErrorAt == nil {
		b = append(b, "never"...)
	} else {
		b = append(append(stamp(b, *s.LastErrorAt, now), ": "...), oneLine(s.LastError)...)
	}
	if s.TCP != nil {
		b = append(key(b, "TCP listener"), tcpText(*s.TCP)...)
	}
	b = strconv.AppendInt(key(b, "Channels"), int64(len(s.Channels)), 10)
	b = strconv.AppendInt(append(b, " of "...), int64(s.Target), 10)
	for _, ch := range s.Channels {
		// The layout of "%3d - %-14s - client: %-5s - since: %s".
		b = append(b, "\n"+subIndent...)
		b = padLeft(b, strconv.AppendUint(nil, ch.ID, 10), 3)
		b = append(padRight(append(b, " - "...), checkmkChannelState(ch.State), 14), " - client: "...)
		client := "none"
		if ch.Client != 0 {
			client = strconv.FormatUint(ch.Client, 10)
		}
		b = stamp(append(padRight(b, client, 5), " - since: "...), ch.Since, now)
	}
	b = strconv.AppendInt(key(b, "Clients"), int64(s.ClientsReading+s.ClientsWaiting+s.ClientsInFlight), 10)
	b = strconv.AppendInt(subKey(b, "reading query"), int64(s.ClientsReading), 10)
	b = strconv.AppendInt(subKey(b, "waiting for channel"), int64(s.ClientsWaiting), 10)
	b = strconv.AppendInt(subKey(b, "waiting for response"), int64(s.ClientsInFlight), 10)
	b = group(b, "Heartbeat")
	b = strconv.AppendUint(subKey(b, "received"), s.HeartbeatsReceived, 10)
	b = strconv.AppendUint(subKey(b, "lost"), s.Counters.HeartbeatsLost, 10)
	b = append(strconv.AppendFloat(subKey(b, "response time"), s.TypicalRTTMS, 'f', 3, 64), " ms"...)
	b = append(strconv.AppendFloat(subKey(b, "timeout"), s.HeartbeatTimeoutMS, 'f', 0, 64), " ms"...)
	if s.ProgramStart != 0 {
		b = stamp(subKey(b, "program start"), time.Unix(s.ProgramStart, 0), now)
	}
	b = group(b, "Cache")
	b = strconv.AppendInt(subKey(b, "entries"), int64(s.CacheEntries), 10)
	b = strconv.AppendUint(subKey(b, "hits"), s.Counters.CacheHits, 10)
	b = strconv.AppendUint(subKey(b, "misses"), s.Counters.CacheMisses, 10)
	return append(b, "\n\n"...)
}

// key starts a top-level line: the key and its colon, padded to keyWidth.
// Each line starts by ending the one before, so a block ends with one
// newline for its last line and one for the blank line between blocks.
func key(b []byte, name string) []byte {
	return padRight(append(b, "\n  "...), name+":", keyWidth)
}

// subKey starts a line of a group, its value in the same column.
func subKey(b []byte, name string) []byte {
	return padRight(append(b, "\n"+subIndent...), name+":", keyWidth+2-len(subIndent))
}

// group starts a group's heading line ("  Heartbeat:").
func group(b []byte, name string) []byte {
	return append(append(append(b, "\n  "...), name...), ':')
}

// padRight appends s left-aligned in width columns (fmt's %-*s).
func padRight(b []byte, s string, width int) []byte {
	b = append(b, s...)
	for n := len(s); n < width; n++ {
		b = append(b, ' ')
	}
	return b
}

// padLeft appends s right-aligned in width columns (fmt's %*s).
func padLeft(b, s []byte, width int) []byte {
	for n := len(s); n < width; n++ {
		b = append(b, ' ')
	}
	return append(b, s...)
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

// stamp appends t as local wall time with its age, or "-" if unset.
func stamp(b []byte, t, now time.Time) []byte {
	if t.IsZero() {
		return append(b, '-')
	}
	b = t.In(now.Location()).AppendFormat(b, "2006-01-02 15:04:05")
	b = strconv.AppendFloat(append(b, " ("...), now.Sub(t).Seconds(), 'f', 0, 64)
	return append(b, " sec ago)"...)
}

// oneLine keeps a multi-line error (a site's stack trace) on one line, so
// the file stays one key per line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
