package fakesite

import (
	"crypto/tls"
	"net"
	"os"
	"testing"
	"time"

	"liveproxyd/internal/sitecert"
	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

func TestCapacityLikeIcingaPool(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := startSite(t, network, Options{Capacity: 4})
			var served []*client
			for i := 0; i < 4; i++ {
				c := dial(t, s)
				if code, _ := c.query("GET status\nColumns: program_start\n"); code != 200 {
					t.Fatalf("connection %d: code %d", i, code)
				}
				served = append(served, c)
			}
			fifth := dial(t, s)
			fifth.send("GET status\nColumns: num_hosts\nResponseHeader: fixed16\n\n")
			fifth.expectSilence()
			testutil.WaitFor(t, "5 connections accepted", func() bool { return s.Stats().ConnsAccepted == 5 })
			if st := s.Stats(); st.ConnsOpen != 5 || st.ConnsServed != 4 {
				t.Fatalf("stats %+v, want 5 open, 4 served", st)
			}
			served[2].nc.Close()
			if code, body, _ := fifth.readFixed16(); code != 200 || body != "10\n" {
				t.Fatalf("fifth after a slot freed: %d %q", code, body)
			}
			// The others keep working.
			if code, _ := served[0].query("GET status\nColumns: num_hosts\n"); code != 200 {
				t.Fatalf("first connection: %d", code)
			}
		})
	}
}

func TestHangAndResume(t *testing.T) {
	s := startSite(t, "unix", Options{})
	c := dial(t, s)
	s.Hang(true)
	c.send("GET status\nColumns: num_hosts\nResponseHeader: fixed16\nKeepAlive: on\n\n")
	c.expectSilence()
	c.send("COMMAND [1] PROCESS_HOST_CHECK_RESULT;host0000;1;down\n\n")
	fresh := dial(t, s) // still accepted while hung, like a stopped process
	fresh.send("GET status\nColumns: num_hosts\nResponseHeader: fixed16\n\n")
	fresh.expectSilence()
	if st := s.Stats(); st.Commands != 0 || st.Queries != 0 {
		t.Fatalf("hung site executed something: %+v", st)
	}
	s.Hang(false)
	if code, body, _ := c.readFixed16(); code != 200 || body != "10\n" {
		t.Fatalf("after resume: %d %q", code, body)
	}
	if code, body := c.query("GET hosts\nColumns: state\nLimit: 1\n"); code != 200 || body != "1\n" {
		t.Fatalf("command queued while hung: %d %q", code, body)
	}
	if code, _, _ := fresh.readFixed16(); code != 200 {
		t.Fatalf("connection accepted while hung: %d", code)
	}
}

func TestHangMidAnswer(t *testing.T) {
	// A low spill limit streams the answer in chunks.
	s := startSiteSpill(t, "unix", Options{Hosts: 300, ServicesPerHost: 100}, 1<<10)
	c := dial(t, s)
	c.send("GET services\nResponseHeader: fixed16\n\n")
	code, n := readHeaderOnly(t, c)
	if code != 200 || n < 1<<20 {
		t.Fatalf("header %d %d", code, n)
	}
	s.Hang(true)
	// Drain what was written before the hang took effect; it must stop
	// short of the full body.
	got := 0
	buf := make([]byte, 64<<10)
	for i := 0; i < 10000; i++ {
		c.nc.SetReadDeadline(time.Now().Add(quiet))
		k, err := c.br.Read(buf)
		got += k
		if err != nil {
			break
		}
	}
	if got >= n {
		t.Fatalf("whole body of %d bytes arrived while hung", n)
	}
	s.Hang(false)
	c.nc.SetReadDeadline(deadline())
	for got < n {
		k, err := c.br.Read(buf)
		got += k
		if err != nil {
			t.Fatalf("after resume, at %d of %d: %v", got, n, err)
		}
	}
	c.expectClosed()
}

func readHeaderOnly(t *testing.T, c *client) (int, int) {
	t.Helper()
	c.nc.SetReadDeadline(deadline())
	h := make([]byte, 16)
	if _, err := c.br.Read(h[:1]); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 16; i++ {
		b, err := c.br.ReadByte()
		if err != nil {
			t.Fatal(err)
		}
		h[i] = b
	}
	hd, err := livestatus.ParseHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	return hd.Code, int(hd.Length)
}

func TestRestartChangesProgramStart(t *testing.T) {
	s := startSite(t, "tcp", Options{ProgramStart: 1234})
	c := dial(t, s)
	if code, body := c.query("GET status\nColumns: program_start\n"); code != 200 || body != "1234\n" {
		t.Fatalf("before restart: %d %q", code, body)
	}
	s.Restart()
	c.expectClosed()
	c = dial(t, s)
	if code, body := c.query("GET status\nColumns: program_start\n"); code != 200 || body != "1235\n" {
		t.Fatalf("after restart: %d %q", code, body)
	}
	if s.ProgramStart() != 1235 {
		t.Fatalf("ProgramStart() = %d", s.ProgramStart())
	}
}

func TestIdleClose(t *testing.T) {
	s := startSite(t, "unix", Options{IdleClose: 100 * time.Millisecond})
	c := dial(t, s)
	if code, _ := c.query("GET status\nColumns: program_start\n"); code != 200 {
		t.Fatalf("code %d", code)
	}
	c.expectClosed() // within testutil.HangGuard, long after IdleClose
	half := dial(t, s)
	half.send("GET status\nColu")
	half.expectClosed() // a half-sent request is dropped too
}

func TestCloseDropsEverything(t *testing.T) {
	s := startSite(t, "unix", Options{Capacity: 1})
	a := dial(t, s)
	if code, _ := a.query("GET status\nColumns: program_start\n"); code != 200 {
		t.Fatal(code)
	}
	b := dial(t, s) // waits for a's slot
	s.Hang(true)
	a.send("GET status\n\n")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	a.expectClosed()
	b.expectClosed()
	if _, err := os.Stat(s.Addr()); !os.IsNotExist(err) {
		t.Fatalf("socket file left behind: %v", err)
	}
	if st := s.Stats(); st.ConnsOpen != 0 || st.ConnsServed != 0 {
		t.Fatalf("after Close: %+v", st)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	s := startSite(t, "unix", Options{})
	path := s.Addr()
	// A stale socket file from a "previous run": bind one, then leave it.
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	s2, err := Listen("unix", path, Options{Hosts: 3})
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	defer s2.Close()
	if code, body := dial(t, s2).query("GET status\nColumns: num_hosts\n"); code != 200 || body != "3\n" {
		t.Fatalf("%d %q", code, body)
	}
}

func TestTLS(t *testing.T) {
	ca := sitecert.NewCA(t, "central")
	cert := ca.SiteCert(t, "remote1", time.Now().Add(time.Hour))
	s := startSite(t, "tcp", Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	c := dialTLS(t, s, ca.ClientConfig())
	for i := 0; i < 3; i++ {
		if code, body := c.query("GET status\nColumns: num_services\n"); code != 200 || body != "100\n" {
			t.Fatalf("query %d over TLS: %d %q", i, code, body)
		}
	}
	// A client that does not trust the site's CA fails the handshake.
	d := &net.Dialer{Timeout: testutil.HangGuard}
	nc, err := tls.DialWithDialer(d, "tcp", s.Addr(), sitecert.NewCA(t, "other").ClientConfig())
	if err == nil {
		nc.Close()
		t.Fatal("handshake with an untrusted certificate succeeded")
	}
}

func TestLatencyDroppedConnectionCleansUp(t *testing.T) {
	s := startSite(t, "unix", Options{Latency: time.Hour})
	c := dial(t, s)
	c.send("GET status\n\n")
	c.expectSilence()
	c.nc.Close()
	// The connection sleeps in Latency; Restart must still free it.
	s.Restart()
	testutil.WaitFor(t, "no connection open", func() bool { return s.Stats().ConnsOpen == 0 })
}
