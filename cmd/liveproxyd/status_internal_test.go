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
