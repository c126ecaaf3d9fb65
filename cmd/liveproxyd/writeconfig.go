package main

import (
	"flag"
	"fmt"
	"io"

	"liveproxyd/adapters/omd"
)

// writeConfig is step 14 of the design notes (docs/design.md §20): turn the GUI's site list
// (etc/check_mk/multisite.d/wato/sites.mk) into liveproxyd.mk and reload a
// running daemon.
func writeConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("liveproxyd write-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", defaultRoot(), "site root (default $OMD_ROOT, else the current directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := omd.WriteConfig(*root, stdout); err != nil {
		fmt.Fprintln(stderr, "liveproxyd write-config:", err)
		return 1
	}
	return 0
}
