// Command fakesite runs a fake Livestatus site for demos, end-to-end tests
// and benchmarks of liveproxyd (see internal/fakesite).
//
//	fakesite -listen unix:/tmp/site.sock -hosts 100 -services 50
//
// It prints `fakesite listening on NETWORK:ADDRESS` once it accepts
// connections. SIGTERM and SIGINT stop it; SIGUSR1 restarts the fake core
// (drops connections, program_start+1); SIGUSR2 toggles hanging.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"liveproxyd/internal/fakesite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	control := make(chan os.Signal, 1)
	signal.Notify(control, syscall.SIGUSR1, syscall.SIGUSR2)
	if err := run(ctx, os.Args[1:], os.Stdout, control); err != nil {
		fmt.Fprintln(os.Stderr, "fakesite:", err)
		os.Exit(2)
	}
}

// run serves until ctx ends. control carries SIGUSR1 (restart) and
// SIGUSR2 (toggle hang); it may be nil.
func run(ctx context.Context, args []string, stdout io.Writer, control <-chan os.Signal) error {
	fs := flag.NewFlagSet("fakesite", flag.ContinueOnError)
	listen := fs.String("listen", "tcp:127.0.0.1:6557", "where to listen: unix:/path or tcp:host:port")
	var o fakesite.Options
	fs.IntVar(&o.Hosts, "hosts", 10, "number of synthetic hosts")
	fs.IntVar(&o.ServicesPerHost, "services", 10, "services per host")
	fs.DurationVar(&o.Latency, "latency", 0, "server time per query before the first byte")
	fs.IntVar(&o.Capacity, "capacity", 0, "serve only this many open connections at once, like Icinga's pool (0: unlimited)")
	fs.DurationVar(&o.IdleClose, "idle-close", 0, "close connections idle this long, like naemon (0: never)")
	fs.BoolVar(&o.CommandError, "command-error", false, "write naemon's '400: ...' line after a failed COMMAND")
	fs.BoolVar(&o.Naemon, "naemon", false, "read requests as naemon does (blank lines skipped, a COMMAND is one line, the rest of a request refused at a bad header is kept for the next); default: as Icinga 2")
	fs.Int64Var(&o.ProgramStart, "program-start", 0, "initial program_start (0: a fixed default)")
	cert := fs.String("tls-cert", "", "PEM certificate: serve TLS (needs -tls-key)")
	key := fs.String("tls-key", "", "PEM private key for -tls-cert")
	hangAfter := fs.Duration("hang-after", 0, "stop answering after this long, like kill -STOP (0: never)")
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	network, address, ok := strings.Cut(*listen, ":")
	if !ok || (network != "unix" && network != "tcp") || address == "" {
		return fmt.Errorf("-listen %q: want unix:/path or tcp:host:port", *listen)
	}
	if (*cert == "") != (*key == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return err
		}
		o.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	}
	s, err := fakesite.Listen(network, address, o)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(stdout, "fakesite listening on %s:%s\n", network, s.Addr())
	var hangTimer <-chan time.Time
	if *hangAfter > 0 {
		t := time.NewTimer(*hangAfter)
		defer t.Stop()
		hangTimer = t.C
	}
	hung := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hangTimer:
			hung = true
			s.Hang(true)
		case sig := <-control:
			if sig == syscall.SIGUSR1 {
				s.Restart()
			} else {
				hung = !hung
				s.Hang(hung)
			}
		}
	}
}
