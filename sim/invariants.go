package sim

import "fmt"

// Invariant names one property the simulator checks. Every failed check
// reports one, so that a failure says which promise broke before it says
// how, and a test that plants a bug can ask for the check meant to catch it
// instead of matching message text.
type Invariant uint8

// Class says what kind of promise an invariant is, as in TigerBeetle's
// simulator: a safety violation is wrong at the instant it happens, a
// liveness violation is something right that did not happen in time.
type Class uint8

const (
	Safety   Class = iota + 1 // something bad never happens: a wrong byte, a broken contract
	Liveness                  // something good happens within its bound: an answer, a close, a found hang
)

func (c Class) String() string {
	switch c {
	case Safety:
		return "safety"
	case Liveness:
		return "liveness"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// The invariants, grouped by where they are checked: what a client
// receives (check.go, cache.go), what the core asks of its driver
// (driver.go, client.go), the core's picture against the world's (audit.go,
// stats.go, budget.go), what reaches the site (server.go), and the bounds
// in time (audit.go, episode.go, world.go).
const (
	invAnswerBytes Invariant = iota + 1
	invBytesUnasked
	invBytesAfterError
	invCacheFresh
	invErrorHeader
	invErrorCode
	invErrorLength
	invErrorOneLine
	invErrorNamesSite
	invTextReplyKnown
	invBusyText
	invErrorFair
	invTimeoutFair
	invErrorWhole
	invAnswerHeldWhole
	invAnswerCutFair
	invCloseAfterAnswers

	invStepNotReentered
	invActionKnown
	invChannelKnown
	invChannelWriteOpen
	invChannelCloseOnce
	invDriverContract
	invShutdownComplete
	invClientKnown
	invClientWriteOpen
	invClientCloseOnce
	invClientBufferMax

	invCoreInvariants
	invProgramStartReal
	invChannelsMatch
	invClientsMatch
	invProbeOnlyProbes
	invChannelsPoolMax
	invChannelsFreeMax
	invBudgetMax
	invStatsMonotonic
	invStatsMatchWorld
	invDeathCounted

	invUpstreamNotEmpty
	invUpstreamWellFormed
	invHeartbeatFramed
	invUpstreamKnown
	invUpstreamCanonical
	invUpstreamOrder

	invNoFalseDeath
	invHangDetected
	invRecovery
	invAnswerWaitMax
	invCloseWaitMax
	invDrainComplete
	invNoLivelock

	numInvariants
)

// invariantTable is the list of invariants: one line each, its name, its
// class and the promise it stands for.
var invariantTable = [numInvariants]struct {
	name  string
	class Class
	what  string
}{
	invAnswerBytes:       {"answer-bytes", Safety, "every byte of an answer is the site's answer to the client's own request, at its offset"},
	invBytesUnasked:      {"bytes-unasked", Safety, "no bytes reach a client that has no query waiting for an answer"},
	invBytesAfterError:   {"bytes-after-error", Safety, "nothing but the close follows an error reply"},
	invCacheFresh:        {"cache-fresh", Safety, "a cached answer is never older than the program_start the core knew when the query came"},
	invErrorHeader:       {"error-header", Safety, "an error reply's fixed16 header parses as the real clients parse it"},
	invErrorCode:         {"error-code", Safety, "an error code fits the query: 400, 413 or 451 for the proxy's refusals, else 502, 503 or 504"},
	invErrorLength:       {"error-length", Safety, "an error reply is 1 byte to 1 KiB long"},
	invErrorOneLine:      {"error-one-line", Safety, "an error reply is exactly one line"},
	invErrorNamesSite:    {"error-names-site", Safety, "an error for a forwarded query starts with \"site NAME: \", unless it is the busy text"},
	invTextReplyKnown:    {"text-reply-known", Safety, "without fixed16, bytes that are not the own answer are an error text naming the site, a refusal or the busy text"},
	invBusyText:          {"busy-text", Safety, "a busy error is Checkmk's text word for word, with a channel count configured since the query came"},
	invErrorFair:         {"error-fair", Safety, "a 502 has a cause the world saw; a 503 comes after channel_timeout or with a full query budget"},
	invTimeoutFair:       {"timeout-fair", Safety, "a 504 comes only if the site broke, hung or restarted on the query or took the query timeout"},
	invErrorWhole:        {"error-whole", Safety, "a client is never closed in the middle of an error reply"},
	invAnswerHeldWhole:   {"answer-held-whole", Safety, "an answer that fits the hold limit reaches the client whole or not at all"},
	invAnswerCutFair:     {"answer-cut-fair", Safety, "an answer is cut short only if the site broke it or the core called the site dead"},
	invCloseAfterAnswers: {"close-after-answers", Safety, "a client is closed only after every query it sent is answered, or after an error reply"},

	invStepNotReentered: {"step-not-reentered", Safety, "the driver never calls Step from inside Step (a check of the simulator itself)"},
	invActionKnown:      {"action-known", Safety, "every action is of a kind a driver knows"},
	invChannelKnown:     {"channel-known", Safety, "writes, closes, pauses and resumes name channels that were dialled"},
	invChannelWriteOpen: {"channel-write-open", Safety, "the core writes only to channels that are connected and not closed"},
	invChannelCloseOnce: {"channel-close-once", Safety, "the core closes a channel at most once"},
	invDriverContract:   {"driver-contract", Safety, "every Step's actions keep core.Contract: IDs in order, no use of a closed connection, valid fields, a future deadline"},
	invShutdownComplete: {"shutdown-complete", Safety, "the shutdown step closes every client and channel, and nothing is dialled after it"},
	invClientKnown:      {"client-known", Safety, "writes and closes name clients that were accepted"},
	invClientWriteOpen:  {"client-write-open", Safety, "the core writes to no client it closed or that went away"},
	invClientCloseOnce:  {"client-close-once", Safety, "the core closes a client at most once, and not after it went away"},
	invClientBufferMax:  {"client-buffer-max", Safety, "a client's unflushed bytes stay within HighWater plus one read or one held answer"},

	invCoreInvariants:   {"core-invariants", Safety, "the core's own CheckInvariants holds after every step"},
	invProgramStartReal: {"program-start-real", Safety, "a program_start the core reports is one the site really had"},
	invChannelsMatch:    {"channels-match", Safety, "the core lists exactly the channels the driver has open"},
	invClientsMatch:     {"clients-match", Safety, "the core knows exactly the clients the driver has open, and busy channels serve open ones"},
	invProbeOnlyProbes:  {"probe-only-probes", Safety, "the extra channel outside the pool only connects and probes"},
	invChannelsPoolMax:  {"channels-pool-max", Safety, "the pool never exceeds the most channels ever configured, plus one probe, and dials within the count now"},
	invChannelsFreeMax:  {"channels-free-max", Safety, "no more channels are free than are configured now"},
	invBudgetMax:        {"budget-max", Safety, "held answers and unfinished queries of all sites stay within the global budgets"},
	invStatsMonotonic:   {"stats-monotonic", Safety, "the core's counters never go down"},
	invStatsMatchWorld:  {"stats-match-world", Safety, "each counter lies between what the world saw happen and what it allows"},
	invDeathCounted:     {"death-counted", Safety, "a death for a lost heartbeat or a failed connect counts that heartbeat or connect"},

	invUpstreamNotEmpty:   {"upstream-not-empty", Safety, "the proxy never sends an empty request (Icinga closes the connection on one)"},
	invUpstreamWellFormed: {"upstream-well-formed", Safety, "upstream requests are GET or COMMAND, LF only, COMMAND alone on its line"},
	invHeartbeatFramed:    {"heartbeat-framed", Safety, "a heartbeat asks for fixed16 and KeepAlive and carries no header a server rejects"},
	invUpstreamKnown:      {"upstream-known", Safety, "every request the site gets is one a client sent"},
	invUpstreamCanonical:  {"upstream-canonical", Safety, "a forwarded request is, byte for byte, the canonical form of the client's"},
	invUpstreamOrder:      {"upstream-order", Safety, "a client's COMMAND reaches the site before the queries it sent after it"},

	invNoFalseDeath:  {"no-false-death", Liveness, "a site that answers is declared dead for silence only during or soon after a site-wide fault"},
	invHangDetected:  {"hang-detected", Liveness, "a hung site is declared dead within heartbeat interval + timeout (+ a tick) of its last read"},
	invRecovery:      {"recovery", Liveness, "after a site-wide fault ends, a query that reaches the site succeeds within the recovery bound"},
	invAnswerWaitMax: {"answer-wait-max", Liveness, "no query waits longer than its bound for the next byte of its answer"},
	invCloseWaitMax:  {"close-wait-max", Liveness, "a client whose queries are all answered is closed within the same bound"},
	invDrainComplete: {"drain-complete", Liveness, "after shutdown and drain every client is closed and every query answered"},
	invNoLivelock:    {"no-livelock", Liveness, "virtual time moves on: bounded steps at one instant, bounded events per run"},
}

// String is the invariant's name, as failures print it.
func (i Invariant) String() string {
	if i > 0 && i < numInvariants {
		return invariantTable[i].name
	}
	return fmt.Sprintf("invariant(%d)", uint8(i))
}

// Class tells whether the invariant is a safety or a liveness property.
func (i Invariant) Class() Class {
	if i > 0 && i < numInvariants {
		return invariantTable[i].class
	}
	return 0
}

// What is the promise the invariant stands for, in one line.
func (i Invariant) What() string {
	if i > 0 && i < numInvariants {
		return invariantTable[i].what
	}
	return ""
}
