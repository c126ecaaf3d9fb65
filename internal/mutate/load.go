package mutate

import (
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
)

// Source is one file of the mutated package, read once; mutants are
// applied to Src, and the overlay replaces Abs.
type Source struct {
	Abs string // absolute path, the overlay key
	Src []byte
}

// Load parses the non-test Go files of the package in dir (honouring
// build constraints) and returns its mutants plus the sources by their
// module-relative name. Type information is best effort: it only serves
// to tell string + from numeric +.
func Load(moduleRoot, dir string, ops []string) ([]Mutant, map[string]Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	if moduleRoot, err = filepath.Abs(moduleRoot); err != nil {
		return nil, nil, err
	}
	pkg, err := build.ImportDir(abs, 0)
	if err != nil {
		return nil, nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	var names []string
	sources := map[string]Source{}
	for _, name := range pkg.GoFiles {
		path := filepath.Join(abs, name)
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, nil, err
		}
		rel, err := filepath.Rel(moduleRoot, path)
		if err != nil {
			return nil, nil, err
		}
		rel = filepath.ToSlash(rel)
		files = append(files, f)
		names = append(names, rel)
		sources[rel] = Source{Abs: path, Src: src}
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	conf := types.Config{Importer: importer.Default(), Error: func(error) {}}
	conf.Check(pkg.ImportPath, fset, files, info) // errors only cost precision
	var all []Mutant
	for i, f := range files {
		all = append(all, Generate(fset, names[i], f, sources[names[i]].Src, info, ops)...)
	}
	return all, sources, nil
}

// Sample picks n mutants at random but reproducibly for one seed and one
// mutant list, and returns them in source order.
func Sample(ms []Mutant, n int, seed uint64) []Mutant {
	if n <= 0 || n >= len(ms) {
		return ms
	}
	idx := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)).Perm(len(ms))[:n]
	sort.Ints(idx)
	out := make([]Mutant, n)
	for i, j := range idx {
		out[i] = ms[j]
	}
	return out
}

// FindModuleRoot walks up from dir to the directory holding go.mod.
func FindModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
