package fakesite

import (
	"fmt"
	"strconv"
	"strings"
)

// Livestatus status codes the fake site answers with.
const (
	codeOK             = 200
	codeBadRequest     = 400 // bad or unknown header
	codeNotFound       = 404 // no such table
	codeTooLarge       = 413
	codeIncomplete     = 451 // EOF inside a request line
	codeInvalidRequest = 452
)

// lsError is an error reply: a status code and the one-line text that
// real servers put in the body.
type lsError struct {
	code int
	msg  string
}

func (e *lsError) Error() string { return fmt.Sprintf("%d: %s", e.code, e.msg) }

func badRequest(format string, args ...any) *lsError {
	return &lsError{code: codeBadRequest, msg: fmt.Sprintf(format, args...)}
}

// query is a parsed GET request.
type query struct {
	table     *table
	cols      []*column // nil: all columns, with a header row
	headers   bool      // ColumnHeaders
	headerSet bool
	filters   []filter // an implicit AND of what is left on the stack
	stats     []*stat
	limit     int // -1: none
	format    string
	seps      [4]byte // dataset, column, list, host/service
	sepsSet   bool
	fixed16   bool
	keepAlive bool
	stop      int // the index of the line parseGet stopped at, if it did
}

func defaultQuery() *query {
	return &query{limit: -1, format: "csv", seps: [4]byte{'\n', ';', ',', '|'}}
}

// headersWithoutTable are the only headers looked at when the table is
// unknown: real servers still honour ResponseHeader and KeepAlive there.
var headersWithoutTable = map[string]bool{"ResponseHeader": true, "KeepAlive": true}

// parseGet parses `GET table` and its header lines. Like real servers it
// stops at the first bad header, so flags after it stay unset; the partly
// filled query is returned with the error so that the reply can honour
// ResponseHeader and KeepAlive seen before it.
func parseGet(lines []string) (*query, *lsError) {
	q := defaultQuery()
	name := strings.TrimSpace(strings.TrimPrefix(lines[0], "GET"))
	var tableErr *lsError
	q.table = tables[name]
	switch {
	case name == "":
		tableErr = &lsError{code: codeInvalidRequest, msg: "Invalid GET request, missing table name"}
	case q.table == nil:
		tableErr = &lsError{code: codeNotFound, msg: fmt.Sprintf("Invalid GET request, no such table '%s'", name)}
	}
	for i, line := range lines[1:] {
		q.stop = i + 1
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return q, badRequest("Missing ':' in header line '%s'", line)
		}
		val = strings.TrimLeft(val, " \t")
		if tableErr != nil && !headersWithoutTable[key] {
			if _, known := headerParsers[key]; known {
				continue
			}
			return q, tableErr
		}
		p, known := headerParsers[key]
		if !known {
			return q, badRequest("Undefined request header '%s'", key)
		}
		if err := p(q, val); err != nil {
			return q, err
		}
	}
	q.stop = 0
	if tableErr != nil {
		return q, tableErr
	}
	if !q.headerSet {
		q.headers = q.cols == nil && q.stats == nil
	}
	return q, nil
}

type headerParser func(q *query, val string) *lsError

// headerParsers lists every header the fake site knows; any other one is a
// 400, as on naemon (this is why the proxy must strip its own Cache: line).
var headerParsers = map[string]headerParser{
	"Columns":        parseColumns,
	"Filter":         func(q *query, v string) *lsError { return q.pushFilter(v) },
	"And":            func(q *query, v string) *lsError { return q.combine(v, true) },
	"Or":             func(q *query, v string) *lsError { return q.combine(v, false) },
	"Negate":         func(q *query, _ string) *lsError { return q.negate() },
	"Stats":          func(q *query, v string) *lsError { return q.pushStat(v) },
	"StatsAnd":       func(q *query, v string) *lsError { return q.combineStats(v, true) },
	"StatsOr":        func(q *query, v string) *lsError { return q.combineStats(v, false) },
	"StatsNegate":    func(q *query, _ string) *lsError { return q.negateStat() },
	"Limit":          parseLimit,
	"OutputFormat":   parseFormat,
	"ColumnHeaders":  parseColumnHeaders,
	"ResponseHeader": parseResponseHeader,
	"KeepAlive":      parseKeepAlive,
	"Separators":     parseSeparators,
	// Accepted and ignored: they change nothing a synthetic site shows.
	"AuthUser":            ignore,
	"Localtime":           ignore,
	"Timelimit":           ignore,
	"WaitObject":          ignore,
	"WaitCondition":       ignore,
	"WaitConditionAnd":    ignore,
	"WaitConditionOr":     ignore,
	"WaitConditionNegate": ignore,
	"WaitTrigger":         ignore,
	"WaitTimeout":         ignore,
}

func ignore(*query, string) *lsError { return nil }

func (q *query) column(name string) (*column, *lsError) {
	c, ok := q.table.byName[name]
	if !ok {
		return nil, badRequest("Table '%s' has no column '%s'", q.table.name, name)
	}
	return c, nil
}

func parseColumns(q *query, v string) *lsError {
	for _, name := range strings.Fields(v) {
		c, err := q.column(name)
		if err != nil {
			return err
		}
		q.cols = append(q.cols, c)
	}
	if q.cols == nil {
		q.cols = []*column{} // an empty Columns: header still switches headers off
	}
	return nil
}

func parseLimit(q *query, v string) *lsError {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return badRequest("Invalid value for Limit: must be non-negative integer")
	}
	q.limit = n
	return nil
}

func parseFormat(q *query, v string) *lsError {
	switch v {
	case "csv", "json", "python", "python3":
		q.format = v
		return nil
	}
	return badRequest("Invalid output format '%s'. Only 'csv', 'json', 'python' and 'python3' are available.", v)
}

func parseOnOff(v, header string) (bool, *lsError) {
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, badRequest("Invalid value for %s: must be 'on' or 'off'", header)
}

func parseColumnHeaders(q *query, v string) *lsError {
	on, err := parseOnOff(v, "ColumnHeaders")
	q.headers, q.headerSet = on, err == nil
	return err
}

func parseKeepAlive(q *query, v string) *lsError {
	on, err := parseOnOff(v, "KeepAlive")
	if err == nil {
		q.keepAlive = on
	}
	return err
}

func parseResponseHeader(q *query, v string) *lsError {
	switch v {
	case "fixed16":
		q.fixed16 = true
	case "off":
		q.fixed16 = false
	default:
		return badRequest("Invalid value '%s' for ResponseHeader: must be 'off' or 'fixed16'", v)
	}
	return nil
}

// parseSeparators reads up to four decimal byte values (dataset, column,
// list, host/service), as Livestatus does.
func parseSeparators(q *query, v string) *lsError {
	f := strings.Fields(v)
	if len(f) == 0 || len(f) > 4 {
		return badRequest("Invalid value for Separators: need 1 to 4 decimal byte values")
	}
	for i, s := range f {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 255 {
			return badRequest("Invalid separator '%s'", s)
		}
		q.seps[i] = byte(n)
	}
	q.sepsSet = true
	return nil
}
