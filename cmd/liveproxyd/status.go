package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"liveproxyd/adapters/pidfile"
	"liveproxyd/adapters/statefile"
	"liveproxyd/core"
)

// staleAfter: the daemon rewrites the state file every 2 s; a file this
// old from a running daemon means its state writer is stuck, and the
// table would show an old truth.
const staleAfter = 30 * time.Second

// maxErrorText keeps one long error (Icinga's 452 carries a stack trace)
// from stretching every row of the table; --json has the full text.
const maxErrorText = 100

// status prints the state file as a table, or unchanged with --json. It
// exits 1 when there is no state file, the daemon that wrote it is gone,
// the file is stale, or a site is not serving (dead, stopped,
// unavailable), so scripts and monitoring can use it as a check; 2 on a
// usage error.
func status(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("liveproxyd status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", defaultRoot(), "site root (default $OMD_ROOT, else the current directory)")
	asJSON := fs.Bool("json", false, "print the state file as JSON")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: liveproxyd status [--root DIR] [--json]\n\n"+
			"Shows every site from ROOT/%s; exits 1 if the daemon is not running\n"+
			"or a site is not serving.\n\n", statefile.Path)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "liveproxyd status: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	f, err := statefile.Read(filepath.Join(*root, statefile.Path))
	if err != nil {
		fmt.Fprintf(stderr, "liveproxyd status: %v\n", err)
		return 1
	}
	running := f.PID > 0 && pidfile.Alive(f.PID)
	age := time.Since(f.Written)
	stale := running && age > staleAfter
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(f); err != nil {
			fmt.Fprintf(stderr, "liveproxyd status: %v\n", err)
			return 1
		}
	} else {
		printTable(stdout, f, running, age)
	}
	if stale {
		fmt.Fprintf(stderr, "liveproxyd status: the state file is %s old; the daemon (pid %d) may be stuck\n",
			age.Round(time.Second), f.PID)
	}
	if !running || stale {
		return 1
	}
	for _, s := range f.Sites {
		if !serving(s.State) {
			return 1
		}
	}
	return 0
}

// serving: a starting site is fine (its first heartbeat is under way).
func serving(state string) bool {
	return state == core.SiteAlive.String() || state == core.SiteStarting.String()
}

func printTable(w io.Writer, f *statefile.File, running bool, age time.Duration) {
	if running {
		fmt.Fprintf(w, "liveproxyd pid %d, state written %s ago\n\n", f.PID, age.Round(time.Second))
	} else {
		fmt.Fprintf(w, "liveproxyd is not running (state file of pid %d, written %s)\n\n", f.PID, f.Written.Format(time.RFC3339))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tSTATE\tSINCE\tFREE\tBUSY\tCONNECTING\tWAITING\tRTT\tTCP\tLAST ERROR")
	for _, s := range f.Sites {
		free, busy, connecting := countChannels(s.Channels)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n",
			s.Name, s.State, since(s.Since, f.Written), free, busy, connecting, s.ClientsWaiting,
			formatRTT(s.TypicalRTTMS), tcpCell(s.TCP), lastError(s))
	}
	tw.Flush()
	var failed []string
	for _, s := range f.Sites {
		if s.TCP != nil && s.TCP.Error != "" {
			failed = append(failed, fmt.Sprintf("site %s: TCP listener %s not served: %s",
				s.Name, tcpAddress(*s.TCP), oneLine(s.TCP.Error)))
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(failed, "\n"))
	}
}

// tcpCell is the site's TCP listener in the table: "-" without one,
// ":6560" or ":6560/tls" when served, "error" when not (the reason
// follows the table; a site's UNIX socket is served all the same).
func tcpCell(l *statefile.TCPListener) string {
	switch {
	case l == nil:
		return "-"
	case l.Error != "":
		return "error"
	}
	return tcpAddress(*l)
}

func tcpAddress(l statefile.TCPListener) string {
	if l.TLS {
		return l.Address + "/tls"
	}
	return l.Address
}

// oneLine keeps whatever a site or the system sent on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// since is how long the site had been in its state when the file was
// written (not now: a stopped daemon's file must not keep counting).
func since(t, written time.Time) string {
	if t.IsZero() || t.After(written) {
		return "-"
	}
	d := written.Sub(t)
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s") // 3h21m, not 3h21m0s
}

func formatRTT(ms float64) string {
	switch {
	case ms <= 0:
		return "-" // no heartbeat answered yet
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	default:
		return fmt.Sprintf("%.0fms", ms)
	}
}

func lastError(s statefile.Site) string {
	text := oneLine(s.LastError)
	if text == "" {
		return "-"
	}
	if r := []rune(text); len(r) > maxErrorText {
		text = string(r[:maxErrorText-1]) + "…"
	}
	if s.LastErrorAt != nil {
		text = s.LastErrorAt.Local().Format("15:04:05") + " " + text
	}
	return text
}

// countChannels groups channel states: heartbeats count as busy, a
// connected channel not yet proven counts as connecting.
func countChannels(chs []statefile.Channel) (free, busy, connecting int) {
	for _, c := range chs {
		switch c.State {
		case core.ChanFree.String():
			free++
		case core.ChanBusy.String(), core.ChanHeartbeat.String():
			busy++
		case core.ChanConnecting.String(), core.ChanProbing.String():
			connecting++
		}
	}
	return free, busy, connecting
}
