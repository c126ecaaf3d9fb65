// Command liveproxyd is the Livestatus proxy daemon: it keeps persistent
// channels to every remote site and serves one local UNIX socket per site
// under ROOT/tmp/run/liveproxy/.
//
//	liveproxyd [-g] [--debug] [--root DIR] [--config FILE] [--metrics-listen ADDR] [--pprof-listen ADDR]
//	liveproxyd status [--root DIR] [--json]
//	liveproxyd write-config [--root DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"liveproxyd/adapters/config"
	"liveproxyd/adapters/logging"
	"liveproxyd/adapters/pidfile"
	"liveproxyd/adapters/supervisor"
)

// Paths below the site root, as Checkmk's liveproxyd uses them.
const (
	defaultConfig = "etc/check_mk/liveproxyd.mk"
	logPath       = "var/log/liveproxyd.log"
)

// shutdownBudget: SIGTERM must end the process within 2 s; keep a margin
// for removing the pid file and exiting.
const shutdownBudget = 1500 * time.Millisecond

type options struct {
	foreground bool
	debug      bool
	root       string
	config     string
	// metricsListen overrides liveproxyd_metrics_address when metricsSet
	// (even when empty: that switches the endpoint off).
	metricsListen string
	metricsSet    bool
	// pprofListen is where Go's profiles are served; "" (the default) is
	// off. A flag only: profiling is for one run, not for the config.
	pprofListen string
	// procs is --procs (see procs.go).
	procs procsFlag
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "status" {
		return status(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "write-config" {
		return writeConfig(args[1:], stdout, stderr)
	}
	o, code, ok := parseFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	if !o.foreground && !isDaemonChild() {
		return daemonize(o, stderr)
	}
	return serve(o, stdout)
}

func parseFlags(args []string, stdout, stderr io.Writer) (options, int, bool) {
	var o options
	fs := flag.NewFlagSet("liveproxyd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.foreground, "g", false, "stay in the foreground and log to stdout")
	fs.BoolVar(&o.debug, "debug", false, "log at debug level and let panics crash the daemon")
	fs.StringVar(&o.root, "root", defaultRoot(), "site root (default $OMD_ROOT, else the current directory)")
	fs.StringVar(&o.config, "config", "", "main configuration file (default ROOT/"+defaultConfig+")")
	fs.Func("metrics-listen", "serve Prometheus metrics on `ADDR` (host:port); overrides liveproxyd_metrics_address, '' switches them off",
		func(v string) error { o.metricsListen, o.metricsSet = v, true; return nil })
	fs.StringVar(&o.pprofListen, "pprof-listen", "", "serve Go's runtime profiles (net/http/pprof) under /debug/pprof/ on `ADDR` (host:port); off when empty")
	fs.Var(&o.procs, "procs", "run Go code on at most `N` threads at once (GOMAXPROCS); 0: one per CPU (default 1, or $GOMAXPROCS when set)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: liveproxyd [-g] [--debug] [--root DIR] [--config FILE] [--metrics-listen ADDR] [--pprof-listen ADDR] [--procs N]\n"+
			"       liveproxyd status [--root DIR] [--json]\n"+
			"       liveproxyd write-config [--root DIR]\n\n"+
			"Livestatus proxy daemon: keeps persistent channels to remote sites and\n"+
			"serves ROOT/%s/SITE for each.\n\n", supervisor.SocketDir)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return o, 0, false
		}
		return o, 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "liveproxyd: unexpected argument %q\n", fs.Arg(0))
		return o, 2, false
	}
	root, err := filepath.Abs(o.root)
	if err != nil {
		fmt.Fprintf(stderr, "liveproxyd: %v\n", err)
		return o, 2, false
	}
	o.root = root
	if o.config == "" {
		o.config = filepath.Join(root, defaultConfig)
	}
	if o.config, err = filepath.Abs(o.config); err != nil {
		fmt.Fprintf(stderr, "liveproxyd: %v\n", err)
		return o, 2, false
	}
	return o, 0, true
}

func defaultRoot() string {
	if r := os.Getenv("OMD_ROOT"); r != "" {
		return r
	}
	if wd, err := os.Getwd(); err == nil {
		return wd
	}
	return "."
}

// serve runs the daemon until SIGTERM or SIGINT. In a daemonized child it
// reports its start (or failure) to the waiting parent.
func serve(o options, stdout io.Writer) int {
	threads := applyProcs(o.procs, os.Getenv("GOMAXPROCS"))
	notify := childNotifier()
	fail := func(log *slog.Logger, err error) int {
		log.Error("liveproxyd cannot start", "err", err)
		notify(err)
		return 1
	}
	levels := logging.NewLevels(o.debug)
	log, logFile, err := setupLog(o, stdout, levels)
	if err != nil {
		notify(err)
		return 1
	}
	if logFile != nil {
		defer logFile.Close()
	}
	// The pid file's lock comes first: a second daemon must stop before it
	// touches anything the running one owns (its sockets above all).
	pid, err := pidfile.Acquire(filepath.Join(o.root, pidfile.Path))
	if err != nil {
		return fail(log, err)
	}
	defer pid.Release()
	cfg, err := config.Load(o.root, o.config)
	if err != nil {
		// Before the report: the caller may look for the file at once.
		pid.Release()
		return fail(log, err)
	}
	levels.Set(cfg.LogLevels)

	// SIGUSR1 reloads like SIGHUP: Checkmk 1.6 GUIs send it after
	// activating changes.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	sup := supervisor.New(supervisor.Options{Root: o.root, Logger: log, Debug: o.debug})
	// A site that cannot start is logged and shown in the state file; the
	// other sites are served anyway.
	_ = sup.Apply(cfg)
	if err := sup.WriteState(); err != nil {
		log.Warn("cannot write the state file", "err", err)
	}
	mx := newMetricsEndpoint(sup, log)
	mx.apply(metricsAddress(o, cfg))
	defer mx.stop(false)
	// Like metrics, a profiling address that cannot be bound is logged and
	// the sites are served anyway.
	if o.pprofListen != "" {
		if stopPprof, err := startPprof(o.pprofListen, log); err != nil {
			log.Error("cannot serve pprof; the sites are served without it", "addr", o.pprofListen, "err", err)
		} else {
			defer stopPprof()
		}
	}
	log.Info("liveproxyd started", "pid", os.Getpid(), "root", o.root, "sites", len(cfg.Sites), "procs", threads)
	notify(nil)

	for sig := range sigs {
		if sig == syscall.SIGHUP || sig == syscall.SIGUSR1 {
			reload(o, log, logFile, levels, sup, mx)
			continue
		}
		log.Info("liveproxyd stopping", "signal", sig.String())
		ctx, cancel := context.WithTimeout(context.Background(), shutdownBudget)
		sup.Shutdown(ctx)
		cancel()
		log.Info("liveproxyd stopped")
		return 0
	}
	return 0
}

// reload reopens the log (logrotate sends SIGHUP too) and applies the
// configuration again; a broken configuration keeps the running one.
func reload(o options, log *slog.Logger, logFile *logging.File, levels *logging.Levels, sup *supervisor.Supervisor, mx *metricsEndpoint) {
	if logFile != nil {
		if err := logFile.Reopen(); err != nil {
			log.Error("cannot reopen the log file", "err", err)
		}
	}
	cfg, err := config.Load(o.root, o.config)
	if err != nil {
		log.Error("configuration not reloaded, keeping the running one", "err", err)
		return
	}
	levels.Set(cfg.LogLevels)
	_ = sup.Apply(cfg)
	mx.apply(metricsAddress(o, cfg))
	log.Info("configuration reloaded", "sites", len(cfg.Sites))
	// Show the new state at once rather than at the next periodic dump.
	if err := sup.WriteState(); err != nil {
		log.Warn("cannot write the state file", "err", err)
	}
}

func setupLog(o options, stdout io.Writer, levels *logging.Levels) (*slog.Logger, *logging.File, error) {
	if o.foreground {
		return logging.NewLogger(stdout, levels, nil), nil, nil
	}
	path := filepath.Join(o.root, logPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, err
	}
	f, err := logging.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return logging.NewLogger(f, levels, nil), f, nil
}
