package fakesite

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestFixed16JSON(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := startSite(t, network, Options{Hosts: 7, ServicesPerHost: 3})
			c := dial(t, s)
			c.send("GET hosts\nColumns: name address num_services groups\nOutputFormat: json\nResponseHeader: fixed16\n\n")
			code, body, last := c.readFixed16()
			if code != 200 || last != '\n' {
				t.Fatalf("code %d, last byte %q: %q", code, last, body)
			}
			var rows [][]any
			if err := json.Unmarshal([]byte(body), &rows); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, body)
			}
			if len(rows) != 7 {
				t.Fatalf("%d rows, want 7 (Columns: means no header row)", len(rows))
			}
			for i, r := range rows {
				want := []any{fmt.Sprintf("host%04d", i), hostAddress(i), float64(3), []any{"all", "hg" + strconv.Itoa(i%3)}}
				if fmt.Sprint(r) != fmt.Sprint(want) {
					t.Errorf("row %d = %v, want %v", i, r, want)
				}
			}
			// Without KeepAlive the server closes after the answer.
			c.expectClosed()
		})
	}
}

func TestPlainCSVThenClose(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := startSite(t, network, Options{Hosts: 2, ServicesPerHost: 2})
			c := dial(t, s)
			c.send("GET services\nColumns: host_name description host_groups\n\n")
			got := c.readAll()
			want := "host0000;svc000;all,hg0\nhost0000;svc001;all,hg0\nhost0001;svc000;all,hg1\nhost0001;svc001;all,hg1\n"
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestNoColumnsMeansAllWithHeader(t *testing.T) {
	s := startSite(t, "unix", Options{Hosts: 3})
	for _, table := range []string{"status", "hosts", "services", "columns"} {
		c := dial(t, s)
		code, body := c.query("GET " + table + "\nOutputFormat: json\n")
		var rows [][]any
		if err := json.Unmarshal([]byte(body), &rows); code != 200 || err != nil {
			t.Fatalf("%s: code %d, %v", table, code, err)
		}
		tb := tables[table]
		if len(rows) != tb.count(s.st.snapshot(Stats{}))+1 {
			t.Fatalf("%s: %d rows, want header plus %d", table, len(rows), tb.count(s.st.snapshot(Stats{})))
		}
		for i, col := range tb.cols {
			if rows[0][i] != col.name {
				t.Fatalf("%s: header %v, want column %d = %s", table, rows[0], i, col.name)
			}
		}
		for _, r := range rows {
			if len(r) != len(tb.cols) {
				t.Fatalf("%s: row %v has %d cells, want %d", table, r, len(r), len(tb.cols))
			}
		}
	}
}

func TestKeepAlivePipelined(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := startSite(t, network, Options{Hosts: 5})
			c := dial(t, s)
			var req strings.Builder
			for i := 0; i < 5; i++ {
				fmt.Fprintf(&req, "GET hosts\nColumns: name\nFilter: name = host%04d\nResponseHeader: fixed16\nKeepAlive: on\n\n", i)
			}
			c.send(req.String())
			for i := 0; i < 5; i++ {
				code, body, _ := c.readFixed16()
				if want := fmt.Sprintf("host%04d\n", i); code != 200 || body != want {
					t.Fatalf("answer %d: %d %q, want 200 %q", i, code, body, want)
				}
			}
			// Still open: one more query on the same connection.
			if code, body := c.query("GET status\nColumns: num_hosts\n"); code != 200 || body != "5\n" {
				t.Fatalf("after pipeline: %d %q", code, body)
			}
			if st := s.Stats(); st.Queries != 6 || st.ConnsAccepted != 1 {
				t.Fatalf("stats %+v, want 6 queries on 1 connection", st)
			}
		})
	}
}

func TestCommandChangesState(t *testing.T) {
	s := startSite(t, "unix", Options{Hosts: 3, ServicesPerHost: 4})
	c := dial(t, s)
	c.send("COMMAND [1700000123] PROCESS_SERVICE_CHECK_RESULT;host0002;svc001;2;CRIT - disk full; really\n\n")
	c.send("COMMAND [1700000124] PROCESS_HOST_CHECK_RESULT;host0001;1;DOWN - no ping\n\n")
	code, body := c.query("GET services\nColumns: state plugin_output last_check\nFilter: host_name = host0002\nFilter: description = svc001\n")
	if want := "2;CRIT - disk full; really;1700000123\n"; code != 200 || body != want {
		t.Fatalf("service after COMMAND: %d %q, want %q", code, body, want)
	}
	code, body = c.query("GET hosts\nColumns: name plugin_output\nFilter: state = 1\n")
	if want := "host0001;DOWN - no ping\n"; code != 200 || body != want {
		t.Fatalf("hosts down: %d %q, want %q", code, body, want)
	}
	// The service's host now shows up as down in the joined column.
	code, body = c.query("GET services\nColumns: description\nFilter: host_state = 1\nLimit: 2\n")
	if want := "svc000\nsvc001\n"; code != 200 || body != want {
		t.Fatalf("services of down host: %d %q, want %q", code, body, want)
	}
	st := s.Stats()
	if st.Commands != 2 || st.CommandErrors != 0 || len(st.LastCommands) != 2 ||
		!strings.Contains(st.LastCommands[1], "PROCESS_HOST_CHECK_RESULT;host0001") {
		t.Fatalf("stats %+v", st)
	}
}

func TestCommandErrorNaemon(t *testing.T) {
	s := startSite(t, "unix", Options{CommandError: true})
	c := dial(t, s)
	c.send("COMMAND [1] NO_SUCH_COMMAND;x\n\n")
	c.nc.SetReadDeadline(deadline())
	line, err := c.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "400: ") || !strings.Contains(line, "NO_SUCH_COMMAND") {
		t.Fatalf("after bad COMMAND: %q, %v", line, err)
	}
	c.send("COMMAND [1] PROCESS_HOST_CHECK_RESULT;nohost;0;x\n\n")
	if line, err := c.br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "400: ") {
		t.Fatalf("after COMMAND on unknown host: %q, %v", line, err)
	}
	// A good command writes nothing: the next bytes are the GET's header.
	c.send("COMMAND [1] PROCESS_HOST_CHECK_RESULT;host0000;0;fine\n\n")
	if code, body := c.query("GET hosts\nColumns: plugin_output\nLimit: 1\n"); code != 200 || body != "fine\n" {
		t.Fatalf("GET after good COMMAND: %d %q", code, body)
	}
	if st := s.Stats(); st.Commands != 3 || st.CommandErrors != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCommandSilentWithoutCommandError(t *testing.T) {
	s := startSite(t, "unix", Options{})
	c := dial(t, s)
	c.send("COMMAND [1] NO_SUCH_COMMAND\n\n")
	if code, body := c.query("GET status\nColumns: num_services\n"); code != 200 || body != "100\n" {
		t.Fatalf("GET after failed COMMAND: %d %q", code, body)
	}
}

func TestErrorsWithFixed16(t *testing.T) {
	cases := []struct {
		req, text string
		code      int
		keep      bool // connection stays usable (KeepAlive seen before the error)
	}{
		{"GET nosuch\nResponseHeader: fixed16\nKeepAlive: on\n\n", "no such table 'nosuch'", 404, true},
		{"GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nCache: reload\n\n", "Undefined request header 'Cache'", 400, true},
		{"GET hosts\nResponseHeader: fixed16\nBogus: 1\nKeepAlive: on\n\n", "Undefined request header 'Bogus'", 400, false},
		{"GET hosts\nResponseHeader: fixed16\nColumns: name nope\n\n", "Table 'hosts' has no column 'nope'", 400, false},
		{"GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nLimit: -1\n\n", "Limit", 400, true},
		{"GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nFilter: state\n\n", "Missing operator", 400, true},
		{"GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nFilter: name ~ (\n\n", "regular expression", 400, true},
		{"GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nOutputFormat: xml\n\n", "output format", 400, true},
		{"GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nAnd: 3\n\n", "Cannot combine", 400, true},
		{"GET hosts\nResponseHeader: fixed16\nKeepAlive: maybe\n\n", "KeepAlive", 400, false},
	}
	s := startSite(t, "unix", Options{})
	for _, tc := range cases {
		c := dial(t, s)
		c.send(tc.req)
		code, body, _ := c.readFixed16()
		if code != tc.code || !strings.Contains(body, tc.text) || !strings.HasSuffix(body, "\n") {
			t.Errorf("%q: %d %q, want %d containing %q", tc.req, code, body, tc.code, tc.text)
			continue
		}
		if tc.keep {
			if code, _ := c.query("GET status\nColumns: program_start\n"); code != 200 {
				t.Errorf("%q: next query on kept connection: %d", tc.req, code)
			}
		} else {
			c.expectClosed()
		}
	}
}

func TestErrorsWithoutFixed16(t *testing.T) {
	cases := []struct{ req, want string }{
		{"GET nosuch\nKeepAlive: on\n\n", "Invalid GET request, no such table 'nosuch'\n"},
		{"GET hosts\nKeepAlive: on\nCache: reload\n\n", "Undefined request header 'Cache'\n"},
		{"HELLO\n\n", "Invalid request method\n"},
		{"HELLO\nResponseHeader: fixed16\n\n", "Invalid request method\n"},
	}
	s := startSite(t, "tcp", Options{})
	for _, tc := range cases {
		c := dial(t, s)
		c.send(tc.req)
		if got := c.readAll(); got != tc.want {
			t.Errorf("%q: got %q, want text %q then close", tc.req, got, tc.want)
		}
	}
	if st := s.Stats(); st.Errors != int64(len(cases)) {
		t.Fatalf("stats count %d errors, want %d", st.Errors, len(cases))
	}
}

func TestEOFEndsRequest(t *testing.T) {
	s := startSite(t, "unix", Options{Hosts: 1})
	c := dial(t, s)
	c.send("GET hosts\nColumns: name\nResponseHeader: fixed16\n")
	c.closeWrite()
	if code, body, _ := c.readFixed16(); code != 200 || body != "host0000\n" {
		t.Fatalf("after EOF on a complete line: %d %q", code, body)
	}
	c.expectClosed()
}

func TestIncompleteRequest(t *testing.T) {
	s := startSite(t, "unix", Options{})
	for i, req := range []string{"GET hosts\nColum", "GET hos"} {
		c := dial(t, s)
		c.send(req)
		c.closeWrite()
		if got := c.readAll(); !strings.Contains(got, "incomplete") {
			t.Fatalf("%q then EOF: got %q", req, got)
		}
		if st := s.Stats(); st.Errors != int64(i+1) {
			t.Fatalf("stats %+v, want %d errors", st, i+1)
		}
	}
}

func TestRequestTooLarge(t *testing.T) {
	s := startSite(t, "unix", Options{})
	c := dial(t, s)
	line := "Filter: name = " + strings.Repeat("x", 1000) + "\n"
	// Write from a goroutine: the server stops reading at the limit.
	go func() {
		c.nc.Write([]byte("GET hosts\n" + strings.Repeat(line, MaxRequestBytes/len(line)+2)))
	}()
	if got := c.readAll(); !strings.Contains(got, "too large") {
		t.Fatalf("oversized request: got %q", got)
	}
}
