package supervisor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"liveproxyd/adapters/config"
)

// socketRetryMax caps the back-off between attempts to create a site's
// socket that could not be created (a file in the way, a full disk, a
// directory with wrong permissions). Without retries the site stayed down
// until the next reload; the cap bounds how long a fixed path waits.
const socketRetryMax = 30 * time.Second

// retryStart keeps trying to start e after startEntry failed, with a
// back-off from RestartDelay doubling up to socketRetryMax, until it runs,
// the site is removed or restarted by a reload, or the supervisor stops.
// At most one retrier runs per entry. Called with s.mu held.
func (s *Supervisor) retryStart(e *entry) {
	if e.retrying {
		return // the running retrier picks up e.site as it is then
	}
	e.retrying = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		delay := s.opts.RestartDelay
		for attempt := 1; ; attempt++ {
			s.log.Warn("site socket not created, retrying", "site", e.site.Name, "attempt", attempt, "retry_in", delay)
			t := s.opts.Clock.Timer(delay)
			select {
			case <-t.C:
			case <-s.quit:
				t.Stop()
				return
			}
			s.mu.Lock()
			if s.sites[e.site.Name] != e || e.loop != nil || s.stopping() {
				e.retrying = false
				s.mu.Unlock()
				return
			}
			err := s.startEntry(e)
			if err == nil {
				e.retrying = false
				s.log.Info("site socket created after retrying", "site", e.site.Name, "attempts", attempt)
			}
			s.mu.Unlock()
			if err == nil {
				return
			}
			delay = min(2*delay, socketRetryMax)
		}
	}()
}

// stopping reports whether Shutdown has begun: a retry that fires then
// must not start a loop that Shutdown would never stop.
func (s *Supervisor) stopping() bool {
	select {
	case <-s.quit:
		return true
	default:
		return false
	}
}

// removeStaleSockets deletes sockets in the socket directory that belong
// to no configured site: a daemon killed with -9 leaves them behind, and
// a GUI connecting to one gets "connection refused" instead of "no such
// site". Only sockets are removed, never other files. The pid file's
// lock guarantees no other liveproxyd serves them. Called with s.mu held.
func (s *Supervisor) removeStaleSockets(want map[string]config.Site) {
	dir := filepath.Join(s.opts.Root, SocketDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("cannot list the socket directory", "dir", dir, "err", err)
		}
		return
	}
	for _, de := range entries {
		if _, ok := want[de.Name()]; ok || de.Type()&fs.ModeSocket == 0 {
			continue
		}
		path := filepath.Join(dir, de.Name())
		if err := os.Remove(path); err != nil {
			s.log.Warn("cannot remove a stale socket", "socket", path, "err", err)
			continue
		}
		s.log.Info("removed the socket of a site that is not configured", "socket", path)
	}
}
