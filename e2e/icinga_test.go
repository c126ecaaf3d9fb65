package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests talk to Icinga directly, without the proxy. They pin the
// docs/protocol.md facts the proxy tests rely on, so that a change in Icinga
// shows up here and not as a puzzling proxy failure.

// serviceQuery asks for one service's state and output as JSON.
func serviceQuery(host, svc string, extra string) string {
	return "GET services\nColumns: state plugin_output\nFilter: host_name = " + host +
		"\nFilter: description = " + svc + "\nOutputFormat: json\n" + extra + "\n"
}

// checkResult is a COMMAND that sets a passive service result.
func checkResult(host, svc string, state int, output string) string {
	return fmt.Sprintf("COMMAND [%d] PROCESS_SERVICE_CHECK_RESULT;%s;%s;%d;%s\n\n",
		time.Now().Unix(), host, svc, state, output)
}

// decodeRows parses a JSON Livestatus body (a list of rows).
func decodeRows(t testing.TB, body []byte) [][]any {
	t.Helper()
	var rows [][]any
	if err := json.Unmarshal(body, &rows); err != nil {
		t.Fatalf("body is not a JSON row list: %v\n%.500q", err, body)
	}
	return rows
}

// wantServiceState checks a serviceQuery answer for exactly one row with
// the given state and output.
func wantServiceState(t testing.TB, r Reply, state int, output string) {
	t.Helper()
	if r.Code != 200 {
		t.Fatalf("code %d, body %.300q", r.Code, r.Body)
	}
	rows := decodeRows(t, r.Body)
	if len(rows) != 1 || len(rows[0]) != 2 {
		t.Fatalf("want one row [state output], got %v", rows)
	}
	if got, ok := rows[0][0].(float64); !ok || int(got) != state {
		t.Errorf("state = %v, want %d", rows[0][0], state)
	}
	if rows[0][1] != output {
		t.Errorf("plugin_output = %q, want %q", rows[0][1], output)
	}
}

func TestIcingaFixed16(t *testing.T) {
	ic := shared(t)
	for _, ep := range endpoints(ic) {
		t.Run(ep.name, func(t *testing.T) {
			c, err := Dial(ep.network, ep.addr, queryTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Send("GET hosts\nColumns: name\nResponseHeader: fixed16\n\n", queryTimeout); err != nil {
				t.Fatal(err)
			}
			raw, err := c.ReadAll(queryTimeout)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) < 16 {
				t.Fatalf("answer shorter than a fixed16 header: %q", raw)
			}
			code, n, err := ParseFixed16(raw[:16])
			if err != nil {
				t.Fatal(err)
			}
			if code != 200 || raw[15] != '\n' {
				t.Errorf("header %q: want code 200 and a newline in byte 16", raw[:16])
			}
			if n != len(raw)-16 {
				t.Errorf("header says %d body bytes, got %d (without KeepAlive the answer ends at close)", n, len(raw)-16)
			}
			if lines := strings.Count(string(raw[16:]), "\n"); lines != bigHosts {
				t.Errorf("%d host lines, want %d", lines, bigHosts)
			}
		})
	}
}

// TestIcingaKeepAlivePipelining: several queries in one write on a
// KeepAlive connection are answered in order, and the connection stays
// open for more.
func TestIcingaKeepAlivePipelining(t *testing.T) {
	ic := shared(t)
	for _, ep := range endpoints(ic) {
		t.Run(ep.name, func(t *testing.T) {
			c, err := Dial(ep.network, ep.addr, queryTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var req strings.Builder
			for i := 0; i < 3; i++ {
				fmt.Fprintf(&req, "GET hosts\nColumns: name\nFilter: name = host-%d\nKeepAlive: on\nResponseHeader: fixed16\n\n", i)
			}
			if err := c.Send(req.String(), queryTimeout); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				r, err := c.ReadFixed16(queryTimeout)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				if want := fmt.Sprintf("host-%d\n", i); r.Code != 200 || string(r.Body) != want {
					t.Errorf("answer %d: %d %q, want 200 %q", i, r.Code, r.Body, want)
				}
			}
			// Still open: one more query on the same connection.
			if err := c.Send(StatusQuery, queryTimeout); err != nil {
				t.Fatal(err)
			}
			if r, err := c.ReadFixed16(queryTimeout); err != nil || r.Code != 200 {
				t.Fatalf("query after the pipeline: %v %v", r.Code, err)
			}
		})
	}
}

// TestIcingaCommandVisibleInNextGet: a COMMAND gets no answer, keeps the
// connection open, and its result is visible to the next GET on it.
func TestIcingaCommandVisibleInNextGet(t *testing.T) {
	ic := shared(t)
	c, err := Dial("unix", ic.UnixPath, queryTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Many rounds: TestProxyCommandThenGet holds the proxy to this, so it
	// must hold every time, not just usually.
	for i := 0; i < 200; i++ {
		state := 1 + i%2
		out := fmt.Sprintf("e2e direct %d %d", i, time.Now().UnixNano())
		if err := c.Send(checkResult("host-1", "svc-1", state, out), queryTimeout); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(serviceQuery("host-1", "svc-1", "KeepAlive: on\nResponseHeader: fixed16\n"), queryTimeout); err != nil {
			t.Fatal(err)
		}
		r, err := c.ReadFixed16(queryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		wantServiceState(t, r, state, out)
	}
}

// TestIcingaUnknownTable: with fixed16 an error code and text; without it,
// Icinga sends nothing at all and closes.
func TestIcingaUnknownTable(t *testing.T) {
	ic := shared(t)
	r, err := Query("unix", ic.UnixPath, "GET nosuchtable\nResponseHeader: fixed16\n\n", queryTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if r.Code < 400 || r.Code > 499 || len(r.Body) == 0 {
		t.Errorf("unknown table with fixed16: code %d body %.200q, want a 4xx with a text", r.Code, r.Body)
	}
	t.Logf("icinga: unknown table → %d %.100q", r.Code, r.Body)
	raw, err := QueryRaw("unix", ic.UnixPath, "GET nosuchtable\n\n", queryTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 0 {
		t.Errorf("unknown table without fixed16: got %.200q, want zero bytes (docs/protocol.md §2.3)", raw)
	}
}

// TestIcingaThreadPool pins the fact behind the proxy's capacity logic:
// with 2 × cores idle KeepAlive connections open, one more connection is
// accepted but not answered until one of them closes.
func TestIcingaThreadPool(t *testing.T) {
	ic := shared(t)
	var held []*Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	// Open connections one by one, each proven with a KeepAlive query,
	// until one is not answered; bounded well above any plausible pool.
	const maxConns = 32
	var stuck *Conn
	for i := 0; i < maxConns && stuck == nil; i++ {
		c, err := Dial("tcp", ic.TCPAddr, queryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if err := c.Send("GET status\nColumns: program_start\nKeepAlive: on\nResponseHeader: fixed16\n\n", queryTimeout); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReadFixed16(2 * time.Second); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("connection %d: %v", i+1, err)
			}
			stuck = c
		}
	}
	if stuck == nil {
		t.Fatalf("all %d KeepAlive connections answered; docs/protocol.md §3.1 says the pool is 2 × cores", maxConns)
	}
	// The proxy tests configure 10 channels and rely on Icinga serving
	// fewer; docs/protocol.md §3.1 measured 2 × cores.
	served := len(held) - 1
	if served < 1 || served >= 10 {
		t.Errorf("icinga served %d concurrent connections, want 1…9 (2 × cores = %d)", served, 2*runtime.NumCPU())
	}
	t.Logf("MEASURE icinga served %d concurrent KeepAlive connections (2 × cores = %d); number %d waits",
		served, 2*runtime.NumCPU(), len(held))
	// Closing one served connection lets the waiting one through.
	held[0].Close()
	held = held[1:]
	if r, err := stuck.ReadFixed16(queryTimeout); err != nil || r.Code != 200 {
		t.Fatalf("the waiting connection after one closed: code %d, %v", r.Code, err)
	}
}

// TestIcingaHarness: Freeze/Thaw, Stop and Start again on the same port.
func TestIcingaHarness(t *testing.T) {
	ic := ownIcinga(t, 2, 2)
	if err := ic.Validate(); err != nil {
		t.Fatal(err)
	}
	start1 := programStart(t, "tcp", ic.TCPAddr)

	if err := ic.Freeze(); err != nil {
		t.Fatal(err)
	}
	if _, err := Query("tcp", ic.TCPAddr, StatusQuery, 500*time.Millisecond); err == nil {
		t.Error("a frozen icinga2 answered")
	}
	if err := ic.Thaw(); err != nil {
		t.Fatal(err)
	}
	if got := programStart(t, "tcp", ic.TCPAddr); got != start1 {
		t.Errorf("program_start changed over freeze/thaw: %d → %d", start1, got)
	}

	if err := ic.Stop(icingaStopTimeout); err != nil {
		t.Fatal(err)
	}
	if _, err := Query("tcp", ic.TCPAddr, StatusQuery, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("tcp after stop: %v, want connection refused", err)
	}
	// Icinga leaves its UNIX socket file behind; connecting is refused.
	if _, err := Query("unix", ic.UnixPath, StatusQuery, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("unix after stop: %v, want connection refused (stale socket file)", err)
	}

	// program_start has a one-second resolution; make the restart visible.
	time.Sleep(time.Until(time.Unix(start1+1, 0)))
	if err := ic.Start(icingaStartTimeout); err != nil {
		t.Fatal(err)
	}
	if got := programStart(t, "tcp", ic.TCPAddr); got <= start1 {
		t.Errorf("program_start after restart %d, want > %d", got, start1)
	}
}

func programStart(t testing.TB, network, addr string) int64 {
	t.Helper()
	r, err := Query(network, addr, "GET status\nColumns: program_start\nOutputFormat: json\nResponseHeader: fixed16\n\n", queryTimeout)
	if err != nil {
		t.Fatal(err)
	}
	rows := decodeRows(t, r.Body)
	if r.Code != 200 || len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("status: %d %q", r.Code, r.Body)
	}
	v, ok := rows[0][0].(float64)
	if !ok || v <= 0 {
		t.Fatalf("program_start %v", rows[0][0])
	}
	return int64(v)
}

type endpoint struct{ name, network, addr string }

func endpoints(ic *Icinga) []endpoint {
	return []endpoint{{"unix", "unix", ic.UnixPath}, {"tcp", "tcp", ic.TCPAddr}}
}
