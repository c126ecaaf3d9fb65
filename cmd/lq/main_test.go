package main

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"liveproxyd/internal/fakesite"
	"liveproxyd/internal/testutil"
)

func TestQueryAgainstFakeSite(t *testing.T) {
	srv, err := fakesite.Listen("unix", filepath.Join(testutil.ShortDir(t), "s"), fakesite.Options{Hosts: 2, ServicesPerHost: 1})
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
