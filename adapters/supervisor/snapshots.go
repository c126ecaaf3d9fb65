package supervisor

import (
	"context"
	"sort"
	"sync"
	"time"

	"liveproxyd/adapters/driver"
	"liveproxyd/adapters/statefile"
	"liveproxyd/core"
)

// SnapshotWait bounds how long one site loop may take to hand over its
// snapshot. A loop busy for longer (a huge answer being parsed, a stuck
// core) is left out rather than allowed to stall a scrape or the state
// file for every other site.
const SnapshotWait = time.Second

// siteView is one configured site as seen at one moment: running is false
// when it has no loop (err says why), ok is false when its loop did not
// answer in time.
type siteView struct {
	name    string
	running bool
	ok      bool
	snap    core.Snapshot
	err     error
	tcp     *statefile.TCPListener
}

type loopRef struct {
	name string
	loop *driver.Loop
}

// views asks every site loop for its snapshot, all in parallel, each
// within SnapshotWait and ctx, and returns them sorted by name.
func (s *Supervisor) views(ctx context.Context) []siteView {
	s.mu.Lock()
	out := make([]siteView, 0, len(s.sites))
	var loops []loopRef
	for name, e := range s.sites {
		out = append(out, siteView{name: name, running: e.loop != nil, err: e.err, tcp: e.tcpStatus()})
		if e.loop != nil {
			loops = append(loops, loopRef{name, e.loop})
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	byName := make(map[string]*siteView, len(out))
	for i := range out {
		byName[out[i].name] = &out[i]
	}
	var wg sync.WaitGroup
	for _, l := range loops {
		v := byName[l.name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			lctx, cancel := context.WithTimeout(ctx, SnapshotWait)
			defer cancel()
			v.snap, v.ok = l.loop.Snapshot(lctx)
		}()
	}
	wg.Wait()
	return out
}

// Snapshots returns the core's view of every configured site, sorted by
// name, for the metrics collector. A site whose loop is not running (its
// socket could not be created, or it is being restarted after a crash)
// appears as stopped with its error, so it reads as down rather than
// vanishing from alerts. A running loop that does not answer within
// SnapshotWait is left out of this call and logged at debug level.
func (s *Supervisor) Snapshots(ctx context.Context) []core.Snapshot {
	views := s.views(ctx)
	out := make([]core.Snapshot, 0, len(views))
	for _, v := range views {
		switch {
		case v.ok:
			out = append(out, v.snap)
		case v.running:
			s.log.Debug("site loop did not hand over its snapshot in time; left out of the metrics",
				"site", v.name, "wait", SnapshotWait)
		default:
			snap := core.Snapshot{Name: v.name, State: core.SiteStopped}
			if v.err != nil {
				snap.LastError = v.err.Error()
			}
			out = append(out, snap)
		}
	}
	return out
}

// Snapshot collects the state of every configured site, sorted by name,
// for the state file. A site without an answer from its loop is shown as
// unavailable, with the reason it is not running when there is one.
func (s *Supervisor) Snapshot(ctx context.Context) []statefile.Site {
	views := s.views(ctx)
	out := make([]statefile.Site, 0, len(views))
	for _, v := range views {
		if v.ok {
			site := statefile.FromSnapshot(v.snap)
			site.TCP = v.tcp
			out = append(out, site)
			continue
		}
		site := statefile.Site{Name: v.name, State: statefile.StateUnavailable, Channels: []statefile.Channel{}, TCP: v.tcp}
		if v.err != nil {
			site.LastError = v.err.Error()
		}
		out = append(out, site)
	}
	return out
}
