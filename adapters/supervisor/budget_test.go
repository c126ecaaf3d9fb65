package supervisor_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"liveproxyd/adapters/config"
	"liveproxyd/adapters/supervisor"
	"liveproxyd/internal/testutil"
	"liveproxyd/livestatus"
)

// TestApplySetsTheGlobalBudgets: the totals of liveproxyd.d/
// (liveproxyd_query_buffer_total, liveproxyd_answer_buffer_total) reach the
// budget all site loops share, at start and on reload. The query budget is
// the one a client can see: an unfinished query larger than it is refused
// with a 503 that says why.
func TestApplySetsTheGlobalBudgets(t *testing.T) {
	t.Run("start", func(t *testing.T) {
		b := newBudgeted(t)
		b.apply(100)
		b.ask(true)
	})
	t.Run("reload", func(t *testing.T) {
		b := newBudgeted(t)
		b.apply(config.DefaultQueryBufferTotal)
		b.ask(false)
		b.apply(100)
		b.ask(true)
	})
}

// budgeted is a supervisor serving one site, for budget tests.
type budgeted struct {
	t    *testing.T
	root string
	sup  *supervisor.Supervisor
	site config.Site
}

func newBudgeted(t *testing.T) *budgeted {
	root := testutil.ShortDir(t)
	return &budgeted{t: t, root: root, sup: newSupervisor(t, root, slog.New(slog.DiscardHandler)),
		site: siteConfig("s1", startSite(t, 0), 2)}
}

func (b *budgeted) apply(queryTotal int64) {
	b.t.Helper()
	err := b.sup.Apply(&config.Config{Sites: []config.Site{b.site},
		AnswerBufferTotal: config.DefaultAnswerBufferTotal, QueryBufferTotal: queryTotal})
	if err != nil {
		b.t.Fatal(err)
	}
	waitAlive(b.t, b.sup, "s1")
}

// ask sends a query whose unfinished part alone is over 100 bytes, then
// its end: ResponseHeader last, as Checkmk's GUI sends it, so a refusal is
// framed. It checks for the 503 when refused, else for a 200.
func (b *budgeted) ask(refused bool) {
	t := b.t
	t.Helper()
	nc := dial(t, supervisor.SocketPath(b.root, "s1"))
	nc.SetDeadline(time.Now().Add(testutil.HangGuard))
	if _, err := io.WriteString(nc, "GET hosts\n"+strings.Repeat("Columns: name\n", 10)); err != nil {
		t.Fatal(err)
	}
	// Where a refusal is due, wait for it before the query ends, so the
	// end is not read together with the part: a complete query is never
	// "unfinished".
	if refused {
		testutil.WaitFor(t, "the unfinished query to be refused", func() bool {
			return stateOf(t, b.sup, "s1").Counters.QueriesBusy > 0
		})
	}
	if _, err := io.WriteString(nc, "ResponseHeader: fixed16\n\n"); err != nil {
		t.Fatal(err)
	}
	h, body, err := livestatus.ReadAnswer(nc)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case refused && (h.Code != livestatus.CodeBusy || !strings.Contains(string(body), "liveproxyd_query_buffer_total")):
		t.Fatalf("got %d %q, want 503 naming liveproxyd_query_buffer_total", h.Code, body)
	case !refused && h.Code != 200:
		t.Fatalf("got %d %q, want 200", h.Code, body)
	}
}
