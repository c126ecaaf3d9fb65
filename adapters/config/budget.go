package config

import (
	"fmt"

	"go.starlark.net/starlark"
)

// The global memory budgets shared by all sites (see docs/memory.md). Like
// varMetrics they are ours, not Checkmk's: put them in a file under
// liveproxyd.d/, which the GUI does not rewrite.
const (
	varAnswerBufferTotal = "liveproxyd_answer_buffer_total"
	varQueryBufferTotal  = "liveproxyd_query_buffer_total"
)

// Defaults and limits of the budgets, in bytes. The answer budget holds
// sixteen default-sized (16 MiB) answers; the query budget a few hundred
// ordinary GUI queries in flight at once (they are a few KB each).
const (
	DefaultAnswerBufferTotal = 256 << 20
	DefaultQueryBufferTotal  = 64 << 20
	minBufferTotal           = 1 << 20
	maxBufferTotal           = 1 << 40
	minAnswerBuffer          = 1 << 10
	maxAnswerBuffer          = 1 << 30
)

// bufferTotals reads the two budget variables; absent means the default.
func bufferTotals(ev *evaluator) (answer, query int64, err error) {
	answer, err = bufferTotal(ev, varAnswerBufferTotal, "a", DefaultAnswerBufferTotal)
	if err != nil {
		return 0, 0, err
	}
	query, err = bufferTotal(ev, varQueryBufferTotal, "q", DefaultQueryBufferTotal)
	return answer, query, err
}

func bufferTotal(ev *evaluator, name, own string, def int64) (int64, error) {
	v, ok := ev.globals[name]
	if !ok || v == starlark.None {
		return def, nil
	}
	i, ok := intValue(v)
	if !ok || i < minBufferTotal || i > maxBufferTotal {
		file := ev.ownerOf(ownKey(own))
		return 0, &Error{File: file, Line: locate(ev.asts[file], name),
			Msg: fmt.Sprintf("%s: must be a number of bytes from %d to %d, got %s", name, minBufferTotal, maxBufferTotal, brief(v))}
	}
	return i, nil
}
