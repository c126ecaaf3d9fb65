package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestProxyRefusesRequestSmuggling: to Icinga 2 a line of only whitespace
// ends a request, and the rest of the text is a second request. An
// attacker who hides one behind such a line must not have it answered on
// the shared channel after the next client was given it: that client must
// get exactly its own answer, and its "Cache: reload" entry must hold
// nothing foreign. One channel forces sharing; the attacker's first query
// is slow, so the victim waits for the channel and is given it the moment
// the attacker's first answer is complete. (A proxy that forwards the
// line as it came makes Icinga answer the hidden request without fixed16
// and close, and the victim gets a 502 — or, on a server that kept the
// channel, the attacker's bytes.)
func TestProxyRefusesRequestSmuggling(t *testing.T) {
	ic := shared(t)
	px := startProxy(t, ic, bigAnswerParams(1))
	// A few hundred milliseconds of rendering in Icinga (10,000 services).
	slow := "GET services\nColumns: host_name description plugin_output check_command\n"
	for round, blank := range []string{" ", "\t", "\r\r", "\v", "\f", "  "} {
		victimHost := fmt.Sprintf("host-%d", 10+round)
		plantHost := fmt.Sprintf("host-%d", 50+round)
		attack := slow + "KeepAlive: on\nResponseHeader: fixed16\n" + blank + "\n" +
			"GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nColumns: name\nFilter: name = " + plantHost + "\n\n"
		victim := "GET hosts\nColumns: name\nFilter: name = " + victimHost +
			"\nAuthUser: victim\nCache: reload\nResponseHeader: fixed16\n\n"

		a, err := Dial("unix", px.Socket(siteName), queryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Send(attack, queryTimeout); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond) // the slow query is on the channel now
		got := proxyQuery(t, px, victim)
		// The attacker reads what it gets (its own two answers, or an
		// error), so its connection never holds the channel up.
		first, err1 := a.ReadFixed16(queryTimeout)
		second, err2 := a.ReadFixed16(5 * time.Second)
		a.Close()
		if got.Code != 200 || string(got.Body) != victimHost+"\n" {
			t.Errorf("round %d (%q): victim got %d %q, want its own %q (the attacker planted %q)",
				round, blank, got.Code, got.Body, victimHost+"\n", plantHost)
		}
		again := proxyQuery(t, px, victim) // a cache hit now
		if again.Code != 200 || string(again.Body) != victimHost+"\n" {
			t.Errorf("round %d (%q): cached answer %d %q, want %q", round, blank, again.Code, again.Body, victimHost+"\n")
		}
		// The proxy reads the attacker's text as Icinga does: two queries,
		// each answered to the attacker.
		if err1 != nil || err2 != nil || first.Code != 200 || second.Code != 200 ||
			strings.Count(string(first.Body), "\n") < 1000 || string(second.Body) != plantHost+"\n" {
			t.Errorf("round %d (%q): attacker got %d (%d bytes) %v and %d %.80q %v, want its two answers",
				round, blank, first.Code, len(first.Body), err1, second.Code, second.Body, err2)
		}
	}
}
