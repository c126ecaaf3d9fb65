package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"liveproxyd/internal/testutil"
)

// requireRealEnv: CI sets it so that a missing Icinga or Perl module fails
// the run instead of silently skipping the only tests against real servers.
const requireRealEnv = "LIVEPROXYD_REQUIRE_REAL"

// bigHosts × bigServices is the shared Icinga's size: 10,000 services, the
// load docs/protocol.md §2.4 measured (a 16–34 MB answer with all columns).
const (
	bigHosts    = 100
	bigServices = 100
)

// Bounds that only guard against hangs; no test asserts a duration below
// them on this shared 2-core machine.
const (
	icingaStartTimeout = 60 * time.Second
	icingaStopTimeout  = 20 * time.Second
	queryTimeout       = 30 * time.Second
)

var (
	sharedMu     sync.Mutex
	sharedIcinga *Icinga
	sharedErr    error

	// proxyBinary is liveproxyd built once by TestMain; proxyBuildErr says
	// why it is missing.
	proxyBinary   string
	proxyBuildErr error
)

func TestMain(m *testing.M) {
	binDir, err := os.MkdirTemp("", "e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	proxyBinary, proxyBuildErr = testutil.BuildDaemon(binDir)
	code := m.Run()
	sharedMu.Lock()
	if sharedIcinga != nil {
		sharedIcinga.Close()
	}
	sharedMu.Unlock()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

// missing fails or skips a test that needs a real component that is not
// installed, depending on LIVEPROXYD_REQUIRE_REAL.
func missing(t testing.TB, what string) {
	t.Helper()
	msg := what + " is not installed (run scripts/setup.sh as root, or apt-get install it)"
	if os.Getenv(requireRealEnv) == "1" {
		t.Fatalf("%s; %s=1 requires it", msg, requireRealEnv)
	}
	t.Skipf("%s; skipping (set %s=1 to make this a failure)", msg, requireRealEnv)
}

func requireIcinga(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath(IcingaBinary); err != nil {
		missing(t, "icinga2 (Debian package icinga2)")
	}
}

func requirePerl(t testing.TB) {
	t.Helper()
	if err := exec.Command("perl", "-MMonitoring::Livestatus", "-MJSON::PP", "-e1").Run(); err != nil {
		missing(t, "Perl module Monitoring::Livestatus (Debian package libmonitoring-livestatus-perl)")
	}
}

func requireProxy(t testing.TB) {
	t.Helper()
	if proxyBuildErr != nil {
		t.Fatalf("liveproxyd does not build: %v", proxyBuildErr)
	}
}

// shared returns the package's 10,000-service Icinga, started on first use
// and killed by TestMain. Tests that change state touch only their own
// service; tests that run a proxy against it stop the proxy before they
// return, because the proxy's channels occupy Icinga's small thread pool.
func shared(t testing.TB) *Icinga {
	t.Helper()
	requireIcinga(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedIcinga == nil && sharedErr == nil {
		start := time.Now()
		sharedIcinga, sharedErr = startIcinga(IcingaOptions{Hosts: bigHosts, ServicesPerHost: bigServices})
		if sharedErr == nil {
			t.Logf("MEASURE shared icinga2 with %d services ready after %v (pid %d, unix %s, tcp %s)",
				bigHosts*bigServices, time.Since(start).Round(time.Millisecond),
				sharedIcinga.PID(), sharedIcinga.UnixPath, sharedIcinga.TCPAddr)
		}
	}
	if sharedErr != nil {
		t.Fatalf("shared icinga2: %v", sharedErr)
	}
	if !sharedIcinga.Running() {
		t.Fatalf("shared icinga2 is no longer running:\n%s", sharedIcinga.LogTail(3000))
	}
	return sharedIcinga
}

// ownIcinga starts a small private Icinga for tests that stop, freeze or
// restart it; it is killed and removed when the test ends.
func ownIcinga(t testing.TB, hosts, services int) *Icinga {
	t.Helper()
	requireIcinga(t)
	ic, err := startIcinga(IcingaOptions{Hosts: hosts, ServicesPerHost: services})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ic.Close)
	return ic
}

func startIcinga(opts IcingaOptions) (*Icinga, error) {
	ic, err := NewIcinga(opts)
	if err != nil {
		return nil, err
	}
	if err := ic.Start(icingaStartTimeout); err != nil {
		ic.Close()
		return nil, err
	}
	return ic, nil
}
