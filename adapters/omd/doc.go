// Package omd connects liveproxyd to an OMD/Checkmk site: WriteConfig turns
// the GUI's list of sites (etc/check_mk/multisite.d/wato/sites.mk) into the
// proxy's configuration (etc/check_mk/liveproxyd.mk) and reloads a running
// daemon, which is what Checkmk's GUI does when an admin saves the sites.
//
// sites.mk is read with go.starlark.net, as adapters/config reads the
// proxy's own files, because Checkmk writes it as the Python statement
// `sites.update({...})`. Two ways of marking a site as proxied are
// understood:
//
//   - Checkmk >= 1.4: `'proxy': {'params': {...} | None, 'tcp': {...}}`;
//     `'proxy': None` or no key means a direct connection. `'params': None`
//     means "use the global defaults", so only socket (and tcp) are written
//     and liveproxyd.d/ and the daemon's defaults apply.
//   - The design notes (check_mk 1.2.x): `'liveproxy': True` as the
//     checkbox and `'liveproxyd': {...}` with the values; a `liveproxyd` dict
//     alone also switches the proxy on, `'liveproxy': False` switches it off.
//
// With explicit values every key is written, the design notes' defaults
// (10 channels, 5 s channel timeout, heartbeat (3, 2.0) at 50 %, 120 s
// query timeout) filling the gaps, so the written file says exactly what
// the proxy does for that site.
package omd
