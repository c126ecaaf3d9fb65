// Package config loads Checkmk's liveproxyd configuration files unchanged
// and turns them into typed, validated per-site settings for the daemon.
//
// Why go.starlark.net: Checkmk writes liveproxyd.mk and the files under
// liveproxyd.d/ as Python statements (`sites.update({...})`, assignments,
// tuples, True/False, comments). Starlark is a deterministic, hermetic
// dialect of Python whose expression and statement syntax covers exactly
// what these files use, so the files are read as written instead of through
// a hand-written approximation of Python literal syntax that would drift from
// what Checkmk emits. It has no I/O, no imports and a step limit, so a
// broken or hostile file can fail but cannot touch the system or run
// forever, and its syntax package gives us the AST we need to report the
// line of a wrong key. It is maintained by the Bazel/Google authors, pure
// Go, and already a dependency of the module.
//
// Evaluation mirrors Checkmk: every *.mk under ROOT/etc/check_mk/liveproxyd.d
// (recursively, sorted by path) runs first, then the main file, all sharing
// one namespace in which `sites` and `liveproxyd_default_connection_params`
// start as empty dicts. Precedence per key: the design-note defaults, then
// liveproxyd_default_connection_params, then the site's own dict. Globals
// of our own: liveproxyd_metrics_address ('host:port'; absent or empty is
// off) switches the Prometheus endpoint on (Config.MetricsAddress);
// liveproxyd_answer_buffer_total and liveproxyd_query_buffer_total (bytes)
// are the memory budgets of all sites (docs/memory.md).
//
// Every problem is an *Error naming file, line, site and key, because the
// reader is an administrator who has to find the typo.
package config
