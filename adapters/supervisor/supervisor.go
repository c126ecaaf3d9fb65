// Package supervisor runs the set of site loops: it starts, reconfigures,
// restarts and stops them as the configuration changes, and writes the
// state file from their snapshots.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"liveproxyd/adapters/config"
	"liveproxyd/adapters/driver"
	"liveproxyd/adapters/listen"
	"liveproxyd/adapters/statefile"
	"liveproxyd/adapters/upstream"
	"liveproxyd/core"
)

// SocketDir holds the per-site client sockets, relative to the site root.
const SocketDir = "tmp/run/liveproxy"

// SocketPath is where clients of site name connect.
func SocketPath(root, name string) string { return filepath.Join(root, SocketDir, name) }

// Options configure a Supervisor.
type Options struct {
	Root   string
	Logger *slog.Logger
	Clock  clock.Clock // nil means the real clock
	// Debug lets a panic in a site loop crash the daemon; without it the
	// panic is logged and only that site is restarted.
	Debug bool
	// StateInterval is how often the state file is rewritten (default 2 s).
	StateInterval time.Duration
	// RestartDelay is the pause before a crashed site is restarted, so a
	// core that panics at once does not spin (default 1 s).
	RestartDelay time.Duration
}

// Supervisor owns every site loop.
type Supervisor struct {
	opts  Options
	log   *slog.Logger
	mu    sync.Mutex
	sites map[string]*entry
	quit  chan struct{}
	wg    sync.WaitGroup
	// budget is shared by every site loop, so memory stays bounded across
	// sites; its totals follow the configuration.
	budget *driver.Budget
	// saveMu serialises the state-file writers (the ticker, a reload,
	// shutdown), so the newest dump is the one left and saver's buffers
	// have one user.
	saveMu sync.Mutex
	saver  statefile.Saver
}

// entry is one configured site; loop is nil while it is not running, and
// err then says why.
type entry struct {
	site config.Site
	loop *driver.Loop
	err  error
	// retrying is set while retryStart tries to create its socket.
	retrying bool
	set      *listen.Set // the loop's listeners: UNIX socket and TCP
	tcp      tcpListener
}

// New returns a Supervisor with no sites and starts its state writer.
func New(o Options) *Supervisor {
	if o.Clock == nil {
		o.Clock = clock.New()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.StateInterval <= 0 {
		o.StateInterval = 2 * time.Second
	}
	if o.RestartDelay <= 0 {
		o.RestartDelay = time.Second
	}
	s := &Supervisor{opts: o, log: o.Logger, sites: map[string]*entry{}, quit: make(chan struct{}),
		budget: driver.NewBudget(config.DefaultAnswerBufferTotal, config.DefaultQueryBufferTotal)}
	s.wg.Add(1)
	go s.stateWriter()
	return s
}

// Apply makes the running sites match cfg. Unchanged sites keep their loop,
// channels and clients; a site whose core numbers alone changed is
// reconfigured in place; any other change restarts it; removed sites are
// shut down. A change of only the `tcp` key re-binds the site's TCP
// listener and keeps its loop; a TLS listener kept as it is re-reads its
// certificate (reloadCert). It returns the sites that could not be
// started and the TCP listeners that could not be served, joined.
func (s *Supervisor) Apply(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg.AnswerBufferTotal > 0 && cfg.QueryBufferTotal > 0 {
		s.budget.SetTotals(cfg.AnswerBufferTotal, cfg.QueryBufferTotal)
	}
	want := map[string]config.Site{}
	for _, site := range cfg.Sites {
		want[site.Name] = site
	}
	for name, e := range s.sites {
		if _, ok := want[name]; !ok {
			s.log.Info("site removed from the configuration", "site", name)
			s.stopEntry(e)
			delete(s.sites, name)
		}
	}
	s.removeStaleSockets(want)
	var errs []error
	for _, site := range cfg.Sites {
		e, ok := s.sites[site.Name]
		switch {
		case !ok:
			e = &entry{site: site}
			s.sites[site.Name] = e
		case e.loop != nil && e.site.Equal(site):
			if e.tcp.err != nil { // say, the port is free now
				errs = append(errs, s.serveTCP(e))
			} else {
				errs = append(errs, s.reloadCert(e))
			}
			continue
		case e.loop != nil && onlyCoreChanged(e.site, site):
			s.log.Info("site reconfigured", "site", site.Name, "changed", changes(e.site, site))
			old := e.site
			e.site = site
			if (old.Core != site.Core || old.Cache != site.Cache) && !e.loop.Reconfigure(site.Core) {
				s.log.Error("site loop did not take the new configuration", "site", site.Name)
			}
			if !tcpEqual(old.TCP, site.TCP) || e.tcp.err != nil {
				errs = append(errs, s.serveTCP(e))
			} else {
				errs = append(errs, s.reloadCert(e))
			}
			continue
		default:
			if e.loop != nil {
				s.log.Info("site changed, restarting it", "site", site.Name, "changed", changes(e.site, site))
			}
			s.stopEntry(e)
			e.site = site
		}
		if err := s.startEntry(e); err != nil {
			errs = append(errs, err)
			s.retryStart(e)
		}
		errs = append(errs, e.tcp.err)
	}
	return errors.Join(errs...)
}

// onlyCoreChanged reports whether a running site can take new as it runs:
// the core takes new numbers, the TCP listener is re-bound (serveTCP).
func onlyCoreChanged(old, new config.Site) bool {
	// The cache switch lives in the core too (Site.Cache mirrors Core.Cache).
	new.Core, new.Cache, new.TCP = old.Core, old.Cache, old.TCP
	return new.Equal(old)
}

// startEntry listens on the site's socket and starts its loop. Called with
// s.mu held.
func (s *Supervisor) startEntry(e *entry) error {
	site := e.site
	e.tcp = tcpListener{} // the TCP listener is served only with a loop
	l, err := listen.Unix(SocketPath(s.opts.Root, site.Name))
	if err != nil {
		e.err = fmt.Errorf("site %s: %w", site.Name, err)
		s.log.Error("cannot serve site", "site", site.Name, "err", err)
		return e.err
	}
	dial := upstream.New(s.opts.Root, upstream.Target(site.Socket))
	e.set = listen.NewSet(l)
	loop := driver.Start(driver.Options{
		Config:   site.Core,
		Dial:     driver.Dialer(dial),
		Listener: e.set,
		Clock:    s.opts.Clock,
		Logger:   s.log,
		Recover:  !s.opts.Debug,
		Budget:   s.budget,
	})
	e.loop, e.err = loop, nil
	s.log.Info("serving site", "site", site.Name, "socket", SocketPath(s.opts.Root, site.Name),
		"upstream", site.Socket.Network+":"+site.Socket.Address, "channels", site.Core.Channels)
	_ = s.serveTCP(e) // a TCP failure leaves the site served; Apply reports e.tcp.err
	s.wg.Add(1)
	go s.watch(e, loop)
	return nil
}

// stopEntry shuts a site's loop down (the core answers its clients) and
// waits for it; the listener's close removes the socket file. Called with
// s.mu held; the watcher sees e.loop changed and does not restart it.
func (s *Supervisor) stopEntry(e *entry) {
	if e.loop == nil {
		return
	}
	loop := e.loop
	e.loop = nil
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	loop.Stop(ctx)
}

// watch restarts a site whose loop ended by a recovered panic.
func (s *Supervisor) watch(e *entry, loop *driver.Loop) {
	defer s.wg.Done()
	select {
	case <-loop.Done():
	case <-s.quit:
		return
	}
	if loop.Panic() == nil {
		return
	}
	s.mu.Lock()
	if e.loop == loop {
		e.loop = nil
		e.err = fmt.Errorf("site loop crashed: %v", loop.Panic())
	}
	s.mu.Unlock()
	for {
		t := s.opts.Clock.Timer(s.opts.RestartDelay)
		select {
		case <-t.C:
		case <-s.quit:
			t.Stop()
			return
		}
		s.mu.Lock()
		// Only restart if nobody reconfigured or removed the site meanwhile.
		if s.sites[e.site.Name] != e || e.loop != nil {
			s.mu.Unlock()
			return
		}
		err := s.startEntry(e)
		s.mu.Unlock()
		if err == nil {
			return
		}
	}
}

// WriteState dumps every site's state to the state files (statefile.Save).
func (s *Supervisor) WriteState() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	f := statefile.File{Written: time.Now(), PID: os.Getpid(), Sites: s.Snapshot(ctx)}
	return s.save(f)
}

func (s *Supervisor) save(f statefile.File) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	return s.saver.Save(s.opts.Root, f)
}

func (s *Supervisor) stateWriter() {
	defer s.wg.Done()
	t := s.opts.Clock.Ticker(s.opts.StateInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.WriteState(); err != nil {
				s.log.Warn("cannot write the state file", "err", err)
			}
		case <-s.quit:
			return
		}
	}
}

// Shutdown stops every site in parallel (each answers its clients and
// removes its socket), writes a last state file and returns when all is
// done or ctx expires.
func (s *Supervisor) Shutdown(ctx context.Context) {
	close(s.quit)
	s.mu.Lock()
	var loops []*driver.Loop
	for _, e := range s.sites {
		if e.loop != nil {
			loops = append(loops, e.loop)
			e.loop = nil
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Stop(ctx)
		}()
	}
	wg.Wait()
	s.wg.Wait()
	s.writeStopped()
}

// writeStopped leaves a state file that says every site is stopped, so a
// later `liveproxyd status` does not report a stale "alive".
func (s *Supervisor) writeStopped() {
	s.mu.Lock()
	f := statefile.File{Written: time.Now(), PID: os.Getpid()}
	for name := range s.sites {
		f.Sites = append(f.Sites, statefile.Site{Name: name, State: core.SiteStopped.String(), Channels: []statefile.Channel{}})
	}
	s.mu.Unlock()
	sort.Slice(f.Sites, func(i, j int) bool { return f.Sites[i].Name < f.Sites[j].Name })
	if err := s.save(f); err != nil {
		s.log.Warn("cannot write the state file", "err", err)
	}
}
