package core

import (
	"testing"

	"liveproxyd/internal/testutil"
)

// The core must stay pure: the standard library and the wire package
// (itself standard library only, see livestatus/imports_test.go); its
// tests may use the property, transcript and harness packages too.
func TestCoreImportsOnlyStandardLibrary(t *testing.T) {
	testutil.Pure(t, []string{"liveproxyd/livestatus"}, []string{
		"pgregory.net/rapid", "github.com/cockroachdb/datadriven", "liveproxyd/core",
		"liveproxyd/core/coretest", "liveproxyd/internal/querygen", "liveproxyd/internal/testutil",
	})
}
