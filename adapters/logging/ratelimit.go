package logging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// Rate limits: hostile or broken clients drive some lines (20,000
// pipelined COMMANDs to a dead site wrote 20,001 lines; accept errors under
// descriptor exhaustion 20 a second). Each kind of line about each site
// may be written Burst times per Window; the rest are counted, and one
// line "… (K similar lines suppressed)" at the end of the window says so.
const (
	DefaultBurst  = 10
	DefaultWindow = 10 * time.Second
	// maxKinds bounds the memory of the limiter; beyond it all new kinds
	// share one bucket.
	maxKinds = 4096
	// kindWords is how much of a message names its kind: enough to tell
	// "channel #: # bytes after the response" from "channel # lost while
	// busy", and short of any client-supplied text at the end of a line
	// ("COMMAND dropped, site is dead: <the command>").
	kindWords = 6
)

// limiter is shared by a handler and every handler derived from it.
type limiter struct {
	mu      sync.Mutex
	clk     clock.Clock
	burst   int
	window  time.Duration
	buckets map[string]*bucket
	swept   time.Time // last sweep, so a full map is not swept per line
}

// bucket counts one kind of line in its current window.
type bucket struct {
	start      time.Time
	n          int
	suppressed int
	last       slog.Record  // the last suppressed line, for the summary
	to         slog.Handler // where the summary goes
}

// limitHandler passes records on to inner unless their kind is over its
// budget.
type limitHandler struct {
	inner  slog.Handler
	lim    *limiter
	prefix string // the attributes and groups this handler was made with
}

func newLimitHandler(inner slog.Handler, clk clock.Clock, burst int, window time.Duration) *limitHandler {
	return &limitHandler{inner: inner, lim: &limiter{clk: clk, burst: burst, window: window, buckets: map[string]*bucket{}}}
}

func (h *limitHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *limitHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.lim.admit(h.key(r), r, h.inner) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

// key is the kind of a record: who logs it (attributes, the record's
// site), its level and the start of its message with numbers and quoted
// text blanked out.
func (h *limitHandler) key(r slog.Record) string {
	var site string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "site" {
			site = a.Value.String()
			return false
		}
		return true
	})
	return h.prefix + "\x00" + site + "\x00" + r.Level.String() + "\x00" + Kind(r.Message)
}

// admit counts r in its bucket and reports whether it may be written.
func (l *limiter) admit(key string, r slog.Record, to slog.Handler) bool {
	now := l.clk.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxKinds && now.Sub(l.swept) >= time.Second {
			l.sweep(now)
		}
		if len(l.buckets) >= maxKinds {
			key = "\x00overflow"
			b = l.buckets[key]
		}
	}
	if b == nil || (b.suppressed == 0 && now.Sub(b.start) >= l.window) {
		b = &bucket{start: now}
		l.buckets[key] = b
	}
	b.n++
	if b.n <= l.burst {
		return true
	}
	b.suppressed++
	b.last, b.to = r.Clone(), to
	if b.suppressed == 1 {
		l.clk.AfterFunc(b.start.Add(l.window).Sub(now), func() { l.flush(key, b) })
	}
	return false
}

// sweep forgets buckets whose window is over and that owe no summary.
// Called with l.mu held.
func (l *limiter) sweep(now time.Time) {
	l.swept = now
	for k, b := range l.buckets {
		if b.suppressed == 0 && now.Sub(b.start) >= l.window {
			delete(l.buckets, k)
		}
	}
}

// flush ends the window of b: one summary line, and the next line of this
// kind starts a new window.
func (l *limiter) flush(key string, b *bucket) {
	l.mu.Lock()
	if l.buckets[key] == b {
		delete(l.buckets, key)
	}
	n, last, to := b.suppressed, b.last, b.to
	l.mu.Unlock()
	if n == 0 {
		return
	}
	s := slog.NewRecord(l.clk.Now(), last.Level, fmt.Sprintf("%s (%d similar lines suppressed)", last.Message, n), 0)
	last.Attrs(func(a slog.Attr) bool { s.AddAttrs(a); return true })
	_ = to.Handle(context.Background(), s)
}

func (h *limitHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range as {
		b.WriteString(" " + a.String())
	}
	return &limitHandler{inner: h.inner.WithAttrs(as), lim: h.lim, prefix: b.String()}
}

func (h *limitHandler) WithGroup(name string) slog.Handler {
	return &limitHandler{inner: h.inner.WithGroup(name), lim: h.lim, prefix: h.prefix + " [" + name + "]"}
}

// Kind reduces a message to what stays the same between lines of one
// kind: its first words, digits as '#', quoted text as "…".
func Kind(msg string) string {
	var b strings.Builder
	words, inWord := 0, false
	var quote rune
	for _, r := range msg {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
			continue
		case r == '"' || r == '\'':
			quote = r
			b.WriteString("\"…\"")
			continue
		case r == ' ':
			if inWord {
				words++
				if words == kindWords {
					return b.String()
				}
			}
			inWord = false
		case r >= '0' && r <= '9':
			inWord = true
			if !strings.HasSuffix(b.String(), "#") {
				b.WriteByte('#')
			}
			continue
		default:
			inWord = true
		}
		b.WriteRune(r)
	}
	return b.String()
}
