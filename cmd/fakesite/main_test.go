package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"liveproxyd/internal/testutil"
)

// TestMain lets the test binary act as the command, so the signal test can
// run it as a real process.
func TestMain(m *testing.M) {
	if os.Getenv("FAKESITE_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// readyAddr reads the readiness line and returns network and address.
func readyAddr(t *testing.T, r *bufio.Reader) (string, string) {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("no readiness line: %v (%q)", err, line)
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "fakesite listening on ")
	network, addr, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		t.Fatalf("readiness line %q", line)
	}
	return network, addr
}

func query(t *testing.T, network, addr, req string) string {
	t.Helper()
	c := testutil.Dial(t, network, addr)
	defer c.Close()
	if _, err := io.WriteString(c, req+"\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunServesAndReactsToControl(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	control := make(chan os.Signal)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "unix:" + sock, "-hosts", "4", "-services", "3", "-program-start", "500"}, pw, control)
		pw.Close()
	}()
	network, addr := readyAddr(t, bufio.NewReader(pr))
	if network != "unix" || addr != sock {
		t.Fatalf("listening on %s:%s, want unix:%s", network, addr, sock)
	}
	if got := query(t, network, addr, "GET status\nColumns: num_hosts num_services program_start\n"); got != "4;12;500\n" {
		t.Fatalf("status: %q", got)
	}
	control <- syscall.SIGUSR1 // restart
	// Hang on and off: each unbuffered send returns only once run is back
	// in its loop, so the restart above has finished.
	control <- syscall.SIGUSR2
	control <- syscall.SIGUSR2
	if got := query(t, network, addr, "GET status\nColumns: program_start\n"); got != "501\n" {
		t.Fatalf("after SIGUSR1: %q", got)
	}
	cancel()
	if err := testutil.Await(t, "return of run after cancel", done); err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}

// TestNaemonFlagReadsRequestsAsNaemon: with -naemon a whitespace-only line
// inside a request is skipped, as naemon does; Icinga 2 (the default) ends
// the request there, so the same text asks for another answer.
func TestNaemonFlagReadsRequestsAsNaemon(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"-naemon"}, "500\n"},
		{nil, "program_start;program_version;"}, // Icinga: "GET status" with every column
	} {
		sock := filepath.Join(t.TempDir(), "s")
		pr, pw := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, append([]string{"-listen", "unix:" + sock, "-hosts", "4", "-services", "3", "-program-start", "500"}, tc.flags...), pw, nil)
			pw.Close()
		}()
		network, addr := readyAddr(t, bufio.NewReader(pr))
		got := query(t, network, addr, "GET status\n \nColumns: program_start\n")
		cancel()
		if err := testutil.Await(t, "return of run after cancel", done); err != nil {
			t.Fatalf("run: %v", err)
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("flags %q: answer %q, want it to start with %q", tc.flags, got, tc.want)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-listen", "udp:127.0.0.1:1"},
		{"-listen", "nocolon"},
		{"-tls-cert", "x.pem"},
		{"-hosts", "-3", "-listen", "tcp:127.0.0.1:0"},
		{"extra"},
		{"-no-such-flag"},
	} {
		if err := run(context.Background(), args, io.Discard, nil); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

func TestProcessStopsOnSIGTERM(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-listen", "tcp:127.0.0.1:0", "-hosts", "2")
	cmd.Env = append(os.Environ(), "FAKESITE_RUN_MAIN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	network, addr := readyAddr(t, bufio.NewReader(out))
	if got := query(t, network, addr, "GET hosts\nColumns: name\n"); got != "host0000\nhost0001\n" {
		t.Fatalf("hosts: %q", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := testutil.Await(t, "exit after SIGTERM", exited); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
