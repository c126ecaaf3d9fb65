package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"liveproxyd/internal/testutil"
)

// perlStep is one call of the Perl client; perlResult is how it saw it.
type perlStep struct {
	Op string `json:"op"` // all | row | scalar | do
	Q  string `json:"q"`
}

type perlResult struct {
	OK      int             `json:"ok"`
	Result  json.RawMessage `json:"result"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Seconds float64         `json:"seconds"`
	// Port is the local TCP port of the connection the client keeps after
	// the step; 0 when it keeps none (no keepalive, or a UNIX socket).
	Port int `json:"port"`
}

// runPerl runs testdata/mlclient.pl against socket and returns one result
// per step. The process is killed after a generous bound: the client's
// reads never time out on their own.
func runPerl(t testing.TB, socket string, keepalive bool, steps ...perlStep) []perlResult {
	t.Helper()
	requirePerl(t)
	in, err := json.Marshal(steps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ka := "0"
	if keepalive {
		ka = "1"
	}
	cmd := exec.CommandContext(ctx, "perl", "testdata/mlclient.pl", socket, ka)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("perl client: %v\nstderr: %s", err, tail(stderr.String(), 3000))
	}
	var res []perlResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(steps) {
		t.Fatalf("perl client output (%v, %d results for %d steps): %.500s\nstderr: %s",
			err, len(res), len(steps), out, tail(stderr.String(), 3000))
	}
	return res
}

// wantOK decodes a successful step's result into v.
func wantOK(t testing.TB, name string, r perlResult, v any) {
	t.Helper()
	if r.OK != 1 {
		t.Fatalf("%s: error %d %q", name, r.Code, r.Message)
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		t.Fatalf("%s: result %.300s: %v", name, r.Result, err)
	}
}

// TestPerlClient uses Monitoring::Livestatus, with and without keepalive,
// as the client of the proxy in front of the shared Icinga.
func TestPerlClient(t *testing.T) {
	requirePerl(t)
	ic := shared(t)
	start := programStart(t, "unix", ic.UnixPath)
	px := startProxy(t, ic, FastParams(10))
	sock := px.Socket(siteName)

	for _, keepalive := range []bool{false, true} {
		t.Run(fmt.Sprintf("keepalive=%v", keepalive), func(t *testing.T) {
			host, svc := "host-3", "svc-3"
			if keepalive {
				host, svc = "host-4", "svc-4"
			}
			out := fmt.Sprintf("e2e perl %v %d", keepalive, time.Now().UnixNano())
			res := runPerl(t, sock, keepalive,
				perlStep{"all", "GET hosts\nColumns: name state\nFilter: name = " + host},
				perlStep{"scalar", "GET status\nColumns: program_start"},
				perlStep{"all", "GET services\nColumns: host_name description state"},
				perlStep{"all", "GET nosuchtable"},
				perlStep{"row", "GET hosts\nColumns: name\nFilter: name = host-5"},
				// Last: with keepalive the client shuts its write side for
				// a COMMAND, so its next query would fail (TestPerlDirect).
				perlStep{"do", strings.TrimSuffix(checkResult(host, svc, 2, out), "\n\n")},
			)

			var hosts []map[string]any
			wantOK(t, "selectall_arrayref hosts", res[0], &hosts)
			if _, isNum := hosts[0]["state"].(float64); len(hosts) != 1 || hosts[0]["name"] != host || !isNum {
				t.Errorf("hosts: %v, want [{name:%s state:N}]", hosts, host)
			}
			var ps int64
			wantOK(t, "selectscalar_value program_start", res[1], &ps)
			if ps != start {
				t.Errorf("program_start through the proxy %d, direct %d", ps, start)
			}
			var services []map[string]any
			wantOK(t, "selectall_arrayref 10,000 services", res[2], &services)
			if len(services) != bigHosts*bigServices {
				t.Errorf("%d services, want %d", len(services), bigHosts*bigServices)
			}
			if res[3].OK != 0 || res[3].Code != 404 {
				t.Errorf("unknown table: %+v, want error 404", res[3])
			}
			var row []string
			wantOK(t, "selectrow_arrayref", res[4], &row)
			if len(row) != 1 || row[0] != "host-5" {
				t.Errorf("row %v, want [host-5]", row)
			}
			if res[5].OK != 1 {
				t.Errorf("COMMAND: error %d %q", res[5].Code, res[5].Message)
			}
			// The client waits up to 0.5 s for a COMMAND's error line
			// unless the server closes after the COMMAND and its EOF.
			t.Logf("perl: do(COMMAND) took %.3fs, 10,000 services %.3fs", res[5].Seconds, res[2].Seconds)

			// The COMMAND's effect, read back through Perl (bounded retry:
			// the next query may run on another channel).
			testutil.Eventually(t, 5*time.Second, func() error {
				r := runPerl(t, sock, keepalive, perlStep{"row",
					"GET services\nColumns: state plugin_output\nFilter: host_name = " + host + "\nFilter: description = " + svc})
				var got []any
				wantOK(t, "selectrow_arrayref service", r[0], &got)
				if len(got) != 2 || got[0] != float64(2) || got[1] != out {
					return fmt.Errorf("service %v, want [2 %q]", got, out)
				}
				return nil
			})
		})
	}
}

// TestPerlDirect pins how the Perl client behaves against Icinga itself,
// so the proxy tests do not blame the proxy for it: with keepalive it
// shuts its write side for a COMMAND, and its next query on that
// connection fails with 500 "Broken pipe" before it reconnects.
func TestPerlDirect(t *testing.T) {
	requirePerl(t)
	ic := shared(t)
	for _, keepalive := range []bool{false, true} {
		res := runPerl(t, ic.UnixPath, keepalive,
			perlStep{"do", strings.TrimSuffix(checkResult("host-9", "svc-9", 1, "e2e perl direct"), "\n\n")},
			perlStep{"row", "GET hosts\nColumns: name\nFilter: name = host-5"},
			perlStep{"row", "GET hosts\nColumns: name\nFilter: name = host-6"},
		)
		if res[0].OK != 1 {
			t.Errorf("keepalive=%v: COMMAND %+v", keepalive, res[0])
		}
		t.Logf("perl direct keepalive=%v: do(COMMAND) took %.3fs", keepalive, res[0].Seconds)
		first := res[1].OK == 1
		if keepalive && (first || res[1].Code != 500 || !strings.Contains(res[1].Message, "Broken pipe")) {
			t.Errorf("keepalive: query after COMMAND %+v, want the client's 500 Broken pipe", res[1])
		}
		if !keepalive && !first {
			t.Errorf("no keepalive: query after COMMAND %+v", res[1])
		}
		var row []string
		wantOK(t, "query after that", res[2], &row)
		if len(row) != 1 || row[0] != "host-6" {
			t.Errorf("keepalive=%v: row %v, want [host-6]", keepalive, row)
		}
	}
}

// TestPerlClientDeadSite: a site nothing listens for is dead; the Perl
// client gets Livestatus error 502 at once instead of hanging or retrying.
func TestPerlClientDeadSite(t *testing.T) {
	requirePerl(t)
	port := testutil.FreePort(t) // nothing listens there
	px := startProxyWith(t, TCPSiteConfig(siteName, "127.0.0.1", port, FastParams(2)))
	// The first refused dial makes the site dead; until then a query may
	// wait for a channel.
	testutil.Eventually(t, faultBound, func() error {
		r, err := Query("unix", px.Socket(siteName), StatusQuery, queryTimeout)
		if err != nil {
			return err
		}
		return deadReply(r)
	})
	for _, keepalive := range []bool{false, true} {
		res := runPerl(t, px.Socket(siteName), keepalive, perlStep{"all", "GET hosts\nColumns: name"})
		if res[0].OK != 0 || res[0].Code != 502 || !strings.Contains(res[0].Message, "site "+siteName+": ") {
			t.Errorf("keepalive=%v: %+v, want error 502 naming the site", keepalive, res[0])
		}
		t.Logf("MEASURE perl keepalive=%v: dead site answered %d %q in %.3fs", keepalive, res[0].Code, res[0].Message, res[0].Seconds)
	}
}
