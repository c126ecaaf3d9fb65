package fakesite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// want counts services by state straight from the synthetic data, so the
// checks below compare two independent paths through the code.
func servicesByState(s *Server) [4]int {
	snap := s.st.snapshot(Stats{})
	var n [4]int
	for h := range snap.data.hosts {
		for sv := range snap.data.services {
			n[snap.service(h, sv).state]++
		}
	}
	return n
}

func TestFilterAndStats(t *testing.T) {
	s := startSite(t, "unix", Options{Hosts: 20, ServicesPerHost: 15})
	byState := servicesByState(s)
	if byState[0] == 0 || byState[1] == 0 || byState[2] == 0 || byState[3] == 0 {
		t.Fatalf("synthetic data should have every state: %v", byState)
	}
	c := dial(t, s)
	for st := 0; st < 4; st++ {
		_, body := c.query(fmt.Sprintf("GET services\nColumns: host_name description state\nFilter: state = %d\n", st))
		rows := csvRows(body)
		if len(rows) != byState[st] {
			t.Fatalf("Filter: state = %d gave %d rows, want %d", st, len(rows), byState[st])
		}
		for _, r := range rows {
			if r[2] != strconv.Itoa(st) {
				t.Fatalf("Filter: state = %d let through %v", st, r)
			}
		}
	}
	_, body := c.query("GET services\nStats: state = 0\nStats: state = 1\nStats: state = 2\nStats: state = 3\nStats: state != 0\nStats: sum state\nStats: max state\n")
	want := fmt.Sprintf("%d;%d;%d;%d;%d;%d;3\n", byState[0], byState[1], byState[2], byState[3],
		300-byState[0], byState[1]+2*byState[2]+3*byState[3])
	if body != want {
		t.Fatalf("Stats: got %q, want %q", body, want)
	}
	// Or/Negate on the filter stack, StatsOr on the stats stack.
	_, body = c.query("GET services\nStats: state = 1\nStats: state = 2\nStatsOr: 2\nStats: state = 0\nStatsNegate:\n")
	if want := fmt.Sprintf("%d;%d\n", byState[1]+byState[2], 300-byState[0]); body != want {
		t.Fatalf("StatsOr/StatsNegate: got %q, want %q", body, want)
	}
	_, body = c.query("GET services\nColumns: state\nFilter: state = 1\nFilter: state = 2\nOr: 2\nNegate:\n")
	if got := len(csvRows(body)); got != byState[0]+byState[3] {
		t.Fatalf("Or+Negate: %d rows, want %d", got, byState[0]+byState[3])
	}
}

func TestStatsGroupedAndLimit(t *testing.T) {
	s := startSite(t, "unix", Options{Hosts: 4, ServicesPerHost: 6})
	c := dial(t, s)
	_, body := c.query("GET services\nColumns: host_name\nStats: state >= 0\nStats: avg state\nOutputFormat: json\nColumnHeaders: on\n")
	var rows [][]any
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(rows) != 5 || fmt.Sprint(rows[0]) != "[host_name stats_1 stats_2]" {
		t.Fatalf("grouped stats: %v", rows)
	}
	for i, r := range rows[1:] {
		if r[0] != fmt.Sprintf("host%04d", i) || r[1] != float64(6) {
			t.Fatalf("group %d: %v", i, r)
		}
	}
	_, body = c.query("GET services\nColumns: description\nFilter: host_name = host0002\nLimit: 4\n")
	if body != "svc000\nsvc001\nsvc002\nsvc003\n" {
		t.Fatalf("Limit: %q", body)
	}
	_, body = c.query("GET hosts\nColumns: name\nFilter: name ~~ HOST000[13]\nFilter: groups >= hg1\n")
	if body != "host0001\n" {
		t.Fatalf("regex and list filter: %q", body)
	}
	_, body = c.query("GET hosts\nColumns: name\nLimit: 0\n")
	if body != "" {
		t.Fatalf("Limit: 0 gave %q", body)
	}
}

func TestSeparatorsAndFormats(t *testing.T) {
	s := startSite(t, "unix", Options{Hosts: 2, ServicesPerHost: 1})
	c := dial(t, s)
	c.send("GET hosts\nColumns: name groups\nSeparators: 2 124 47 35\nColumnHeaders: on\nResponseHeader: fixed16\nKeepAlive: on\n\n")
	code, body, last := c.readFixed16()
	if code != 200 || last != 2 || body != "name|groups\x02host0000|all/hg0\x02host0001|all/hg1\x02" {
		t.Fatalf("Separators: %d %q %q", code, last, body)
	}
	for _, f := range []string{"json", "python", "python3"} {
		_, body := c.query("GET hosts\nColumns: name num_services groups\nOutputFormat: " + f + "\n")
		if want := "[[\"host0000\",1,[\"all\",\"hg0\"]],\n[\"host0001\",1,[\"all\",\"hg1\"]]]\n"; body != want {
			t.Fatalf("%s: %q, want %q", f, body, want)
		}
	}
	_, body = c.query("GET hosts\nColumns: name\nFilter: name = nobody\nOutputFormat: json\n")
	if body != "[]\n" {
		t.Fatalf("empty JSON answer: %q", body)
	}
}

func TestJSONEscaping(t *testing.T) {
	s := startSite(t, "unix", Options{Hosts: 1, ServicesPerHost: 1})
	c := dial(t, s)
	output := "OK \"quoted\" back\\slash tab\there \u00e4\u20ac"
	c.send("COMMAND [5] PROCESS_SERVICE_CHECK_RESULT;host0000;svc000;0;" + output + "\n\n")
	_, body := c.query("GET services\nColumns: plugin_output\nOutputFormat: json\n")
	var rows [][]string
	if err := json.Unmarshal([]byte(body), &rows); err != nil || len(rows) != 1 || rows[0][0] != output {
		t.Fatalf("round trip through JSON: %v %q", err, body)
	}
}

func TestColumnsTableDescribesSchema(t *testing.T) {
	s := startSite(t, "unix", Options{})
	c := dial(t, s)
	_, body := c.query("GET columns\nColumns: table name type\nFilter: table = services\n")
	rows := csvRows(body)
	if len(rows) != len(tables["services"].cols) {
		t.Fatalf("%d service columns listed, schema has %d", len(rows), len(tables["services"].cols))
	}
	for i, r := range rows {
		col := tables["services"].cols[i]
		if r[1] != col.name || r[2] != kindNames[col.k] {
			t.Fatalf("row %v, want %s %s", r, col.name, kindNames[col.k])
		}
	}
}

// TestStreamedEqualsBuffered renders the same answers in memory and via
// the measure-then-stream path, which must agree byte for byte.
func TestStreamedEqualsBuffered(t *testing.T) {
	opts := Options{Hosts: 30, ServicesPerHost: 20}
	small := startSiteSpill(t, "unix", opts, 1<<10)
	big := startSite(t, "unix", opts)
	reqs := []string{
		"GET services\nOutputFormat: json\n",
		"GET services\nColumns: host_name description plugin_output\n",
		"GET hosts\nSeparators: 10 59 44 124\n",
	}
	for _, req := range reqs {
		c1, c2 := dial(t, small), dial(t, big)
		code1, b1 := c1.query(req)
		code2, b2 := c2.query(req)
		if code1 != 200 || code2 != 200 || len(b1) < 1<<10 || b1 != b2 {
			t.Fatalf("%q: streamed %d (%d bytes) vs buffered %d (%d bytes)", req, code1, len(b1), code2, len(b2))
		}
		// Without fixed16 the streamed answer is the same body.
		c3 := dial(t, small)
		c3.send(req + "\n")
		if got := c3.readAll(); got != b2 {
			t.Fatalf("%q without fixed16: %d bytes, want %d", req, len(got), len(b2))
		}
	}
}

func TestLargeAnswer(t *testing.T) {
	// 100 000 services with all columns: well over the in-memory limit.
	s := startSite(t, "tcp", Options{Hosts: 1000, ServicesPerHost: 100})
	c := dial(t, s)
	code, body := c.query("GET services\nOutputFormat: json\n")
	if code != 200 || len(body) <= defaultSpill {
		t.Fatalf("code %d, %d bytes, want more than %d", code, len(body), defaultSpill)
	}
	if n := bytes.Count([]byte(body), []byte("],\n[")); n != 100000 {
		t.Fatalf("%d row separators, want 100000 (header plus 100000 rows)", n)
	}
	var rows [][]any
	if err := json.Unmarshal([]byte(body), &rows); err != nil || len(rows) != 100001 {
		t.Fatalf("JSON: %v, %d rows", err, len(rows))
	}
	if last := rows[len(rows)-1]; last[0] != "host0999" || last[1] != "svc099" {
		t.Fatalf("last row %v", last[:2])
	}
	if !strings.HasSuffix(body, "]]\n") {
		t.Fatalf("body ends %q", body[len(body)-10:])
	}
}
