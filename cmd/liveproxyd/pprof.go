package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// The profiling endpoint's bounds, those of the metrics endpoint. A CPU
// profile or trace of ?seconds=N gets N more seconds to write: net/http/pprof
// moves its write deadline itself.
const (
	pprofReadHeaderTimeout = 10 * time.Second
	pprofWriteTimeout      = 30 * time.Second
	pprofIdleTimeout       = 2 * time.Minute
)

// startPprof serves Go's runtime profiles (net/http/pprof) under
// /debug/pprof/ on addr, for operators chasing CPU or memory in
// production. It has a mux of its own: importing net/http/pprof also
// registers the handlers on http.DefaultServeMux, which nothing here
// serves, so the metrics endpoint never exposes them. The returned stop
// closes the listener and every open connection.
func startPprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also the named profiles: heap, goroutine, …
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: pprofReadHeaderTimeout,
		WriteTimeout:      pprofWriteTimeout,
		IdleTimeout:       pprofIdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof endpoint stopped", "err", err)
		}
	}()
	log.Info("pprof endpoint listening", "addr", ln.Addr().String(), "path", "/debug/pprof/")
	// Close, not Shutdown: a profile still being taken at exit is of no
	// use, and the daemon's shutdown budget is for its clients.
	return func() { _ = srv.Close() }, nil
}
