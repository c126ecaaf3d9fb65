// Command wanrelay puts a wide-area link between a Livestatus site and its
// callers on loopback: a fixed one-way delay per direction, order kept,
// and a real round trip for every new connection (see bench/relay).
//
//	wanrelay -listen 127.0.0.1:0 -upstream 127.0.0.1:6557 -delay 50ms
//
// It prints `wanrelay listening on HOST:PORT` once it accepts connections
// and runs until SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"liveproxyd/bench/relay"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wanrelay:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("wanrelay", flag.ContinueOnError)
	fs.SetOutput(stdout)
	listen := fs.String("listen", "127.0.0.1:0", "address to accept on")
	upstream := fs.String("upstream", "", "host:port of the site")
	delay := fs.Duration("delay", 10*time.Millisecond, "one-way delay of each direction")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *upstream == "" || fs.NArg() > 0 {
		return errors.New("need -upstream host:port and no arguments")
	}
	r, err := relay.Listen(*listen, *upstream, *delay)
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Fprintf(stdout, "wanrelay listening on %s\n", r.Addr())
	<-ctx.Done()
	return nil
}
