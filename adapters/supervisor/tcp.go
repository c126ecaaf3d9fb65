package supervisor

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"liveproxyd/adapters/config"
	"liveproxyd/adapters/listen"
	"liveproxyd/adapters/statefile"
)

// tcpListener is what an entry's TCP listener serves: bound is the `tcp`
// key it was bound with (nil: none), err why the configured one is not
// served, cert the certificate of a TLS listener.
type tcpListener struct {
	bound *config.TCP
	err   error
	cert  *listen.SiteCert
}

// siteID names the proxy's own site, whose certificate a TLS listener
// serves: $OMD_SITE as OMD sets it for the site user, else the base name of
// the root, since an OMD site lives at /omd/sites/SITE.
func siteID(root string) string {
	if id := os.Getenv("OMD_SITE"); id != "" {
		return id
	}
	return filepath.Base(filepath.Clean(root))
}

// tcpEqual reports whether two `tcp` keys serve the same.
func tcpEqual(a, b *config.TCP) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Port == b.Port && a.TLS == b.TLS && slices.Equal(a.OnlyFrom, b.OnlyFrom)
}

// serveTCP makes e's TCP listener match e.site.TCP while the site loop
// runs, and returns why it cannot. A change of only_from alone is applied
// to the bound listener (and its certificate re-read, as on every
// reload); a new port or TLS setting binds anew. A failure
// (port in use, missing certificate) is logged and leaves the site served
// on its UNIX socket; the next reload tries again. Called with s.mu held.
func (s *Supervisor) serveTCP(e *entry) error {
	want, set := e.site.TCP, e.set
	if set == nil {
		return nil
	}
	if want == nil {
		if e.tcp.bound != nil {
			s.log.Info("site no longer served on TCP", "site", e.site.Name, "port", e.tcp.bound.Port)
		}
		set.SetTCP(nil)
		e.tcp = tcpListener{}
		return nil
	}
	if cur, old := set.TCP(), e.tcp.bound; cur != nil && old != nil && old.Port == want.Port && old.TLS == want.TLS {
		cur.SetOnlyFrom(want.OnlyFrom)
		e.tcp.bound = want
		s.log.Info("site TCP access list changed", "site", e.site.Name, "port", want.Port, "only_from", allowedText(want))
		return s.reloadCert(e)
	}
	// The port may be the one being replaced: free it first. Go sets
	// SO_REUSEADDR, so a port just closed can be bound again at once.
	set.SetTCP(nil)
	e.tcp = tcpListener{}
	var tlsConfig *tls.Config
	var cert *listen.SiteCert
	if want.TLS {
		var err error
		if cert, err = listen.LoadSiteCert(listen.CertPath(s.opts.Root, siteID(s.opts.Root))); err != nil {
			return s.tcpFailed(e, err)
		}
		tlsConfig = cert.ServerTLS()
	}
	l, err := listen.TCP(listen.TCPOptions{Site: e.site.Name, Port: want.Port, OnlyFrom: want.OnlyFrom,
		TLS: tlsConfig, Logger: s.log})
	if err != nil {
		return s.tcpFailed(e, err)
	}
	set.SetTCP(l)
	e.tcp = tcpListener{bound: want, cert: cert}
	s.log.Info("serving site on TCP", "site", e.site.Name, "port", want.Port, "tls", want.TLS,
		"only_from", allowedText(want))
	return nil
}

// reloadCert re-reads the certificate of e's TLS listener, so a renewed
// one is served to new clients on every reload without closing the port;
// clients already connected keep their session. An unreadable file
// keeps the certificate served so far. Called with s.mu held.
func (s *Supervisor) reloadCert(e *entry) error {
	if e.tcp.cert == nil {
		return nil
	}
	changed, err := e.tcp.cert.Reload()
	if err != nil {
		s.log.Error("cannot re-read the site certificate; the TCP port serves the previous one",
			"site", e.site.Name, "port", e.tcp.bound.Port, "err", err)
		return fmt.Errorf("site %s TCP port %d: %w", e.site.Name, e.tcp.bound.Port, err)
	}
	if changed {
		s.log.Info("site certificate changed; serving it to new TCP clients", "site", e.site.Name,
			"port", e.tcp.bound.Port, "file", e.tcp.cert.Path())
	}
	return nil
}

func (s *Supervisor) tcpFailed(e *entry, err error) error {
	port := e.site.TCP.Port
	e.tcp = tcpListener{err: fmt.Errorf("site %s TCP port %d: %w", e.site.Name, port, err)}
	s.log.Error("cannot serve site on TCP; its UNIX socket is served", "site", e.site.Name, "port", port, "err", err)
	return e.tcp.err
}

// tcpStatus is e's TCP listener for the state files: the configured
// port and TLS, and why it is not served if it is not. Called with s.mu
// held.
func (e *entry) tcpStatus() *statefile.TCPListener {
	want := e.site.TCP
	if want == nil {
		return nil
	}
	out := &statefile.TCPListener{Address: net.JoinHostPort("", strconv.Itoa(want.Port)), TLS: want.TLS}
	switch {
	case e.loop == nil:
		out.Error = "the site is not running"
	case e.tcp.err != nil:
		// e.tcp.err names the site and port, which the state shows anyway.
		cause := errors.Unwrap(e.tcp.err)
		if cause == nil {
			cause = e.tcp.err
		}
		out.Error = cause.Error()
	case e.tcp.bound == nil:
		out.Error = "not bound" // not reached: serveTCP binds it or sets err
	}
	return out
}

// allowedText is only_from for the log; empty means everyone.
func allowedText(t *config.TCP) string {
	if len(t.OnlyFrom) == 0 {
		return "everyone"
	}
	return fmt.Sprint(t.OnlyFrom)
}
