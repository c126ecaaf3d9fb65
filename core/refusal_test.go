package core

import (
	"strings"
	"testing"
	"time"
)

// budgetFull is the room of a daemon whose query buffer is used up.
var budgetFull = &Budget{AnswerBytes: 1 << 20}

const bufferFullText = "site s1: liveproxyd's query buffer is full (liveproxyd_query_buffer_total), try again later"

// trickle sends data one byte per event, each under the given budget, and
// checks after each byte but the last that the client is neither answered
// nor holding any of its bytes.
func (h *harness) trickle(c ClientID, data string, b *Budget) {
	h.t.Helper()
	for i := 0; i < len(data); i++ {
		h.step(Event{Kind: EvClientData, Client: c, Data: []byte{data[i]}, Budget: b})
		if i == len(data)-1 {
			return
		}
		h.expectOut(c, "", false)
		if m := h.s.Memory(); m.QueryBytes != 0 {
			h.t.Fatalf("after byte %d: memory %+v, a refused query keeps nothing", i, m)
		}
	}
}

// TestRefusedQueryIsAnsweredAtItsEndFramedAsItAsks tells the story of sim
// seed 173: a client writing its query byte by byte met a full query
// budget after its first bytes and was answered at once, framed by a guess
// from those bytes. Checkmk's GUI puts ResponseHeader: fixed16 near the
// end, so it got plain text where it reads a fixed16 header. The refusal
// now waits for the query's end, keeping none of its bytes, and is framed
// as the query asked.
func TestRefusedQueryIsAnsweredAtItsEndFramedAsItAsks(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		fixed16     bool
	}{
		{"checkmk-gui", guiQuery("u", 1764600000), true},
		{"perl", "GET hosts\nColumns: name\nKeepAlive: on\nResponseHeader: fixed16\n\n", true},
		{"plain", "GET hosts\nColumns: name\nKeepAlive: on\n\n", false},
		{"blank-line-of-spaces", "GET hosts\nResponseHeader: fixed16\n  \t\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.start(1)
			h.accept(1)
			h.trickle(1, tc.query, budgetFull)
			h.expectOut(1, string(ErrorReply(tc.fixed16, CodeBusy, bufferFullText)), true)
			if snap := h.s.Snapshot(); snap.Memory.QueryBytes != 0 || snap.Stats.QueriesBusy != 1 {
				t.Fatalf("snapshot memory %+v, %d refused", snap.Memory, snap.Stats.QueriesBusy)
			}
			for ch, up := range h.up {
				if strings.Contains(up.String(), "GET hosts") {
					t.Fatalf("refused query reached channel %d", ch)
				}
			}
		})
	}
}

// TestRefusingClientThatNeverEndsIsClosedAfterReadTimeout: a refused
// client that keeps sending without ever ending its query is bounded by
// the same 10 s as any unfinished query, and answered with the best guess
// from the lines it sent.
func TestRefusingClientThatNeverEndsIsClosedAfterReadTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatInterval = time.Hour // keep the run to the query's clock
	h := newHarness(t, cfg)
	h.start(1)
	h.accept(1)
	h.trickle(1, "GET hosts\nResponseHeader: fixed16\nFilter: ", budgetFull)
	for i := 0; i < 9; i++ {
		h.run(time.Second)
		h.trickle(1, "name = x ", budgetFull) // never a line end
	}
	h.expectOut(1, "", false)
	h.run(time.Second)
	h.expectOut(1, string(ErrorReply(true, CodeBusy, bufferFullText)), true)
}

// TestRefusingClientIsAnsweredAtEOFWithBestGuess: a client that ends its
// stream before its query does gets the refusal framed as its lines so
// far say, the half line included.
func TestRefusingClientIsAnsweredAtEOFWithBestGuess(t *testing.T) {
	for _, tc := range []struct {
		sent    string
		fixed16 bool
	}{
		{"GET hosts\nColumns: name\n", false},
		{"GET hosts\nResponseHeader: fixed16", true},
	} {
		h := newHarness(t, testConfig())
		h.start(1)
		h.accept(1)
		h.trickle(1, tc.sent, budgetFull)
		h.step(Event{Kind: EvClientEOF, Client: 1})
		h.expectOut(1, string(ErrorReply(tc.fixed16, CodeBusy, bufferFullText)), true)
	}
}

// TestRefusalBehindCommandAnswersTheQueryAfterIt: a COMMAND gets no reply,
// so when the input pipelined behind a pending COMMAND is refused, the
// refusal is the answer to the query after it, framed as that one asks.
func TestRefusalBehindCommandAnswersTheQueryAfterIt(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.send(1, "COMMAND [1700000000] SCHEDULE_HOST_CHECK;h;1\n")
	h.busyChannel(1)
	h.trickle(1, "COMMAND [1700000000] X\n"+guiQuery("u", 1764600000), budgetFull)
	h.expectOut(1, string(ErrorReply(true, CodeBusy, bufferFullText)), true)
}

// TestTooLargeQueryIsAnsweredAtItsEndFramedAsItAsks: a query over
// max_query_bytes is refused the same way, so the 413 reaches a client
// whose ResponseHeader comes after the limit as a fixed16 header, and none
// of the query is kept past the limit.
func TestTooLargeQueryIsAnsweredAtItsEndFramedAsItAsks(t *testing.T) {
	h := newHarness(t, testConfig()) // MaxQueryBytes 4096
	h.start(1)
	h.accept(1)
	filter := "Filter: name = " + strings.Repeat("x", 100) + "\n"
	h.send(1, "GET hosts\n"+strings.Repeat(filter, 45))
	if m := h.s.Memory(); m.QueryBytes != 0 || h.shut[1] {
		t.Fatalf("memory %+v (closed %v) once the query is over the limit", m, h.shut[1])
	}
	h.send(1, strings.Repeat(filter, 100)+"OutputFormat: json\n")
	h.send(1, "ResponseHeader: fixed16\n\n")
	h.expectOut(1, string(ErrorReply(true, CodeTooLarge, "site s1: query too large (limit 4096 bytes)")), true)
}
