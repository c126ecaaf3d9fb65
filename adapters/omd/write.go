package omd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"liveproxyd/adapters/config"
	"liveproxyd/adapters/pidfile"
)

// WriteConfig writes ROOT/etc/check_mk/liveproxyd.mk for the proxied sites
// of ROOT/etc/check_mk/multisite.d/wato/sites.mk, then reloads a running
// daemon with SIGHUP. It prints each proxied site's socket for the GUI
// (`SITE: unix:ROOT/tmp/run/liveproxy/SITE`) and what happened to out.
//
// The new file replaces the old one atomically and only after the daemon's
// own loader (config.Load, with liveproxyd.d/) accepted it, so a daemon
// that restarts or reloads at any moment reads either the old or the new
// valid file. Problems in sites.mk are *config.Error values naming
// sites.mk and the line; then nothing is written.
func WriteConfig(root string, out io.Writer) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Join(root, "etc", "check_mk")); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not a Checkmk site root: it has no etc/check_mk directory", root)
	}
	sf, err := readSites(root, filepath.Join(root, SitesFile))
	if err != nil {
		return err
	}
	text, err := render(sf)
	if err != nil {
		return err
	}
	target := filepath.Join(root, config.MainFile)
	err = replaceFile(target, []byte(text), func(tmp string) error {
		_, err := config.Load(root, tmp)
		return sf.reblame(err, tmp, target)
	})
	if err != nil {
		return err
	}
	for _, n := range sf.notes {
		fmt.Fprintln(out, n)
	}
	fmt.Fprintf(out, "wrote %s with %d proxied site(s); point the GUI at these sockets:\n", target, len(sf.sites))
	for _, s := range sf.sites {
		fmt.Fprintf(out, "%s: unix:%s\n", s.name, filepath.Join(root, config.SocketDir, s.name))
	}
	msg, err := reload(root)
	if msg != "" {
		fmt.Fprintln(out, msg)
	}
	return err
}

// render writes the sites as Checkmk writes liveproxyd.mk.
func render(sf *sitesFile) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `liveproxyd write-config` from %s.\n", SitesFile)
	b.WriteString("# Change the sites there (or in the GUI) and write again: edits here are overwritten.\n\n")
	b.WriteString("sites.update({\n")
	for _, s := range sf.sites {
		b.WriteString("    ")
		if err := pyString(&b, s.name); err != nil {
			return "", &config.Error{File: sf.path, Line: lineOf(sf.ast, s.name, nil), Site: s.name, Msg: err.Error()}
		}
		b.WriteString(": {\n")
		for _, p := range s.params {
			fmt.Fprintf(&b, "        '%s': ", p.key)
			if err := pyLiteral(&b, p.value); err != nil {
				return "", sf.blameError(s, p.key, err.Error())
			}
			b.WriteString(",\n")
		}
		b.WriteString("    },\n")
	}
	b.WriteString("})\n")
	return b.String(), nil
}

// blameError is a problem with one written key, placed in sites.mk.
func (sf *sitesFile) blameError(s proxiedSite, key, msg string) *config.Error {
	from := s.blame[key] // nil for a problem with the site as a whole
	return &config.Error{File: sf.path, Line: lineOf(sf.ast, s.name, from), Site: s.name,
		Key: strings.Join(from, "."), Msg: msg}
}

// reblame turns the loader's complaint about the generated file into one
// about the sites.mk line the value came from; a problem elsewhere (a
// liveproxyd.d file) keeps its own position. Either way the old file stays.
func (sf *sitesFile) reblame(err error, tmp, target string) error {
	var ce *config.Error
	if err == nil || !errors.As(err, &ce) || ce.File != tmp {
		if err != nil {
			return fmt.Errorf("new configuration refused, %s left unchanged: %w", target, err)
		}
		return nil
	}
	for _, s := range sf.sites {
		if s.name == ce.Site {
			e := sf.blameError(s, ce.Key, ce.Msg)
			return fmt.Errorf("new configuration refused, %s left unchanged: %w", target, e)
		}
	}
	e := *ce
	e.File = target + " (as generated)"
	return fmt.Errorf("new configuration refused, %s left unchanged: %w", target, &e)
}

// replaceFile writes data to a temporary file next to target, lets check
// vet it, and renames it over target. On any failure target is untouched
// and the temporary file removed.
func replaceFile(target string, data []byte, check func(tmp string) error) (err error) {
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(target); err == nil {
		mode = st.Mode().Perm()
	}
	// A dot name: nothing globs it as a *.mk file while it exists.
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".new-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := check(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		return err
	}
	// Make the rename itself durable; a failure here loses nothing now.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// reload sends SIGHUP to the daemon named by the pid file. No daemon (no
// pid file, or one naming a process that is gone) is normal: it reads the
// file when it starts.
func reload(root string) (string, error) {
	path := filepath.Join(root, pidfile.Path)
	pid, err := pidfile.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("liveproxyd is not running (no %s); it reads the new configuration when it starts", path), nil
	case err != nil:
		return fmt.Sprintf("liveproxyd not reloaded: unreadable pid file: %v", err), nil
	case !pidfile.Alive(pid):
		return fmt.Sprintf("liveproxyd is not running (stale %s: pid %d is gone); "+
			"it reads the new configuration when it starts", path, pid), nil
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return "", fmt.Errorf("configuration written, but reloading liveproxyd (pid %d) failed: %w", pid, err)
	}
	return fmt.Sprintf("reloaded liveproxyd (pid %d)", pid), nil
}
