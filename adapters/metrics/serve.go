package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"liveproxyd/core"
)

// Path is where Serve answers scrapes.
const Path = "/metrics"

// NewRegistry returns a registry with the site collector over snapshots
// and the Go runtime and process collectors. A private registry rather
// than prometheus.DefaultRegisterer keeps tests and reloads independent.
func NewRegistry(snapshots func() []core.Snapshot) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(snapshots),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Timeouts of the metrics HTTP server: a scraper that stalls must not hold
// a connection (and a goroutine) for ever.
const (
	readHeaderTimeout = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 5 * time.Second
)

// Server is a running metrics endpoint.
type Server struct {
	addr net.Addr
	done chan struct{}
}

// Addr is the bound address (the real port when Serve was given port 0).
func (s *Server) Addr() net.Addr { return s.addr }

// Done is closed once the server has stopped after its context ended: the
// listener is closed, so the same port can be bound again (a reload that
// moves the endpoint waits for it).
func (s *Server) Done() <-chan struct{} { return s.done }

// Serve listens on addr (host:port; port 0 picks a free one) and answers
// scrapes of reg on Path until ctx is cancelled. It returns once the
// listener is bound, so a bad address is reported at start-up rather than
// lost in a goroutine.
func Serve(ctx context.Context, addr string, reg *prometheus.Registry, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen(listenNetwork(addr), addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slogPrinter{logger},
		// One broken series must not hide all the others.
		ErrorHandling: promhttp.ContinueOnError,
		// Exposes promhttp_metric_handler_errors_total on the same registry.
		Registry: reg,
	}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "err", err)
		}
	}()
	s := &Server{addr: ln.Addr(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		<-ctx.Done()
		// ctx is already done; the shutdown needs a deadline of its own.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close() // a scrape still running past the deadline is cut
		}
		logger.Info("metrics endpoint stopped", "addr", s.addr.String())
	}()
	logger.Info("metrics endpoint listening", "addr", s.addr.String(), "path", Path)
	return s, nil
}

// listenNetwork picks the network for addr so the endpoint listens on
// exactly what was asked: "tcp" with an IPv4 literal such as 0.0.0.0 also
// binds the IPv6 wildcard on a dual-stack host, which exposes the metrics
// on an address family the operator did not choose. An IPv4 literal gets
// tcp4, an IPv6 literal tcp6; a name or an empty host keeps tcp.
func listenNetwork(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "tcp"
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return "tcp"
	case ip.To4() != nil:
		return "tcp4"
	default:
		return "tcp6"
	}
}

// slogPrinter adapts a slog.Logger to promhttp's Logger interface.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.l.Warn("metrics scrape", "err", fmt.Sprint(v...)) }
