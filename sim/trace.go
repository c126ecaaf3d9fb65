package sim

import (
	"fmt"
	"hash/crc32"
	"strconv"
	"time"

	"liveproxyd/core"
)

// The trace has two uses: a running hash over every event and action
// (two runs of one seed must hash alike), and a ring of the last events,
// kept as plain values and formatted only when a run fails.

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	ringSize  = 50
	ringData  = 40 // bytes of payload kept per ring entry
)

// hashBytes folds payloads in with CRC-32C (done in hardware on amd64),
// since bodies are most of the trace; fields and lengths go through FNV.
func (w *World) hashBytes(b []byte) {
	if len(b) > 0 {
		w.hashUint(uint64(crc32.Update(uint32(w.hash), crcTable, b)))
	}
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func (w *World) hashString(s string) {
	h := w.hash
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	w.hash = h
}

func (w *World) hashUint(v uint64) {
	h := w.hash
	for i := 0; i < 8; i++ {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	w.hash = h
}

// entry is one remembered event; what is a constant string, so recording
// one costs no allocation.
type entry struct {
	at   time.Duration
	site int
	what string
	la   string // label of a
	lb   string // label of b
	a, b uint64
	text string
	data [ringData]byte
	dn   int // payload length (may exceed what is kept)
	reps int // further identical entries folded into this one
}

type ring struct {
	buf [ringSize]entry
	n   int // entries ever written
}

// add appends e, folding it into the previous entry if only the time
// differs, so a storm of identical ticks does not push out the cause.
func (r *ring) add(e entry) {
	if r.n > 0 {
		last := &r.buf[(r.n-1)%ringSize]
		if last.what == e.what && last.site == e.site && last.a == e.a && last.b == e.b &&
			last.text == e.text && last.dn == e.dn && last.data == e.data {
			last.reps++
			return
		}
	}
	r.buf[r.n%ringSize] = e
	r.n++
}

func (r *ring) lines() []string {
	start := max(0, r.n-ringSize)
	out := make([]string, 0, r.n-start)
	for i := start; i < r.n; i++ {
		out = append(out, r.buf[i%ringSize].String())
	}
	return out
}

func (e entry) String() string {
	s := fmt.Sprintf("+%-14v s%d %-22s", e.at, e.site, e.what)
	if e.a != 0 {
		s += fmt.Sprintf(" %s=%d", e.la, e.a)
	}
	if e.b != 0 {
		s += fmt.Sprintf(" %s=%d", e.lb, e.b)
	}
	if e.text != "" {
		s += " " + strconv.Quote(e.text)
	}
	if e.dn > 0 {
		kept := e.data[:min(e.dn, ringData)]
		s += fmt.Sprintf(" n=%d %q", e.dn, kept)
		if e.dn > ringData {
			s += "..."
		}
	}
	if e.reps > 0 {
		s += fmt.Sprintf(" (and %d more like it)", e.reps)
	}
	return s
}

// note records a world event (fault, client start, episode) in ring, hash
// and the optional trace sink.
func (w *World) note(s *siteSim, what string, a, b uint64, data []byte) {
	e := entry{at: w.now, what: what, la: "id", lb: "n", a: a, b: b, dn: len(data)}
	if s != nil {
		e.site = s.idx
	}
	copy(e.data[:], data)
	w.ring.add(e)
	w.hashString(what)
	w.hashUint(uint64(w.now))
	w.hashUint(a)
	w.hashUint(b)
	w.hashBytes(data)
	if w.opts.Trace != nil {
		w.opts.Trace(e.String())
	}
}

var eventNames = map[core.EventKind]string{
	core.EvTick: "ev tick", core.EvClientAccepted: "ev client-accepted", core.EvClientData: "ev client-data",
	core.EvClientEOF: "ev client-eof", core.EvClientGone: "ev client-gone", core.EvClientWritten: "ev client-written",
	core.EvChannelConnected: "ev channel-connected", core.EvChannelData: "ev channel-data",
	core.EvChannelClosed: "ev channel-closed", core.EvReconfigure: "ev reconfigure", core.EvShutdown: "ev shutdown",
}

var actionNames = map[core.ActionKind]string{
	core.ActDial: "act dial", core.ActWriteChannel: "act write-channel", core.ActCloseChannel: "act close-channel",
	core.ActPauseChannel: "act pause-channel", core.ActResumeChannel: "act resume-channel",
	core.ActWriteClient: "act write-client", core.ActCloseClient: "act close-client", core.ActLog: "act log",
}

func (w *World) traceEvent(s *siteSim, ev *core.Event) {
	what, ok := eventNames[ev.Kind]
	if !ok {
		what = "ev ?"
	}
	e := entry{at: w.now, site: s.idx, what: what, la: "client", lb: "chan", a: uint64(ev.Client), b: uint64(ev.Channel), text: ev.Err, dn: len(ev.Data)}
	if ev.Kind == core.EvClientWritten {
		e.dn = 0
		e.text = strconv.Itoa(ev.N)
	}
	copy(e.data[:], ev.Data)
	w.ring.add(e)
	w.hashUint(uint64(ev.Kind))
	w.hashUint(uint64(w.now))
	w.hashUint(uint64(ev.Client)<<32 ^ uint64(ev.Channel))
	w.hashUint(uint64(ev.N))
	w.hashString(ev.Err)
	w.hashBytes(ev.Data)
	if w.opts.Trace != nil {
		w.opts.Trace(e.String())
	}
}

func (w *World) traceAction(s *siteSim, a *core.Action) {
	what, ok := actionNames[a.Kind]
	if !ok {
		what = "act ?"
	}
	e := entry{at: w.now, site: s.idx, what: what, la: "client", lb: "chan", a: uint64(a.Client), b: uint64(a.Channel), text: a.Text, dn: len(a.Data)}
	copy(e.data[:], a.Data)
	w.ring.add(e)
	w.hashUint(uint64(a.Kind) | 0x100)
	w.hashUint(uint64(a.Client)<<32 ^ uint64(a.Channel))
	w.hashUint(uint64(int64(a.Level)))
	w.hashString(a.Text)
	w.hashBytes(a.Data)
	if w.opts.Trace != nil {
		w.opts.Trace(e.String())
	}
}
