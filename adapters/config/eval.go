package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// The two variables Checkmk's files fill.
const (
	varSites    = "sites"
	varDefaults = "liveproxyd_default_connection_params"
)

// Limits that keep a broken file from hanging or exhausting the daemon. A
// declarative config costs ~0.25 steps per byte (2000 sites: 104k steps for
// 464 KB), so the per-file budget leaves ample room for loops and
// comprehensions while bounding what a file can compute.
const (
	maxFileBytes  = 16 << 20
	baseSteps     = 100_000
	stepsPerByte  = 4
	maxRangeItems = 1_000_000
)

// fileOptions accept the Python statements config files may use at top
// level (if/for, rebinding a name) that plain Starlark refuses. Recursion
// stays off: it would let a file grow the Go stack without bound.
var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true}

// evaluator runs the files in one shared namespace, as Checkmk's exec does,
// and remembers which file last changed each site, key and default, so a
// problem found after evaluation can be blamed on the right file and line.
type evaluator struct {
	thread  *starlark.Thread
	globals starlark.StringDict
	asts    map[string]*syntax.File
	owner   map[string]string // ownership key (see snapshot) -> file
	order   []string
}

func newEvaluator() *evaluator {
	th := &starlark.Thread{Name: "liveproxyd config", Print: func(*starlark.Thread, string) {}}
	return &evaluator{
		thread: th,
		globals: starlark.StringDict{
			varSites:    starlark.NewDict(0),
			varDefaults: starlark.NewDict(0),
			// Shadows the universal range: list(range(n)) is a single
			// step, so the step limit alone would not bound it.
			"range": starlark.NewBuiltin("range", boundedRange),
		},
		asts:  map[string]*syntax.File{},
		owner: map[string]string{},
	}
}

// exec evaluates one file into the shared namespace.
func (ev *evaluator) exec(path string) error {
	src, err := readFile(path)
	if err != nil {
		return &Error{File: path, Msg: "cannot read configuration: " + err.Error()}
	}
	ev.order = append(ev.order, path)
	before := ev.snapshot()
	f, prog, err := starlark.SourceProgramOptions(fileOptions, path, src, ev.globals.Has)
	if err != nil {
		return starlarkError(path, err)
	}
	ev.asts[path] = f
	ev.thread.SetMaxExecutionSteps(ev.thread.ExecutionSteps() + baseSteps + stepsPerByte*uint64(len(src)))
	g, err := prog.Init(ev.thread, ev.globals)
	if err != nil {
		return starlarkError(path, err)
	}
	// Globals are left unfrozen so the next file may still update them.
	for name, v := range g {
		ev.globals[name] = v
	}
	for k, v := range ev.snapshot() {
		if before[k] != v {
			ev.owner[k] = path
		}
	}
	return nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(src) > maxFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxFileBytes)
	}
	// Python accepts a UTF-8 byte order mark and (Checkmk up to 1.6 wrote
	// them) Python 2 string literals; Starlark accepts neither.
	return FromPython2(bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))), nil
}

// starlarkError turns a parse, resolve or evaluation error into an *Error
// at the position Starlark reports.
func starlarkError(path string, err error) *Error {
	var (
		se syntax.Error
		re resolve.ErrorList
		ee *starlark.EvalError
	)
	switch {
	case errors.As(err, &se):
		return &Error{File: path, Line: int(se.Pos.Line),
			Msg: "not valid Starlark, the Python subset this daemon evaluates: " + se.Msg}
	case errors.As(err, &re):
		return &Error{File: path, Line: int(re[0].Pos.Line), Msg: re[0].Msg}
	case errors.As(err, &ee):
		e := &Error{File: path, Msg: ee.Msg}
		// The innermost frame in this file; built-ins have no position.
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			if pos := ee.CallStack[i].Pos; pos.Filename() == path {
				e.Line = int(pos.Line)
				break
			}
		}
		return e
	}
	return &Error{File: path, Msg: err.Error()}
}

func boundedRange(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := starlark.Call(th, starlark.Universe["range"], args, kwargs)
	if err != nil {
		return nil, err
	}
	if s, ok := r.(starlark.Sequence); ok && s.Len() > maxRangeItems {
		return nil, fmt.Errorf("range of %d items is over the configuration limit of %d", s.Len(), maxRangeItems)
	}
	return r, nil
}

// Ownership keys: "s" the sites variable, "s\x00SITE" one site,
// "s\x00SITE\x00KEY" one key of it; "d" and "d\x00KEY" likewise for
// liveproxyd_default_connection_params; "m" liveproxyd_metrics_address;
// "a" and "q" the answer and query buffer totals.
func ownKey(parts ...string) string { return strings.Join(parts, "\x00") }

// snapshot fingerprints every ownership key with a bounded repr, so
// comparing before and after a file shows what it changed without walking
// arbitrarily large values.
func (ev *evaluator) snapshot() map[string]string {
	m := map[string]string{}
	add := func(prefix string, v starlark.Value, depth int) {
		m[prefix] = brief(v)
		d, ok := v.(*starlark.Dict)
		if !ok || depth == 0 {
			return
		}
		for _, it := range d.Items() {
			if k, ok := it[0].(starlark.String); ok {
				m[ownKey(prefix, string(k))] = brief(it[1])
				if sub, ok := it[1].(*starlark.Dict); ok && depth > 1 {
					for _, it2 := range sub.Items() {
						if k2, ok := it2[0].(starlark.String); ok {
							m[ownKey(prefix, string(k), string(k2))] = brief(it2[1])
						}
					}
				}
			}
		}
	}
	add("s", ev.globals[varSites], 2)
	add("d", ev.globals[varDefaults], 1)
	m[ownKey("m")] = brief(ev.globals[varMetrics])
	m[ownKey("a")] = brief(ev.globals[varAnswerBufferTotal])
	m[ownKey("q")] = brief(ev.globals[varQueryBufferTotal])
	return m
}

// ownerOf returns the file that last changed the deepest of the given
// ownership keys, or the last file read.
func (ev *evaluator) ownerOf(keys ...string) string {
	for _, k := range keys {
		if f, ok := ev.owner[k]; ok {
			return f
		}
	}
	return ev.order[len(ev.order)-1]
}

// siteError blames a problem with site (and key, if any) on the file and
// line that set it.
func (ev *evaluator) siteError(site, key, msg string) *Error {
	keys := []string{"s"}
	var path []string
	if site != "" {
		keys = []string{ownKey("s", site), "s"}
		path = []string{site}
	}
	if site != "" && key != "" {
		keys = append([]string{ownKey("s", site, key)}, keys...)
		path = append(path, key)
	}
	file := ev.ownerOf(keys...)
	return &Error{File: file, Line: locate(ev.asts[file], varSites, path...), Site: site, Key: key, Msg: msg}
}

// defaultsError blames a problem with a default connection parameter.
func (ev *evaluator) defaultsError(key, msg string) *Error {
	keys := []string{"d"}
	var path []string
	if key != "" {
		keys = append([]string{ownKey("d", key)}, keys...)
		path = []string{key}
	}
	file := ev.ownerOf(keys...)
	return &Error{File: file, Line: locate(ev.asts[file], varDefaults, path...), Key: key, Msg: msg}
}

// brief is a short, bounded repr for fingerprints and error messages:
// Starlark's own String is unbounded in size and, for deeply nested
// lists, quadratic in time.
func brief(v starlark.Value) string {
	var b strings.Builder
	budget := 64
	writeBrief(&b, v, &budget)
	return b.String()
}

func writeBrief(b *strings.Builder, v starlark.Value, budget *int) {
	*budget--
	if *budget < 0 {
		b.WriteString("...")
		return
	}
	seq := func(open, close string, items []starlark.Value) {
		b.WriteString(open)
		for i, x := range items {
			if i > 0 {
				b.WriteString(", ")
			}
			writeBrief(b, x, budget)
			if *budget < 0 {
				break
			}
		}
		b.WriteString(close)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("<unset>")
	case starlark.String:
		if len(x) > 200 {
			fmt.Fprintf(b, "%s...(%d bytes)", starlark.String(x[:200]).String(), len(x))
			return
		}
		b.WriteString(x.String())
	case starlark.Int, starlark.Float, starlark.Bool, starlark.NoneType:
		b.WriteString(x.String())
	case starlark.Tuple:
		if len(x) == 1 {
			seq("(", ",)", x)
		} else {
			seq("(", ")", x)
		}
	case *starlark.List:
		items := make([]starlark.Value, 0, min(x.Len(), 64))
		for i := 0; i < x.Len() && i < 64; i++ {
			items = append(items, x.Index(i))
		}
		seq("[", "]", items)
	case *starlark.Dict:
		b.WriteString("{")
		for i, it := range x.Items() {
			if i > 0 {
				b.WriteString(", ")
			}
			writeBrief(b, it[0], budget)
			b.WriteString(": ")
			writeBrief(b, it[1], budget)
			if *budget < 0 {
				break
			}
		}
		b.WriteString("}")
	default:
		b.WriteString("<" + v.Type() + ">")
	}
}
