package driver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"liveproxyd/adapters/listen"
	"liveproxyd/adapters/upstream"
	"liveproxyd/core"
	"liveproxyd/internal/fakesite"
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

// TestPollerAcceptBacksOffWhileOutOfDescriptors: when accept fails for
// want of file descriptors, the poller logs it, pauses accepting, and
// serves the waiting client once descriptors are free again.
func TestPollerAcceptBacksOffWhileOutOfDescriptors(t *testing.T) {
	path := filepath.Join(testutil.ShortDir(t), "s1")
	u, err := listen.Unix(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	refused := func(context.Context) (net.Conn, error) { return nil, errors.New("no site here") }
	l := Start(Options{Config: core.Config{Name: "s1"}, Dial: refused, Listener: u,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	defer l.Stop(context.Background())

	// RLIMIT_NOFILE bounds descriptor numbers: with the limit at the
	// second free number, the client's socket takes the first and the
	// accept finds none.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	free := freeDescriptors(t, 2)
	tight := lim
	tight.Cur = uint64(free[1])
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &tight); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer restore()
	nc, err := net.DialTimeout("unix", path, testutil.HangGuard)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for deadline := time.Now().Add(testutil.HangGuard); !strings.Contains(logs.String(), "accept failed"); {
		if time.Now().After(deadline) {
			t.Fatalf("no accept failure logged with the limit at %d:\n%s", tight.Cur, logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	restore()
	nc.SetDeadline(time.Now().Add(testutil.HangGuard))
	if _, err := io.WriteString(nc, "GET status\nColumns: program_start\n\n"); err != nil {
		t.Fatal(err)
	}
	answer, err := io.ReadAll(nc)
	if err != nil || !strings.Contains(string(answer), "site is dead") {
		t.Fatalf("after the limit was lifted: %q, %v; want the dead site's error", answer, err)
	}
}

// freeDescriptors returns the n lowest descriptor numbers not in use.
func freeDescriptors(t *testing.T, n int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd") // its own descriptor is closed again on return
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil {
			if _, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
				used[fd] = true
			}
		}
	}
	var free []int
	for fd := 0; len(free) < n; fd++ {
		if !used[fd] {
			free = append(free, fd)
		}
	}
	return free
}

// TestPollerDropsAClientThatHungUp: a client that stops reading and then
// shuts its socket down both ways (without closing it) leaves an answer
// that can never be delivered. The set reports the hang-up on every wait
// and nothing to read or write; the poller must end the client then, not
// spin until the flush timeout (10 s) drops it.
func TestPollerDropsAClientThatHungUp(t *testing.T) {
	dir := testutil.ShortDir(t)
	site, err := fakesite.Listen("unix", filepath.Join(dir, "live"), fakesite.Options{Hosts: 400, ServicesPerHost: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	u, err := listen.Unix(filepath.Join(dir, "s1"))
	if err != nil {
		t.Fatal(err)
	}
	dial := upstream.New(dir, upstream.Target{Network: "unix", Address: site.Addr()})
	l := Start(Options{Config: core.Config{Name: "s1", QueryTimeout: 30 * time.Second}, Dial: Dialer(dial), Listener: u})
	defer l.Stop(context.Background())

	nc, err := net.DialTimeout("unix", filepath.Join(dir, "s1"), testutil.HangGuard)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := io.WriteString(nc, "GET services\nResponseHeader: fixed16\n\n"); err != nil {
		t.Fatal(err)
	}
	client := func() (c *conn) { // the core may have let it go: l.live, not l.clients
		l.liveMu.Lock()
		defer l.liveMu.Unlock()
		for cc := range l.live {
			if cc.client {
				c = cc
			}
		}
		return c
	}
	var c *conn
	for deadline := time.Now().Add(testutil.HangGuard); ; time.Sleep(5 * time.Millisecond) {
		if c = client(); c != nil {
			c.out.mu.Lock()
			queued := len(c.out.bufs)
			c.out.mu.Unlock()
			if queued > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no answer queued for the client that does not read")
		}
	}
	raw, err := nc.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
	select {
	case <-c.dead:
	case <-time.After(5 * time.Second): // half the flush timeout
		t.Fatal("the hung-up client is still open; its answer can never leave")
	}
}
