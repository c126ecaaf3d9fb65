package statefile

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"liveproxyd/core"
)

func TestWriteReadRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	snap := core.Snapshot{
		Name:   "berlin",
		State:  core.SiteAlive,
		Since:  at,
		Target: 2,
		Channels: []core.ChannelInfo{
			{ID: 1, State: core.ChanFree, Since: at},
			{ID: 2, State: core.ChanBusy, Since: at, Client: 7},
		},
		ClientsWaiting:   3,
		TypicalRTT:       1500 * time.Microsecond,
		HeartbeatTimeout: 2 * time.Second,
		ProgramStart:     1700000000,
		LastError:        "cannot connect",
		LastErrorAt:      at,
		Stats:            core.Stats{QueriesOK: 5, Heartbeats: 9, BytesToClients: 1234},
	}
	site := FromSnapshot(snap)
	if site.State != "alive" || site.TypicalRTTMS != 1.5 || site.HeartbeatsReceived != 9 ||
		site.Channels[1].State != "busy" || site.Channels[1].Client != 7 || site.Counters.BytesToClients != 1234 {
		t.Fatalf("FromSnapshot: %+v", site)
	}
	root := t.TempDir()
	path := filepath.Join(root, Path)
	in := File{Written: at, PID: 42, Sites: []Site{site}}
	if err := Save(root, in); err != nil {
		t.Fatal(err)
	}
	out, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*out, in) {
		t.Fatalf("read back %+v, want %+v", *out, in)
	}
	// Rewriting leaves no temporary files behind.
	if err := Save(root, in); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("files next to the state file: %v", entries)
	}
}

func TestReadRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	os.WriteFile(path, []byte("{not json"), 0o644)
	if _, err := Read(path); err == nil {
		t.Fatal("garbage state file accepted")
	}
}
