package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"liveproxyd/bench/loadgen"
	"liveproxyd/internal/fakesite"
)

func TestRelaysQueries(t *testing.T) {
	site, err := fakesite.Listen("tcp", "127.0.0.1:0", fakesite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-upstream", site.Addr(), "-delay", "5ms"}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "wanrelay listening on ")
	if !ok {
		t.Fatalf("first line %q", line)
	}
	go io.Copy(io.Discard, pr)
	res, err := loadgen.Run(ctx, loadgen.Options{Target: loadgen.Target{Network: "tcp", Addr: addr},
		Clients: 2, Queries: []string{loadgen.Presets["hosts"]}, Count: 6})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() != 6 {
		t.Fatalf("through the relay: %v", res)
	}
	// Each new connection costs two round trips of 10 ms at least.
	if res.Latency.P50 < 20*time.Millisecond {
		t.Errorf("p50 %v through a 5 ms relay, want ≥ 20ms", res.Latency.P50)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNeedsUpstream(t *testing.T) {
	if err := run(context.Background(), nil, io.Discard); err == nil {
		t.Fatal("ran without -upstream")
	}
}
