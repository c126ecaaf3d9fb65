package fuzz

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"liveproxyd/adapters/config"
)

// FuzzConfig feeds arbitrary bytes as liveproxyd.mk. Load must never panic
// or hang; it either fails with a positioned *config.Error or returns sites
// that validate, sorted and unique, and loading again gives equal sites
// (what a SIGHUP reload relies on).
func FuzzConfig(f *testing.F) {
	for _, seed := range []string{
		"",
		"# -*- encoding: utf-8 -*-\nsites.update({'a': {'socket': '/run/a'}})\n",
		"sites.update({'a': {'socket': ('10.0.0.1', 6557), 'channels': 5, 'heartbeat': (5, 2.0), 'cache': False}})\n",
		"sites.update({'b': {'socket': ('tcp', {'address': ('h', 6557), 'tls': ('encrypted', {'verify': True})})}})\n",
		"sites.update({'c': {'socket': ('tcp6', {'address': ('::1', 6557), 'tls': ('plain_text', {})}), 'query_timeout': 60.0}})\n",
		"sites.update({'d': {'socket': ('unix', {'path': '/x'}), 'tcp': {'port': 6560, 'only_from': ['1.2.3.4'], 'tls': False}}})\n",
		"liveproxyd_default_connection_params.update({'channels': 3})\nsites['e'] = dict(socket='unix:/e', heartbeat_percent=20)\n",
		"for n in ['f', 'g']:\n    sites[n] = {'socket': 'tcp:h:1', 'max_query_bytes': 4096}\n",
		"sites.update({'a': {'socket': '/s', 'chanels': 5}})\n",
		"sites.update({'a/b': {'socket': '/s', 'connect_retry': -1}})\n",
		"sites = [x for x in range(10) for y in range(10)]\n",
		"def f(n):\n    return {'socket': '/s%d' % n}\nsites.update({'h': f(1)})\n",
		"print 'python 2'\n",
		"sites.update({1: {'socket': '/s'}, 'x': None})\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		root := t.TempDir()
		main := filepath.Join(root, config.MainFile)
		if err := os.MkdirAll(filepath.Dir(main), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(main, src, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(root, "")
		if err != nil {
			var e *config.Error
			if !errors.As(err, &e) || e.File == "" || e.Line < 0 {
				t.Fatalf("error %T %q is not a positioned *config.Error", err, err)
			}
			return
		}
		if len(c.Files) != 1 || c.Files[0] != main {
			t.Fatalf("files %q, want only %s", c.Files, main)
		}
		for i := 1; i < len(c.Sites); i++ {
			if c.Sites[i-1].Name >= c.Sites[i].Name {
				t.Fatalf("sites not sorted and unique: %q before %q", c.Sites[i-1].Name, c.Sites[i].Name)
			}
		}
		for _, s := range c.Sites {
			if err := s.Validate(); err != nil {
				t.Fatalf("site %q does not validate: %v", s.Name, err)
			}
		}
		again, err := config.Load(root, "")
		if err != nil || len(again.Sites) != len(c.Sites) {
			t.Fatalf("second load differs: %v", err)
		}
		for i := range c.Sites {
			if !c.Sites[i].Equal(again.Sites[i]) {
				t.Fatalf("site %q differs between two loads", c.Sites[i].Name)
			}
		}
	})
}
