package logging

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Root is the logger name of the daemon's own lines, as Checkmk's
// liveproxyd names it; a line about one site goes to Root + "." + SITE, so
// liveproxyd_log_levels can raise or lower one site alone.
const Root = "cmk.liveproxyd"

// timeLayout is Python logging's asctime: local time, milliseconds after
// a comma.
const timeLayout = "2006-01-02 15:04:05,000"

// PythonLevel maps a slog level to Python's numbers (debug 10, info 20,
// warning 30, error 40, critical 50), which Checkmk writes into the file
// and uses in liveproxyd_log_levels. The scale is linear, so Checkmk's
// 15 ("verbose") lands between slog's Debug and Info.
func PythonLevel(l slog.Level) int { return 20 + int(l)*10/4 }

// SlogLevel is the inverse of PythonLevel.
func SlogLevel(py int) slog.Level { return slog.Level((py - 20) * 4 / 10) }

// output serializes whole lines onto one writer for every derived handler.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

// checkmkHandler writes Checkmk's liveproxyd.log format:
//
//	2025-04-30 15:58:30,624 [20] [cmk.liveproxyd.berlin] message key=value
//
// one line per record (newlines inside are escaped, so a client cannot
// forge lines). A "site" attribute names the logger instead of being
// printed.
type checkmkHandler struct {
	out    *output
	levels *Levels
	name   string
	attrs  string // preformatted " key=value" pairs from WithAttrs
	group  string // "g." prefix from WithGroup
}

func newCheckmkHandler(w io.Writer, levels *Levels) *checkmkHandler {
	return &checkmkHandler{out: &output{w: w}, levels: levels, name: Root}
}

// Enabled lets through what any logger would take; Handle decides for the
// record's own logger, which a record's "site" attribute may change.
func (h *checkmkHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.levels.min()
}

func (h *checkmkHandler) Handle(_ context.Context, r slog.Record) error {
	name := h.name
	var attrs strings.Builder
	attrs.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		if n, ok := h.siteLogger(name, a); ok {
			name = n
			return true
		}
		appendAttr(&attrs, h.group, a)
		return true
	})
	if !h.levels.enabled(name, r.Level) {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Time.Format(timeLayout))
	b.WriteString(" [")
	b.WriteString(strconv.Itoa(PythonLevel(r.Level)))
	b.WriteString("] [")
	b.WriteString(name)
	b.WriteString("] ")
	b.WriteString(escape(r.Message))
	b.WriteString(attrs.String())
	b.WriteByte('\n')
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := io.WriteString(h.out.w, b.String())
	return err
}

// siteLogger returns the logger name a "site" attribute selects.
func (h *checkmkHandler) siteLogger(name string, a slog.Attr) (string, bool) {
	if a.Key != "site" || h.group != "" || name != Root {
		return "", false
	}
	return Root + "." + a.Value.Resolve().String(), true
}

func (h *checkmkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		if n, ok := c.siteLogger(c.name, a); ok {
			c.name = n
			continue
		}
		appendAttr(&b, h.group, a)
	}
	c.attrs = b.String()
	return &c
}

func (h *checkmkHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

// appendAttr writes " key=value", groups flattened with dots, values
// quoted when they hold spaces, quotes, '=' or control characters (slog's
// text format does the same).
func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	v := a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if v.Kind() == slog.KindGroup {
		prefix := group
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, sub := range v.Group() {
			appendAttr(b, prefix, sub)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	s := v.String()
	if needsQuote(s) {
		s = strconv.Quote(s)
	}
	b.WriteString(s)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == ' ' || r == '"' || r == '=' || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// escape keeps a message on one line.
func escape(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}
