package driver

import (
	"sync/atomic"

	"liveproxyd/core"
)

// Budget is the daemon's pair of global memory budgets (docs/memory.md),
// shared by every site loop. It holds no policy: a loop hands its core the
// room left with each event and adds what the core then reports to hold;
// the core decides what to do when there is no room. Loops step at the
// same time, so two may each be granted the last room at once: the totals
// can be exceeded by at most one answer buffer (or one read of query
// bytes) per site loop, for as long as those answers are held.
type Budget struct {
	answerTotal, queryTotal atomic.Int64
	answerUsed, queryUsed   atomic.Int64
}

// NewBudget returns budgets of the given totals, in bytes.
func NewBudget(answerTotal, queryTotal int64) *Budget {
	b := &Budget{}
	b.SetTotals(answerTotal, queryTotal)
	return b
}

// SetTotals changes the totals (a reload); what is held stays held.
func (b *Budget) SetTotals(answerTotal, queryTotal int64) {
	b.answerTotal.Store(answerTotal)
	b.queryTotal.Store(queryTotal)
}

// Used is what all sites hold now.
func (b *Budget) Used() core.MemoryUse {
	return core.MemoryUse{AnswerBytes: b.answerUsed.Load(), QueryBytes: b.queryUsed.Load()}
}

// room is the core's view of the budgets for one event; nil without any.
func (b *Budget) room() *core.Budget {
	if b == nil {
		return nil
	}
	return &core.Budget{
		AnswerBytes: b.answerTotal.Load() - b.answerUsed.Load(),
		QueryBytes:  b.queryTotal.Load() - b.queryUsed.Load(),
	}
}

// add counts the change of one site's holdings.
func (b *Budget) add(d core.MemoryUse) {
	if b == nil {
		return
	}
	if d.AnswerBytes != 0 {
		b.answerUsed.Add(d.AnswerBytes)
	}
	if d.QueryBytes != 0 {
		b.queryUsed.Add(d.QueryBytes)
	}
}

// account moves the loop's share of the budgets to what its core holds
// now. Called after every Step, and with a zero use when the loop ends.
func (l *Loop) account(use core.MemoryUse) {
	l.opts.Budget.add(core.MemoryUse{
		AnswerBytes: use.AnswerBytes - l.used.AnswerBytes,
		QueryBytes:  use.QueryBytes - l.used.QueryBytes,
	})
	l.used = use
}
