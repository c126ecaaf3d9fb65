// Package statefile writes the daemon's state twice: Checkmk's readable
// text file ROOT/var/log/liveproxyd.state (what Checkmk's tooling and its
// integration tests read, see checkmk.go), and a JSON dump at
// ROOT/tmp/run/liveproxyd.status.json that `liveproxyd status` and
// scripts parse. Both are replaced by a rename, never rewritten in place.
package statefile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"liveproxyd/core"
)

// Path is the JSON status dump that Read parses, relative to the site
// root. It lives in tmp/run (OMD's tmpfs, like the sockets and the pid
// file) because it is runtime state that means nothing after a reboot.
const Path = "tmp/run/liveproxyd.status.json"

// CheckmkPath is Checkmk's readable state file, relative to the site root.
const CheckmkPath = "var/log/liveproxyd.state"

// File is the whole state dump.
type File struct {
	Written time.Time `json:"written"`
	PID     int       `json:"pid"`
	Sites   []Site    `json:"sites"`
}

// Site is one site's state. Durations are in milliseconds so the file
// reads well without Go's duration syntax.
type Site struct {
	Name               string     `json:"name"`
	State              string     `json:"state"`
	Since              time.Time  `json:"since"`
	Target             int        `json:"target_channels"`
	Channels           []Channel  `json:"channels"`
	ClientsReading     int        `json:"clients_reading"`
	ClientsWaiting     int        `json:"clients_waiting"`
	ClientsInFlight    int        `json:"clients_in_flight"`
	HeartbeatsReceived uint64     `json:"heartbeats_received"`
	TypicalRTTMS       float64    `json:"typical_rtt_ms"`
	HeartbeatTimeoutMS float64    `json:"heartbeat_timeout_ms"`
	ProgramStart       int64      `json:"program_start,omitempty"`
	CacheEntries       int        `json:"cache_entries"`
	LastError          string     `json:"last_error,omitempty"`
	LastErrorAt        *time.Time `json:"last_error_at,omitempty"`
	// TCP is the site's TCP listener (its `tcp` key); nil without one.
	TCP      *TCPListener `json:"tcp_listener,omitempty"`
	Counters Counters     `json:"counters"`
}

// TCPListener is a site's TCP port: where it listens, whether with TLS,
// and, when it is not served, why (port in use, missing certificate, the
// site not running).
type TCPListener struct {
	Address string `json:"address"` // ":6560": every address, port 6560
	TLS     bool   `json:"tls"`
	Error   string `json:"error,omitempty"` // empty: served
}

// Channel is one upstream connection.
type Channel struct {
	ID     uint64    `json:"id"`
	State  string    `json:"state"`
	Since  time.Time `json:"since"`
	Client uint64    `json:"client,omitempty"`
}

// Counters mirror core.Stats. They are copied field by field (not by a
// type conversion) so that new core counters do not break the file format.
type Counters struct {
	QueriesOK       uint64 `json:"queries_ok"`
	QueriesDead     uint64 `json:"queries_dead"`
	QueriesBusy     uint64 `json:"queries_busy"`
	QueriesTimeout  uint64 `json:"queries_timeout"`
	QueriesBad      uint64 `json:"queries_bad"`
	QueriesGone     uint64 `json:"queries_gone"`
	Commands        uint64 `json:"commands"`
	Heartbeats      uint64 `json:"heartbeats"`
	HeartbeatsLost  uint64 `json:"heartbeats_lost"`
	ConnectFailures uint64 `json:"connect_failures"`
	CacheHits       uint64 `json:"cache_hits"`
	CacheMisses     uint64 `json:"cache_misses"`
	BytesFromSite   uint64 `json:"bytes_from_site"`
	BytesToClients  uint64 `json:"bytes_to_clients"`
}

// StateUnavailable marks a configured site whose loop is not running (its
// socket could not be created, or it is being restarted).
const StateUnavailable = "unavailable"

// FromSnapshot converts the core's view of a site.
func FromSnapshot(s core.Snapshot) Site {
	out := Site{
		Name:               s.Name,
		State:              s.State.String(),
		Since:              s.Since,
		Target:             s.Target,
		Channels:           make([]Channel, 0, len(s.Channels)),
		ClientsReading:     s.ClientsReading,
		ClientsWaiting:     s.ClientsWaiting,
		ClientsInFlight:    s.ClientsInFlight,
		HeartbeatsReceived: s.Stats.Heartbeats,
		TypicalRTTMS:       millis(s.TypicalRTT),
		HeartbeatTimeoutMS: millis(s.HeartbeatTimeout),
		ProgramStart:       s.ProgramStart,
		CacheEntries:       s.CacheEntries,
		LastError:          s.LastError,
		Counters:           counters(s.Stats),
	}
	if !s.LastErrorAt.IsZero() {
		at := s.LastErrorAt
		out.LastErrorAt = &at
	}
	for _, ch := range s.Channels {
		out.Channels = append(out.Channels, Channel{
			ID: uint64(ch.ID), State: ch.State.String(), Since: ch.Since, Client: uint64(ch.Client),
		})
	}
	return out
}

func counters(s core.Stats) Counters {
	return Counters{
		QueriesOK:       s.QueriesOK,
		QueriesDead:     s.QueriesDead,
		QueriesBusy:     s.QueriesBusy,
		QueriesTimeout:  s.QueriesTimeout,
		QueriesBad:      s.QueriesBad,
		QueriesGone:     s.QueriesGone,
		Commands:        s.Commands,
		Heartbeats:      s.Heartbeats,
		HeartbeatsLost:  s.HeartbeatsLost,
		ConnectFailures: s.ConnectFailures,
		CacheHits:       s.CacheHits,
		CacheMisses:     s.CacheMisses,
		BytesFromSite:   s.BytesFromSite,
		BytesToClients:  s.BytesToClients,
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Save writes both state files under root: Checkmk's text first, then the
// JSON dump, so whoever sees a state in the JSON finds the text at least as
// new. It tries both and returns the errors of either.
func Save(root string, f File) error {
	var w Saver
	return w.Save(root, f)
}

// Saver is Save with buffers kept from one call to the next. The daemon
// rewrites both files every few seconds; at a thousand sites they are
// megabytes, and fresh buffers each time made most of an idle daemon's
// garbage. Not safe for concurrent use.
type Saver struct {
	text []byte
	json bytes.Buffer
}

// Save is Save, reusing w's buffers.
func (w *Saver) Save(root string, f File) error {
	w.text = AppendText(w.text[:0], f)
	textErr := replaceFile(filepath.Join(root, CheckmkPath), w.text)
	w.json.Reset()
	// Compact, not indented: indenting doubled the cost of the dump, and
	// its readers are `liveproxyd status` and scripts (jq reads it fine).
	if err := json.NewEncoder(&w.json).Encode(f); err != nil {
		return errors.Join(textErr, err)
	}
	return errors.Join(textErr, replaceFile(filepath.Join(root, Path), w.json.Bytes()))
}

// replaceFile writes data to a temporary file next to path and renames it
// over path. The temporary name is ".NAME.new*", the pattern Checkmk's
// own writers use and its site backup excludes
// (var/log/.liveproxyd.state.new*), so a backup never trips over it.
func replaceFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Read loads a state file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}
