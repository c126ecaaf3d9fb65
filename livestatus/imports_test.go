package livestatus

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The wire package is what tools and tests import instead of the core, and
// what the core imports: the standard library only, and no I/O of its own
// beyond reading an io.Reader it is given.
func TestLivestatusImportsOnlyStandardLibrary(t *testing.T) {
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
			if strings.HasSuffix(name, "_test.go") && (path == "pgregory.net/rapid" || path == "liveproxyd/livestatus" || path == "liveproxyd/internal/querygen") {
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
