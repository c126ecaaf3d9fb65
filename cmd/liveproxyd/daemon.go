package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// daemonEnv marks the re-executed child; its value is the descriptor of
// the pipe on which the child reports its start to the parent.
const daemonEnv = "LIVEPROXYD_DAEMON_FD"

// startWait bounds how long the parent waits for the child to report.
const startWait = 15 * time.Second

func isDaemonChild() bool { return os.Getenv(daemonEnv) != "" }

// daemonize re-executes this program in a new session with stdio on
// /dev/null and waits until the child has taken its pid file and started
// its sites (exit 0) or has failed (exit 1, its error on stderr). Go cannot
// fork safely, so this replaces the classic double fork.
func daemonize(o options, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "liveproxyd: %v\n", err)
		return 1
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(stderr, "liveproxyd: %v\n", err)
		return 1
	}
	defer devnull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "liveproxyd: %v\n", err)
		return 1
	}
	defer r.Close()
	// The child gets absolute paths: it runs in "/" so it does not keep
	// the caller's working directory busy.
	args := []string{"--root", o.root, "--config", o.config}
	if o.debug {
		args = append(args, "--debug")
	}
	if o.metricsSet {
		args = append(args, "--metrics-listen="+o.metricsListen)
	}
	if o.pprofListen != "" {
		args = append(args, "--pprof-listen="+o.pprofListen)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	// Output the runtime writes itself (a --debug panic's stack trace)
	// goes to the log file rather than to /dev/null.
	if out, err := openLogForChild(o); err == nil {
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
	}
	cmd.ExtraFiles = []*os.File{w} // descriptor 3 in the child
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		fmt.Fprintf(stderr, "liveproxyd: %v\n", err)
		return 1
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()

	_ = r.SetReadDeadline(time.Now().Add(startWait))
	line, err := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "ok":
		return 0
	case strings.HasPrefix(line, "error: "):
		fmt.Fprintf(stderr, "liveproxyd: %s\n", strings.TrimPrefix(line, "error: "))
	case err != nil:
		fmt.Fprintf(stderr, "liveproxyd: the daemon (pid %d) did not report its start: %v\n", pid, err)
	default:
		fmt.Fprintf(stderr, "liveproxyd: unexpected start report %q\n", line)
	}
	return 1
}

// childNotifier returns the function that reports the start to a waiting
// parent; outside a daemonized child it does nothing. Only the first call
// counts.
func childNotifier() func(error) {
	if !isDaemonChild() {
		return func(error) {}
	}
	var fd uintptr = 3
	if _, err := fmt.Sscanf(os.Getenv(daemonEnv), "%d", &fd); err != nil {
		return func(error) {}
	}
	f := os.NewFile(fd, "liveproxyd-start")
	// Our own children (none today) must not think they are daemons.
	os.Unsetenv(daemonEnv)
	return func(err error) {
		if f == nil {
			return
		}
		if err != nil {
			fmt.Fprintf(f, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintln(f, "ok")
		}
		f.Close()
		f = nil
	}
}

func openLogForChild(o options) (*os.File, error) {
	path := filepath.Join(o.root, logPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
}
