package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Options shape one load run.
type Options struct {
	Target    Target
	Clients   int      // concurrent clients; at least 1
	KeepAlive bool     // one connection per client (else one per query)
	Queries   []string // the mix, taken round-robin; see Presets
	// Duration and Count bound the run; at least one must be set. Count
	// is the total number of queries over all clients.
	Duration time.Duration
	Count    int
	// Timeout bounds each query (connect, send, whole answer); 30 s when
	// zero.
	Timeout time.Duration
	// ReadRate limits each client's reading to this many bytes per second
	// (a slow client); 0 reads as fast as possible.
	ReadRate int
}

// maxLatency is the largest latency the histogram records; longer ones
// are clamped (they are failures by then anyway).
const maxLatency = 10 * time.Minute

func (o *Options) check() error {
	if o.Clients < 1 {
		return errors.New("loadgen: need at least one client")
	}
	if o.Duration <= 0 && o.Count <= 0 {
		return errors.New("loadgen: set a duration or a count")
	}
	if len(o.Queries) == 0 {
		return errors.New("loadgen: no queries")
	}
	for _, q := range o.Queries {
		if strings.HasPrefix(q, "COMMAND") {
			return errors.New("loadgen: COMMANDs get no answer and cannot be measured")
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return nil
}

// Run drives the target until Count queries were answered or Duration
// passed, whichever comes first; ctx cancels it early. Only a setup error
// is returned: failed queries are counted in the Result.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	start := time.Now() // before the deadline is set, so Elapsed ≥ Duration
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var tickets atomic.Int64 // queries left to start; unlimited if Count is 0
	tickets.Store(int64(o.Count))
	take := func() bool {
		if ctx.Err() != nil {
			return false
		}
		return o.Count <= 0 || tickets.Add(-1) >= 0
	}
	results := make([]*Result, o.Clients)
	var wg sync.WaitGroup
	for i := range results {
		results[i] = newResult()
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := worker{o: &o, id: i, res: results[i]}
			w.run(ctx, take)
		}(i)
	}
	wg.Wait()
	total := newResult()
	for _, r := range results {
		total.merge(r)
	}
	total.finish(time.Since(start))
	return total, nil
}

// Result is what a run measured. Latencies are per answered query and
// include the connect (and TLS handshake) for one-query-per-connection
// clients.
type Result struct {
	Queries  int64         `json:"queries"`  // answered, any status code
	Codes    map[int]int64 `json:"codes"`    // answers per status code
	Failures int64         `json:"failures"` // connect/IO errors, timeouts, bad headers
	Aborted  int64         `json:"aborted"`  // cut off by the end of the run
	Errors   []string      `json:"errors,omitempty"`
	Bytes    int64         `json:"bytes"` // answer bytes read, headers included
	Elapsed  time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`
	QPS      float64       `json:"qps"`
	MBps     float64       `json:"mb_per_s"`
	Latency  Summary       `json:"latency"`

	hist *hdrhistogram.Histogram
}

// Summary are latency percentiles.
type Summary struct {
	P50  time.Duration `json:"-"`
	P90  time.Duration `json:"-"`
	P99  time.Duration `json:"-"`
	Max  time.Duration `json:"-"`
	Mean time.Duration `json:"-"`
	// Microsecond copies for the JSON output.
	P50us  float64 `json:"p50_us"`
	P90us  float64 `json:"p90_us"`
	P99us  float64 `json:"p99_us"`
	MaxUs  float64 `json:"max_us"`
	MeanUs float64 `json:"mean_us"`
}

// maxErrors is how many distinct error texts a Result keeps.
const maxErrors = 5

func newResult() *Result {
	// Nanoseconds with three significant digits: 0.1 % resolution from
	// 1 ns to maxLatency.
	return &Result{Codes: map[int]int64{}, hist: hdrhistogram.New(1, int64(maxLatency), 3)}
}

func (r *Result) record(d time.Duration, code int) {
	r.Queries++
	r.Codes[code]++
	if d < 1 {
		d = 1
	}
	if d > maxLatency {
		d = maxLatency
	}
	_ = r.hist.RecordValue(int64(d)) // in range by the clamps above
}

func (r *Result) fail(err error) {
	r.Failures++
	r.noteError(err.Error())
}

func (r *Result) noteError(msg string) {
	for _, e := range r.Errors {
		if e == msg {
			return
		}
	}
	if len(r.Errors) < maxErrors {
		r.Errors = append(r.Errors, msg)
	}
}

func (r *Result) merge(o *Result) {
	r.Queries += o.Queries
	r.Failures += o.Failures
	r.Aborted += o.Aborted
	r.Bytes += o.Bytes
	for c, n := range o.Codes {
		r.Codes[c] += n
	}
	for _, e := range o.Errors {
		r.noteError(e)
	}
	r.hist.Merge(o.hist)
}

func (r *Result) finish(elapsed time.Duration) {
	r.Elapsed = elapsed
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.QPS = float64(r.Queries) / r.Seconds
		r.MBps = float64(r.Bytes) / r.Seconds / 1e6
	}
	q := func(p float64) time.Duration { return time.Duration(r.hist.ValueAtQuantile(p)) }
	s := Summary{P50: q(50), P90: q(90), P99: q(99), Max: time.Duration(r.hist.Max())}
	if r.Queries > 0 {
		s.Mean = time.Duration(r.hist.Mean())
	} else {
		s = Summary{}
	}
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	s.P50us, s.P90us, s.P99us, s.MaxUs, s.MeanUs = us(s.P50), us(s.P90), us(s.P99), us(s.Max), us(s.Mean)
	r.Latency = s
}

// OK is the number of answers with status 200.
func (r *Result) OK() int64 { return r.Codes[200] }

// String is a human summary, the CLI's default output.
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "queries %d in %.2fs: %.0f q/s, %.1f MB/s\n", r.Queries, r.Seconds, r.QPS, r.MBps)
	fmt.Fprintf(&b, "latency p50 %v  p90 %v  p99 %v  max %v  mean %v\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.Latency.Mean)
	fmt.Fprintf(&b, "codes %v  failures %d  aborted %d\n", r.Codes, r.Failures, r.Aborted)
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	return b.String()
}
