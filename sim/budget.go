package sim

import (
	"fmt"
	"math/rand/v2"

	"liveproxyd/core"
)

// The daemon's global memory budgets (core/memory.go): the real driver
// shares one counter per budget across all site loops and hands the core
// the room left with every event. The simulated driver does the same over
// the simulated sites, with budgets drawn per seed, so that a budget that
// is plentiful, tight or used up are all worlds the core must survive.

// budgetMode is how the world's global budgets are drawn.
type budgetMode uint8

const (
	budgetNone      budgetMode = iota // no Budget in events: the per-site limits alone
	budgetTight                       // small totals: holds and unfinished queries compete
	budgetExhausted                   // the answer budget has no room at all: every answer streams
	numBudgetModes
)

var budgetNames = [numBudgetModes]string{"none", "tight", "exhausted"}

func (m budgetMode) String() string { return budgetNames[m] }

// budgetStream is the PCG word of the memory draws. They come from their
// own stream so that adding them left every other draw of a seed as it was.
const budgetStream = 0x6a09e667f3bcc909

// budgetPlan is the world's pair of global budgets.
type budgetPlan struct {
	mode             budgetMode
	answerBytesTotal int64
	queryBytesTotal  int64
	rng              *rand.Rand // AnswerBuffer of each site, and the plan itself
}

func newBudgetPlan(seed uint64) budgetPlan {
	p := budgetPlan{rng: rand.New(rand.NewPCG(seed, budgetStream))}
	switch r := p.rng.IntN(10); {
	case r < 5:
		p.mode = budgetNone
	case r < 8:
		p.mode = budgetTight
		p.answerBytesTotal = int64(8<<10 + p.rng.IntN(64<<10))
		p.queryBytesTotal = int64(1<<10 + p.rng.IntN(5<<10))
	default:
		p.mode = budgetExhausted
		p.queryBytesTotal = 1 << 30
	}
	return p
}

func (p budgetPlan) String() string {
	if p.mode != budgetTight {
		return p.mode.String()
	}
	return fmt.Sprintf("tight (answers %d bytes, queries %d bytes)", p.answerBytesTotal, p.queryBytesTotal)
}

// answerBuffer draws a site's per-answer hold limit: small enough that
// bulky answers stream, large enough that most answers are held.
func (p budgetPlan) answerBuffer() int { return 2<<10 + p.rng.IntN(46<<10) }

// room is what the driver hands the core with an event: the totals minus
// what every site holds, as its last snapshot says.
func (w *World) room() *core.Budget {
	p := &w.budget
	if p.mode == budgetNone {
		return nil
	}
	b := &core.Budget{AnswerBytes: p.answerBytesTotal, QueryBytes: p.queryBytesTotal}
	for _, s := range w.sites {
		b.AnswerBytes -= s.snap.Memory.AnswerBytes
		b.QueryBytes -= s.snap.Memory.QueryBytes
	}
	return b
}

// holdsWhole tells whether the core must have held an answer of n bytes
// (header included) for a site with limit: every such answer fits the
// limit and the world's budget never runs out of room for it.
func (w *World) holdsWhole(limit, n int) bool {
	return w.budget.mode == budgetNone && n <= limit
}

// queryBufferFull is in the text of the core's refusal for a full query
// budget.
const queryBufferFull = "query buffer is full"

// queryBudgetTight: refusals for a full query buffer are fair only here.
func (w *World) queryBudgetTight() bool { return w.budget.mode == budgetTight }

// checkBudget runs after every step: what all sites hold stays within the
// world's budgets. Answers being held reserve room only where there is
// room, and unfinished query bytes grow only within it; bytes queued for
// clients (streamed, or delivered from a hold) may go beyond, bounded per
// client by the HighWater check.
func (w *World) checkBudget() {
	p := &w.budget
	if p.mode == budgetNone || w.err != nil {
		return
	}
	var held, query int64
	for _, s := range w.sites {
		held += s.snap.HeldAnswerBytes
		query += s.snap.Memory.QueryBytes
	}
	if held > p.answerBytesTotal || query > p.queryBytesTotal {
		w.fail(invBudgetMax, "sites hold %d bytes of answers and %d of unfinished queries, over the budgets of %d and %d",
			held, query, p.answerBytesTotal, p.queryBytesTotal)
	}
}
