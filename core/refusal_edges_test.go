package core

import (
	"strings"
	"testing"
)

// TestRefusalReadsAResponseHeaderLineOfExactlySkimCarryBytes: a refused
// query is read past keeping at most skimCarry bytes of a line; a
// ResponseHeader line of exactly that length, arriving byte by byte, is
// still read whole, so the refusal is framed as it asks.
func TestRefusalReadsAResponseHeaderLineOfExactlySkimCarryBytes(t *testing.T) {
	line := "ResponseHeader:" + strings.Repeat(" ", skimCarry-len("ResponseHeader:fixed16")) + "fixed16"
	if len(line) != skimCarry {
		t.Fatalf("line of %d bytes, want %d", len(line), skimCarry)
	}
	h := newHarness(t, testConfig())
	h.start(1)
	h.accept(1)
	h.trickle(1, "GET hosts\n"+line+"\n\n", budgetFull)
	h.expectOut(1, string(ErrorReply(true, CodeBusy, bufferFullText)), true)
}
