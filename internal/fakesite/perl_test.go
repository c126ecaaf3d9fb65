package fakesite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"liveproxyd/internal/testutil"
)

// perlClient exercises the fake site with Monitoring::Livestatus (Debian
// libmonitoring-livestatus-perl), a real client written against real
// servers, with and without KeepAlive. It prints what it got; the test
// compares that with the same queries made by the raw test client.
const perlClient = `
use strict;
use warnings;
use Monitoring::Livestatus;
my ($kind, $addr) = @ARGV;
for my $ka (0, 1) {
    my $ml = Monitoring::Livestatus->new($kind => $addr, keepalive => $ka,
        errors_are_fatal => 0, warnings => 0, retries_on_connection_error => 0);
    my $rows = $ml->selectall_arrayref(
        "GET services\nColumns: host_name description state plugin_output\nFilter: host_name = host0001");
    print "svc ", join(";", @$_), "\n" for @$rows;
    print "program_start ", $ml->selectscalar_value("GET status\nColumns: program_start"), "\n";
    my $hosts = $ml->selectall_arrayref("GET hosts\nColumns: name groups", { Slice => {} });
    print "host $_->{name} ", join(",", @{$_->{groups}}), "\n" for @$hosts;
    my $st = $ml->selectrow_arrayref("GET services\nStats: state = 0\nStats: state != 0");
    print "stats ", join(";", @$st), "\n";
    my $none = $ml->selectall_arrayref("GET nosuch\nColumns: name");
    print "error $Monitoring::Livestatus::ErrorCode\n";
}
my $ml = Monitoring::Livestatus->new($kind => $addr, errors_are_fatal => 0);
$ml->do("COMMAND [1700000999] PROCESS_SERVICE_CHECK_RESULT;host0001;svc002;2;CRIT - set by perl");
my $r = $ml->selectall_arrayref(
    "GET services\nColumns: state plugin_output\nFilter: host_name = host0001\nFilter: description = svc002");
print "after command ", join(";", @{$r->[0]}), "\n";
`

func requirePerlLivestatus(t *testing.T) string {
	t.Helper()
	perl, err := exec.LookPath("perl")
	if err == nil {
		err = exec.Command(perl, "-MMonitoring::Livestatus", "-e1").Run()
	}
	if err != nil {
		msg := "perl with Monitoring::Livestatus is not installed " +
			"(apt-get install libmonitoring-livestatus-perl): " + err.Error()
		if os.Getenv("LIVEPROXYD_REQUIRE_REAL") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return perl
}

func TestPerlMonitoringLivestatus(t *testing.T) {
	perl := requirePerlLivestatus(t)
	script := filepath.Join(t.TempDir(), "client.pl")
	if err := os.WriteFile(script, []byte(perlClient), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := startSite(t, network, Options{Hosts: 3, ServicesPerHost: 4})
			want := expectedPerlOutput(t, s)
			before := s.Stats()
			kind := map[string]string{"unix": "socket", "tcp": "server"}[network]
			ctx, cancel := context.WithTimeout(context.Background(), testutil.HangGuard)
			defer cancel()
			out, err := exec.CommandContext(ctx, perl, script, kind, s.Addr()).CombinedOutput()
			if err != nil {
				t.Fatalf("perl client: %v\n%s", err, out)
			}
			if string(out) != want {
				t.Fatalf("perl client saw\n%s\nwant\n%s", out, want)
			}
			after := s.Stats()
			if after.Commands-before.Commands != 1 || after.Errors-before.Errors != 2 {
				t.Fatalf("stats went from %+v to %+v, want 1 command and 2 errors more", before, after)
			}
		})
	}
}

// expectedPerlOutput makes the script's queries with the raw client.
func expectedPerlOutput(t *testing.T, s *Server) string {
	c := dial(t, s)
	var once strings.Builder
	_, body := c.query("GET services\nColumns: host_name description state plugin_output\nFilter: host_name = host0001\n")
	for _, line := range strings.SplitAfter(body, "\n") {
		if line != "" {
			once.WriteString("svc " + line)
		}
	}
	_, body = c.query("GET status\nColumns: program_start\n")
	once.WriteString("program_start " + body)
	_, body = c.query("GET hosts\nColumns: name groups\n")
	for _, r := range csvRows(body) {
		once.WriteString("host " + strings.Join(r, " ") + "\n")
	}
	_, body = c.query("GET services\nStats: state = 0\nStats: state != 0\n")
	once.WriteString("stats " + body)
	code, _ := c.query("GET nosuch\n")
	once.WriteString(fmt.Sprintf("error %d\n", code))
	return strings.Repeat(once.String(), 2) + "after command 2;CRIT - set by perl\n"
}
