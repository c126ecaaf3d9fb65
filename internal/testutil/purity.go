package testutil

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Pure checks the Go files of the test's package directory: its code
// imports the standard library and the packages in code only, its tests
// also those in tests; and no code file reads the clock, draws random
// numbers, starts a goroutine or touches the network or the file system
// (time.Now(, math/rand, go func, "net", "os"). It is how the core and the
// wire package prove that they stay pure.
func Pure(t testing.TB, code, tests []string) {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	if len(files) == 0 {
		t.Fatal("no Go files to check")
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		test := strings.HasSuffix(name, "_test.go")
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if slices.Contains(code, path) || test && slices.Contains(tests, path) {
				continue
			}
			if first := strings.Split(path, "/")[0]; strings.Contains(first, ".") || path == "liveproxyd" || strings.HasPrefix(path, "liveproxyd/") {
				t.Errorf("%s imports %s", name, path)
			}
		}
		for _, banned := range []string{"time.Now(", "math/rand", "go func", "\"net\"", "\"os\""} {
			if !test && strings.Contains(string(src), banned) {
				t.Errorf("%s uses %s", name, banned)
			}
		}
	}
}
