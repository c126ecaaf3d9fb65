package config

import (
	"errors"
	"path/filepath"
	"testing"

	"liveproxyd/internal/testutil"
)

// writeRoot makes a site root with the main file (unless main is "-") and
// the given files under liveproxyd.d (relative paths).
func writeRoot(t *testing.T, main string, globals map[string]string) string {
	t.Helper()
	files := map[string]string{}
	if main != "-" {
		files[MainFile] = main
	}
	for rel, src := range globals {
		files[filepath.Join(GlobalsDir, rel)] = src
	}
	return testutil.SiteRoot(t, files)
}

func mustLoad(t *testing.T, root string) *Config {
	t.Helper()
	c, err := Load(root, "")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, s := range c.Sites {
		if err := s.Validate(); err != nil {
			t.Fatalf("site %s does not validate: %v", s.Name, err)
		}
	}
	return c
}

// loadErr loads root and returns the *Error it must fail with.
func loadErr(t *testing.T, root string) *Error {
	t.Helper()
	c, err := Load(root, "")
	if err == nil {
		t.Fatalf("Load succeeded with %d sites, want an error", len(c.Sites))
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *config.Error", err, err)
	}
	return e
}

func siteByName(t *testing.T, c *Config, name string) Site {
	t.Helper()
	for _, s := range c.Sites {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no site %q in %d sites", name, len(c.Sites))
	return Site{}
}
