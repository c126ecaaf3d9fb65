package driver

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"liveproxyd/adapters/listen"
	"liveproxyd/core"
	"liveproxyd/internal/testutil"
)

// TestUnixClientsAreThePollers: a client of the site's UNIX socket, bare
// or in a listen.Set, is served by the poller (a socket the driver owns,
// no reader goroutine), and the poller stops with the loop.
func TestUnixClientsAreThePollers(t *testing.T) {
	for _, inSet := range []bool{false, true} {
		path := filepath.Join(testutil.ShortDir(t), "s1")
		u, err := listen.Unix(path)
		if err != nil {
			t.Fatal(err)
		}
		var ln net.Listener = u
		if inSet {
			ln = listen.NewSet(u)
		}
		refused := func(context.Context) (net.Conn, error) { return nil, errors.New("no site here") }
		l := Start(Options{Config: core.Config{Name: "s1"}, Dial: refused, Listener: ln})
		p := l.poll.Load()
		if p == nil {
			t.Fatalf("in a set %v: no poller", inSet)
		}
		nc, err := net.DialTimeout("unix", path, testutil.HangGuard)
		if err != nil {
			t.Fatal(err)
		}
		var polled, all int
		for deadline := time.Now().Add(testutil.HangGuard); all == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
			l.enter(func() {
				all = len(l.clients)
				for _, c := range l.clients {
					if c.poll == p && c.fd >= 0 && c.nc == nil {
						polled++
					}
				}
			})
		}
		if all != 1 || polled != 1 {
			t.Fatalf("in a set %v: %d clients, %d of them the poller's; want 1 and 1", inSet, all, polled)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testutil.HangGuard)
		l.Stop(ctx)
		cancel()
		nc.Close()
		if err := p.raw.Control(func(uintptr) {}); err == nil {
			t.Errorf("in a set %v: the poller's epoll set is still open after Stop", inSet)
		}
	}
}
