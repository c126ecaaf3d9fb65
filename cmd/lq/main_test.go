package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"liveproxyd/internal/fakesite"
)

func TestQueryAgainstFakeSite(t *testing.T) {
	dir, err := os.MkdirTemp("", "lq") // short: UNIX socket paths stop at 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	srv, err := fakesite.Listen("unix", filepath.Join(dir, "s"), fakesite.Options{Hosts: 2, ServicesPerHost: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	var out bytes.Buffer
	code, err := run(srv.Addr(), []string{"GET hosts", "Columns: name"}, true, 10*time.Second, &out)
	if err != nil || code != 200 || out.String() != "host0000\nhost0001\n" {
		t.Fatalf("code %d err %v out %q", code, err, out.String())
	}
	out.Reset()
	code, err = run(srv.Addr(), []string{"GET nosuchtable"}, true, 10*time.Second, &out)
	if err != nil || code != 404 {
		t.Fatalf("unknown table: code %d err %v", code, err)
	}
	out.Reset()
	if _, err := run(srv.Addr(), []string{"GET hosts", "Columns: name"}, false, 10*time.Second, &out); err != nil || out.String() != "host0000\nhost0001\n" {
		t.Fatalf("without fixed16: %v %q", err, out.String())
	}
}
