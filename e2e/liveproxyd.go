package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Proxy is one liveproxyd process running in the foreground under its own
// temporary site root.
type Proxy struct {
	Bin  string
	Root string

	cmd  *exec.Cmd
	done chan struct{}
	out  *os.File
}

// SiteParams are the per-site keys of liveproxyd.mk the tests set; the
// timers are small so faults are detected and healed within seconds.
type SiteParams struct {
	Channels       int
	Heartbeat      [2]float64 // (interval, timeout) in seconds
	ChannelTimeout float64
	QueryTimeout   float64
	ConnectRetry   float64
}

// FastParams: the brief's timers (heartbeat every second, 1 s timeout,
// reconnect after 1 s).
func FastParams(channels int) SiteParams {
	return SiteParams{Channels: channels, Heartbeat: [2]float64{1, 1.0},
		ChannelTimeout: 3.0, QueryTimeout: 30.0, ConnectRetry: 1.0}
}

// TCPSiteConfig is a liveproxyd.mk statement, written the way Checkmk
// writes it, for one site reached over plain TCP at host:port.
func TCPSiteConfig(name, host string, port int, p SiteParams) string {
	return fmt.Sprintf("sites.update({%q: {'socket': ('tcp', {'address': (%q, %d), 'tls': ('plain_text', {})}), "+
		"'channels': %d, 'heartbeat': (%d, %.1f), 'channel_timeout': %.1f, 'query_timeout': %.1f, 'connect_retry': %.1f}})\n",
		name, host, port, p.Channels, int(p.Heartbeat[0]), p.Heartbeat[1], p.ChannelTimeout, p.QueryTimeout, p.ConnectRetry)
}

// UnixSiteConfig is the same for a site reached over a UNIX socket.
func UnixSiteConfig(name, path string, p SiteParams) string {
	return fmt.Sprintf("sites.update({%q: {'socket': %q, "+
		"'channels': %d, 'heartbeat': (%d, %.1f), 'channel_timeout': %.1f, 'query_timeout': %.1f, 'connect_retry': %.1f}})\n",
		name, path, p.Channels, int(p.Heartbeat[0]), p.Heartbeat[1], p.ChannelTimeout, p.QueryTimeout, p.ConnectRetry)
}

// StartProxy writes config into a fresh short root (the client sockets
// live under it and must stay below 107 bytes), starts `liveproxyd -g
// --root ROOT` and waits until every named site's socket accepts.
func StartProxy(bin, config string, sites []string, timeout time.Duration) (*Proxy, error) {
	root, err := os.MkdirTemp("", "e2e-proxy-")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Bin: bin, Root: root}
	if err := os.MkdirAll(filepath.Join(root, "etc", "check_mk"), 0o755); err != nil {
		return p, err
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "check_mk", "liveproxyd.mk"), []byte(config), 0o644); err != nil {
		return p, err
	}
	if p.out, err = os.Create(filepath.Join(root, "liveproxyd.out")); err != nil {
		return p, err
	}
	p.cmd = exec.Command(bin, "-g", "--root", root)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return p, err
	}
	p.done = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(timeout)
	for _, site := range sites {
		for {
			c, err := Dial("unix", p.Socket(site), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if !p.Running() {
				return p, fmt.Errorf("liveproxyd exited during start:\n%s", p.LogTail(3000))
			}
			if time.Now().After(deadline) {
				return p, fmt.Errorf("socket of site %s not ready after %v: %v\n%s", site, timeout, err, p.LogTail(3000))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return p, nil
}

// Socket is the client socket of site.
func (p *Proxy) Socket(site string) string {
	return filepath.Join(p.Root, "tmp", "run", "liveproxy", site)
}

// Running reports whether the daemon has not exited.
func (p *Proxy) Running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits; after timeout it kills and reports it.
func (p *Proxy) Stop(timeout time.Duration) error {
	if !p.Running() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("liveproxyd did not stop within %v of SIGTERM; killed", timeout)
	}
}

// ExitCode is the daemon's exit status once it has stopped, else -1.
func (p *Proxy) ExitCode() int {
	if p.Running() || p.cmd == nil || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Close kills the daemon if it still runs and removes the root.
func (p *Proxy) Close() {
	if p.Running() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	}
	if p.out != nil {
		p.out.Close()
	}
	_ = os.RemoveAll(p.Root)
}

// LogTail returns the last n bytes of the daemon's output.
func (p *Proxy) LogTail(n int) string {
	b, err := os.ReadFile(filepath.Join(p.Root, "liveproxyd.out"))
	if err != nil {
		return "(no liveproxyd output: " + err.Error() + ")"
	}
	return tail(string(b), n)
}

// Log returns the daemon's whole output.
func (p *Proxy) Log() string { return p.LogTail(1 << 30) }

// StateSite is the part of a site's entry in tmp/run/liveproxyd.status.json the
// tests read. A local copy, so the test documents the fields it relies on.
type StateSite struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Target   int    `json:"target_channels"`
	Channels []struct {
		ID    uint64 `json:"id"`
		State string `json:"state"`
	} `json:"channels"`
	HeartbeatsReceived uint64 `json:"heartbeats_received"`
	LastError          string `json:"last_error"`
	Counters           struct {
		QueriesOK      uint64 `json:"queries_ok"`
		QueriesDead    uint64 `json:"queries_dead"`
		QueriesBusy    uint64 `json:"queries_busy"`
		HeartbeatsLost uint64 `json:"heartbeats_lost"`
	} `json:"counters"`
}

// StateFile is tmp/run/liveproxyd.status.json as `liveproxyd status --json`
// prints it.
type StateFile struct {
	PID   int         `json:"pid"`
	Sites []StateSite `json:"sites"`
}

// Status runs `liveproxyd status --root ROOT --json`; it returns the
// parsed output and the command's exit code (0 = every site serving).
func (p *Proxy) Status() (StateFile, int, error) {
	cmd := exec.Command(p.Bin, "status", "--root", p.Root, "--json")
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		return StateFile{}, -1, err
	}
	var f StateFile
	if err := json.Unmarshal(out, &f); err != nil {
		return f, code, fmt.Errorf("liveproxyd status --json: %v\n%s", err, out)
	}
	return f, code, nil
}

// StatusTable runs `liveproxyd status --root ROOT`, the table operators
// read, and returns its output and exit code.
func (p *Proxy) StatusTable() (string, int, error) {
	out, err := exec.Command(p.Bin, "status", "--root", p.Root).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode(), nil
	}
	if err != nil {
		return "", -1, err
	}
	return string(out), 0, nil
}

// Site finds a site in the state file.
func (f StateFile) Site(name string) (StateSite, bool) {
	for _, s := range f.Sites {
		if s.Name == name {
			return s, true
		}
	}
	return StateSite{}, false
}
