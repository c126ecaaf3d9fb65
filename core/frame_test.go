package core

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFramerCRLFAndHeaders(t *testing.T) {
	f := NewFramer(1 << 10)
	f.Push([]byte("\r\nGET hosts\r\nAuthUser: bob\r\nCache: reload\r\nKeepAlive: on\r\n\r\nGET x\n"))
	q, ok, err := f.Next(false)
	if !ok || err != nil || q.Method != "GET" || q.AuthUser != "bob" || !q.Cache || !q.KeepAlive || q.Fixed16 {
		t.Fatalf("query %+v ok %v err %v", q, ok, err)
	}
	if len(q.Lines) != 4 || string(q.Lines[0]) != "GET hosts" {
		t.Fatalf("lines %q", q.Lines)
	}
	if _, ok, _ := f.Next(false); ok {
		t.Fatal("a query without its empty line is complete only at EOF")
	}
	q, ok, err = f.Next(true)
	if !ok || err != nil || string(q.Lines[0]) != "GET x" {
		t.Fatalf("EOF-ended query %+v %v %v", q, ok, err)
	}
	if f.Buffered() != 0 {
		t.Fatalf("%d bytes left", f.Buffered())
	}
}

func TestFramerLimits(t *testing.T) {
	f := NewFramer(10)
	f.Push([]byte("GET hosts\nColumns: a b c\n"))
	if _, _, err := f.Next(false); err != ErrQueryTooLarge {
		t.Fatalf("err %v", err)
	}
	f = NewFramer(100)
	f.Push([]byte("GET ho"))
	if _, _, err := f.Next(true); err != ErrIncomplete {
		t.Fatalf("err %v", err)
	}
}

func TestUpstreamPutsProxyHeadersFirst(t *testing.T) {
	q := ParseQuery([]byte("GET services\nFilter: state = 2\nResponseHeader: off\nKeepAlive: off\nCache: reload\nOutputFormat: json"))
	want := "GET services\nResponseHeader: fixed16\nKeepAlive: on\nFilter: state = 2\nOutputFormat: json\n\n"
	if got := string(Upstream(q)); got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	cmd := ParseQuery([]byte("COMMAND [12] DISABLE_NOTIFICATIONS"))
	if got := string(Upstream(cmd)); got != "COMMAND [12] DISABLE_NOTIFICATIONS\n\n" {
		t.Fatalf("command %q", got)
	}
}

func TestFixed16(t *testing.T) {
	h, err := ParseHeader([]byte("200        1234;"))
	if err != nil || h.Code != 200 || h.Length != 1234 {
		t.Fatalf("%+v %v", h, err)
	}
	for _, bad := range []string{"20x          1\n", "200-          1\n", "200            \n", "200 12345678901", "400: Unknown co\n"} {
		if _, err := ParseHeader([]byte(bad)); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
	if got := string(ErrorReply(true, 502, "site a: dead")); got != "502          13\nsite a: dead\n" {
		t.Fatalf("reply %q", got)
	}
}

// testImports are what core's tests may import beyond the standard library.
var testImports = map[string]bool{
	"pgregory.net/rapid": true, "github.com/cockroachdb/datadriven": true,
	"liveproxyd/core": true, "liveproxyd/core/coretest": true,
}

// The core must stay pure: standard library only.
func TestCoreImportsOnlyStandardLibrary(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if strings.HasSuffix(name, "_test.go") && testImports[path] {
				continue
			}
			if first := strings.Split(path, "/")[0]; strings.Contains(first, ".") || path == "liveproxyd" || strings.HasPrefix(path, "liveproxyd/") {
				t.Errorf("%s imports %s", name, path)
			}
		}
		for _, banned := range []string{"time.Now(", "math/rand", "go func", "\"net\"", "\"os\""} {
			if !strings.HasSuffix(name, "_test.go") && strings.Contains(string(src), banned) {
				t.Errorf("%s uses %s", name, banned)
			}
		}
	}
}
