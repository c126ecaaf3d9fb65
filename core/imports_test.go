package core

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testImports are what core's tests may import beyond the standard
// library and the wire package.
var testImports = map[string]bool{
	"pgregory.net/rapid": true, "github.com/cockroachdb/datadriven": true,
	"liveproxyd/core": true, "liveproxyd/core/coretest": true, "liveproxyd/internal/querygen": true,
}

// The core must stay pure: the standard library and the wire package
// (itself standard library only, see livestatus/imports_test.go).
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
			if path == "liveproxyd/livestatus" {
				continue
			}
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
