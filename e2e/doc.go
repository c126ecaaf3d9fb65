// Package e2e holds the end-to-end tests of liveproxyd against the real
// Livestatus implementations it must serve: an Icinga 2 daemon started from
// a throw-away configuration and the Perl client Monitoring::Livestatus.
//
// The package's non-test files are the harness (start and stop Icinga, a
// minimal Livestatus client, run the built daemon); the tests live in the
// _test.go files. Set LIVEPROXYD_REQUIRE_REAL=1 to turn a missing icinga2
// or Perl module into a failure instead of a skip (CI does).
package e2e
