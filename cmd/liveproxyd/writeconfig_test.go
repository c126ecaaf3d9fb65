package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"liveproxyd/internal/testutil"
)

func TestWriteConfigSubcommand(t *testing.T) {
	sitesMK := "etc/check_mk/multisite.d/wato/sites.mk"
	root := testutil.SiteRoot(t, map[string]string{
		sitesMK: "sites.update({'remote1': {'socket': ('tcp', {'address': ('127.0.0.1', 6557), 'tls': ('plain_text', {})}), 'proxy': {'params': {'channels': 4}}}})\n",
	})
	var out, errb bytes.Buffer
	if code := run([]string{"write-config", "--root", root}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if want := "remote1: unix:" + filepath.Join(root, "tmp/run/liveproxy/remote1"); !strings.Contains(out.String(), want) {
		t.Fatalf("output %q lacks %q", out.String(), want)
	}
	mk, err := os.ReadFile(filepath.Join(root, "etc/check_mk/liveproxyd.mk"))
	if err != nil || !strings.Contains(string(mk), "'remote1'") {
		t.Fatalf("liveproxyd.mk: %v %q", err, mk)
	}
	// A malformed sites.mk: exit 1, file and line named, nothing written.
	testutil.WriteFile(t, filepath.Join(root, sitesMK), "sites.update({\n  'x': {'socket': \n")
	errb.Reset()
	if code := run([]string{"write-config", "--root", root}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "sites.mk:") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if again, _ := os.ReadFile(filepath.Join(root, "etc/check_mk/liveproxyd.mk")); !bytes.Equal(again, mk) {
		t.Fatal("a failed write-config changed liveproxyd.mk")
	}
}
