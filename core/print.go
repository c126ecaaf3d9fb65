package core

import (
	"fmt"
	"strconv"
	"strings"
)

// The names below are the vocabulary of transcripts and failure messages:
// an event or action prints as one line, its kind first, then only the
// fields its kind uses (see the kinds' doc comments in api.go). Data prints
// as a Go-quoted string, so a fixed16 header shows its real bytes.

var eventNames = [...]string{
	EvTick:             "tick",
	EvClientAccepted:   "client-accepted",
	EvClientData:       "client-data",
	EvClientEOF:        "client-eof",
	EvClientGone:       "client-gone",
	EvClientWritten:    "client-written",
	EvChannelConnected: "channel-connected",
	EvChannelData:      "channel-data",
	EvChannelClosed:    "channel-closed",
	EvReconfigure:      "reconfigure",
	EvShutdown:         "shutdown",
}

var actionNames = [...]string{
	ActDial:          "dial",
	ActWriteChannel:  "write-channel",
	ActCloseChannel:  "close-channel",
	ActPauseChannel:  "pause-channel",
	ActResumeChannel: "resume-channel",
	ActWriteClient:   "write-client",
	ActCloseClient:   "close-client",
	ActLog:           "log",
}

// String returns the kind's transcript name, e.g. "channel-data".
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "event-kind-" + strconv.Itoa(int(k))
}

// String returns the kind's transcript name, e.g. "write-client".
func (k ActionKind) String() string {
	if int(k) < len(actionNames) && actionNames[k] != "" {
		return actionNames[k]
	}
	return "action-kind-" + strconv.Itoa(int(k))
}

// String returns the level as the log names it.
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return "level-" + strconv.Itoa(int(l))
}

// String prints the event without Now (a transcript gives time on its own
// lines), e.g. `channel-data ch=1 "200          11\n1700000000\n"`.
func (ev Event) String() string {
	var b strings.Builder
	b.WriteString(ev.Kind.String())
	if ev.Client != 0 {
		fmt.Fprintf(&b, " client=%d", ev.Client)
	}
	if ev.Channel != 0 {
		fmt.Fprintf(&b, " ch=%d", ev.Channel)
	}
	if ev.N != 0 {
		fmt.Fprintf(&b, " n=%d", ev.N)
	}
	if ev.Err != "" {
		fmt.Fprintf(&b, " err=%q", ev.Err)
	}
	if ev.Stale {
		b.WriteString(" stale")
	}
	if ev.Config != nil {
		fmt.Fprintf(&b, " channels=%d", ev.Config.Channels)
	}
	if ev.Budget != nil {
		fmt.Fprintf(&b, " budget=%+v", *ev.Budget)
	}
	if ev.Data != nil {
		fmt.Fprintf(&b, " %q", ev.Data)
	}
	return b.String()
}

// String prints the action, e.g. `write-client client=1 "502 ..."` or
// `log warn "site s1 is dead: ..."`.
func (a Action) String() string {
	var b strings.Builder
	b.WriteString(a.Kind.String())
	if a.Kind == ActLog {
		fmt.Fprintf(&b, " %s", a.Level)
	}
	if a.Client != 0 {
		fmt.Fprintf(&b, " client=%d", a.Client)
	}
	if a.Channel != 0 {
		fmt.Fprintf(&b, " ch=%d", a.Channel)
	}
	if a.Data != nil {
		fmt.Fprintf(&b, " %q", a.Data)
	}
	if a.Text != "" {
		fmt.Fprintf(&b, " %q", a.Text)
	}
	return b.String()
}
