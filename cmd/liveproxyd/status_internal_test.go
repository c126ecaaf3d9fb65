package main

import (
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/statefile"
)

func TestStatusCells(t *testing.T) {
	written := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Time{}, "-"},                            // unavailable site: no since
		{written.Add(time.Second), "-"},               // clock skew: never negative
		{written.Add(-1400 * time.Millisecond), "1s"}, // seconds under a minute
		{written.Add(-90 * time.Second), "2m"},
		{written.Add(-(3*time.Hour + 20*time.Minute + 40*time.Second)), "3h21m"},
	} {
		if got := since(tc.at, written); got != tc.want {
			t.Errorf("since(%v) = %q, want %q", written.Sub(tc.at), got, tc.want)
		}
	}
	for ms, want := range map[float64]string{0: "-", 0.123: "0.12ms", 9.5: "9.50ms", 44.4: "44ms"} {
		if got := formatRTT(ms); got != want {
			t.Errorf("formatRTT(%v) = %q, want %q", ms, got, want)
		}
	}

	at := time.Date(2026, 1, 1, 8, 9, 10, 0, time.Local)
	long := statefile.Site{LastError: "invalid response:\n" + strings.Repeat("trace ", 40), LastErrorAt: &at}
	got := lastError(long)
	if !strings.HasPrefix(got, "08:09:10 invalid response: trace") || strings.Contains(got, "\n") ||
		!strings.HasSuffix(got, "…") || len([]rune(got)) != len("08:09:10 ")+maxErrorText {
		t.Errorf("long error cell %q", got)
	}
	if got := lastError(statefile.Site{}); got != "-" {
		t.Errorf("no error: %q", got)
	}
}

func TestCountChannels(t *testing.T) {
	chs := []statefile.Channel{
		{State: "free"}, {State: "busy"}, {State: "heartbeat"}, {State: "connecting"}, {State: "probing"}, {State: "free"},
	}
	if free, busy, connecting := countChannels(chs); free != 2 || busy != 2 || connecting != 2 {
		t.Fatalf("free %d busy %d connecting %d, want 2 each", free, busy, connecting)
	}
}

// The TCP column shows each site's listener; one that is not served reads
// "error" there, and its reason follows the table on a line of its own.
func TestStatusTableShowsTCPListener(t *testing.T) {
	written := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f := &statefile.File{Written: written, PID: 1, Sites: []statefile.Site{
		{Name: "a", State: "alive"},
		{Name: "b", State: "alive", TCP: &statefile.TCPListener{Address: ":6560"}},
		{Name: "c", State: "alive", TCP: &statefile.TCPListener{Address: ":6561", TLS: true}},
		{Name: "d", State: "alive", TCP: &statefile.TCPListener{Address: ":6562", TLS: true,
			Error: "site certificate /omd/sites/x/etc/ssl/sites/x.pem:\nno such file or directory"}},
	}}
	var b strings.Builder
	printTable(&b, f, true, time.Second)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 9 {
		t.Fatalf("want a heading, a header, 4 rows, a blank line and 1 error line:\n%s", b.String())
	}
	if h := strings.Fields(lines[2]); len(h) != 11 || h[8] != "TCP" {
		t.Fatalf("header %q, want TCP as the 9th column", lines[2])
	}
	for i, want := range []string{"-", ":6560", ":6561/tls", "error"} {
		if row := strings.Fields(lines[3+i]); len(row) < 9 || row[8] != want {
			t.Errorf("row %q: TCP cell, want %q", lines[3+i], want)
		}
	}
	if want := "site d: TCP listener :6562/tls not served: site certificate /omd/sites/x/etc/ssl/sites/x.pem: no such file or directory"; lines[8] != want {
		t.Errorf("error line %q, want %q", lines[8], want)
	}
}
