package main

import (
	"context"
	"log/slog"
	"time"

	"liveproxyd/adapters/config"
	"liveproxyd/adapters/metrics"
	"liveproxyd/adapters/supervisor"
	"liveproxyd/core"
)

// scrapeBudget bounds one scrape's wait for the site loops; each loop gets
// supervisor.SnapshotWait of it, all in parallel.
const scrapeBudget = 5 * time.Second

// moveWait bounds how long a reload waits for the old endpoint to let go
// of its port before binding the new address.
const moveWait = 10 * time.Second

// metricsEndpoint is the daemon's Prometheus endpoint. The address comes
// from --metrics-listen if given, else from liveproxyd_metrics_address; a
// reload that changes it moves the endpoint, so no restart is needed. It
// is used from the signal loop only.
type metricsEndpoint struct {
	log    *slog.Logger
	serve  func(ctx context.Context, addr string) (*metrics.Server, error)
	addr   string // wanted; "" is off
	srv    *metrics.Server
	cancel context.CancelFunc
}

func newMetricsEndpoint(sup *supervisor.Supervisor, log *slog.Logger) *metricsEndpoint {
	reg := metrics.NewRegistry(func() []core.Snapshot {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeBudget)
		defer cancel()
		return sup.Snapshots(ctx)
	})
	return &metricsEndpoint{
		log: log,
		serve: func(ctx context.Context, addr string) (*metrics.Server, error) {
			return metrics.Serve(ctx, addr, reg, log)
		},
	}
}

// metricsAddress is the address in force: the flag overrides the file.
func metricsAddress(o options, cfg *config.Config) string {
	if o.metricsSet {
		return o.metricsListen
	}
	return cfg.MetricsAddress
}

// apply makes the endpoint listen on addr ("" switches it off). An address
// that cannot be bound is logged and the sites are served anyway: metrics
// are not worth a Livestatus outage. A reload with the same address
// retries one that failed before.
func (m *metricsEndpoint) apply(addr string) {
	if addr == m.addr && (addr == "" || m.srv != nil) {
		return
	}
	m.stop(true)
	m.addr = addr
	if addr == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := m.serve(ctx, addr)
	if err != nil {
		cancel()
		m.log.Error("cannot serve metrics; the sites are served without them", "addr", addr, "err", err)
		return
	}
	m.srv, m.cancel = srv, cancel
}

// stop shuts the endpoint down; with wait it returns once the port is
// free (bounded), so a reload can bind the same port again.
func (m *metricsEndpoint) stop(wait bool) {
	if m.srv == nil {
		return
	}
	m.cancel()
	if wait {
		select {
		case <-m.srv.Done():
		case <-time.After(moveWait):
			m.log.Warn("old metrics endpoint still closing", "addr", m.srv.Addr().String())
		}
	}
	m.srv, m.cancel = nil, nil
}
