package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"liveproxyd/adapters/pidfile"
	"liveproxyd/adapters/statefile"
	"liveproxyd/core"
)

// status prints the state file as a table. It exits non-zero when there is
// no state file, the daemon that wrote it is gone, or a site is not
// serving (dead, stopped, unavailable), so scripts and monitoring can use
// it as a check.
func status(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("liveproxyd status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", defaultRoot(), "site root (default $OMD_ROOT, else the current directory)")
	asJSON := fs.Bool("json", false, "print the state file as JSON")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	path := filepath.Join(*root, statefile.Path)
	f, err := statefile.Read(path)
	if err != nil {
		fmt.Fprintf(stderr, "liveproxyd status: %v\n", err)
		return 1
	}
	running := f.PID > 0 && pidfile.Alive(f.PID)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(f); err != nil {
			fmt.Fprintf(stderr, "liveproxyd status: %v\n", err)
			return 1
		}
	} else {
		printTable(stdout, f, running)
	}
	if !running {
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

func printTable(w io.Writer, f *statefile.File, running bool) {
	if running {
		fmt.Fprintf(w, "liveproxyd pid %d, state written %s ago\n\n", f.PID, time.Since(f.Written).Round(time.Second))
	} else {
		fmt.Fprintf(w, "liveproxyd is not running (state file of pid %d, written %s)\n\n", f.PID, f.Written.Format(time.RFC3339))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tSTATE\tFREE\tBUSY\tCONNECTING\tWAITING\tRTT\tLAST ERROR")
	for _, s := range f.Sites {
		free, busy, connecting := countChannels(s.Channels)
		rtt := "-"
		if s.TypicalRTTMillis > 0 {
			rtt = fmt.Sprintf("%.1fms", s.TypicalRTTMillis)
		}
		lastErr := s.LastError
		if lastErr == "" {
			lastErr = "-"
		} else if s.LastErrorAt != nil {
			lastErr = s.LastErrorAt.Format("15:04:05") + " " + lastErr
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n",
			s.Name, s.State, free, busy, connecting, s.ClientsWaiting, rtt, lastErr)
	}
	tw.Flush()
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
