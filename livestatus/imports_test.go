package livestatus

import (
	"testing"

	"liveproxyd/internal/testutil"
)

// The wire package is what tools and tests import instead of the core, and
// what the core imports: the standard library only, and no I/O of its own
// beyond reading an io.Reader it is given.
func TestLivestatusImportsOnlyStandardLibrary(t *testing.T) {
	testutil.Pure(t, nil, []string{
		"pgregory.net/rapid", "liveproxyd/livestatus", "liveproxyd/internal/querygen", "liveproxyd/internal/testutil",
	})
}
