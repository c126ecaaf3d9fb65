// Command loadgen drives a Livestatus server or liveproxyd with concurrent
// clients and prints throughput and latency percentiles (HDR histogram).
//
//	loadgen -target /omd/sites/x/tmp/run/liveproxy/s1 -clients 16 -keepalive -duration 10s
//	loadgen -target tls:10.0.0.5:6557 -insecure -count 100 -json
//
// Every query asks for fixed16, which frames the answers; queries come
// round-robin from -mix presets and -query texts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"liveproxyd/bench/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// queryFlags collects repeated -query flags.
type queryFlags []string

func (q *queryFlags) String() string { return strings.Join(*q, " | ") }
func (q *queryFlags) Set(s string) error {
	*q = append(*q, loadgen.UnescapeQuery(s))
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "unix socket path, unix:/path, tcp:host:port or tls:host:port")
	insecure := fs.Bool("insecure", false, "tls: accept any server certificate")
	var o loadgen.Options
	fs.IntVar(&o.Clients, "clients", 1, "concurrent clients")
	fs.BoolVar(&o.KeepAlive, "keepalive", false, "KeepAlive: one connection per client (default: one per query)")
	mix := fs.String("mix", "", "comma-separated presets ("+strings.Join(loadgen.PresetNames(), ", ")+"); default status")
	var queries queryFlags
	fs.Var(&queries, "query", `a query, lines separated by \n (repeatable; added to -mix)`)
	fs.DurationVar(&o.Duration, "duration", 0, "run this long (0: until -count)")
	fs.IntVar(&o.Count, "count", 0, "stop after this many queries over all clients (0: until -duration)")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "bound of each query, connect included")
	fs.IntVar(&o.ReadRate, "read-rate", 0, "read at most this many bytes/s per client (a slow client; 0: unlimited)")
	idle := fs.Int("idle", 0, "also hold this many idle connections open during the run")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *target == "" {
		fmt.Fprintln(stderr, "loadgen: need -target and no arguments")
		return 2
	}
	t, err := loadgen.ParseTarget(*target)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	t.Insecure = *insecure
	o.Target = t
	if *mix == "" && len(queries) == 0 {
		*mix = "status"
	}
	if *mix != "" {
		if o.Queries, err = loadgen.ParseMix(*mix); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 2
		}
	}
	o.Queries = append(o.Queries, queries...)
	if *idle > 0 {
		conns, err := loadgen.HoldIdle(t, *idle, o.Timeout)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		if err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
	}
	res, err := loadgen.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
	} else {
		fmt.Fprint(stdout, res)
	}
	if res.Queries == 0 {
		return 1 // nothing answered: a script should notice
	}
	return 0
}
