package fakesite

import (
	"os"
	"strconv"
)

// kind is a Livestatus column type; it decides filter semantics and output.
type kind uint8

const (
	kindInt kind = iota
	kindFloat
	kindString
	kindList
)

var kindNames = [...]string{"int", "float", "string", "list"}

type value struct {
	k kind
	i int64
	f float64
	s string
	l []string
}

func intVal(n int64) value     { return value{k: kindInt, i: n} }
func strVal(s string) value    { return value{k: kindString, s: s} }
func listVal(l []string) value { return value{k: kindList, l: l} }

// row is one object being rendered. Results are computed lazily and cached,
// because one row is read by many columns and filters.
type row struct {
	snap    *snapshot
	idx     int // index into the table
	h, sv   int
	res     *checkResult
	hostRes *checkResult
	counts  *[4]int64
	table   *table // columns table: the row's column lives here
	col     *column
}

func (r *row) result() checkResult {
	if r.res == nil {
		var c checkResult
		if r.sv < 0 {
			c = r.snap.host(r.h)
		} else {
			c = r.snap.service(r.h, r.sv)
		}
		r.res = &c
	}
	return *r.res
}

func (r *row) host() checkResult {
	if r.sv < 0 {
		return r.result()
	}
	if r.hostRes == nil {
		c := r.snap.host(r.h)
		r.hostRes = &c
	}
	return *r.hostRes
}

// serviceCounts are the per-state counts of the row's host's services.
func (r *row) serviceCounts() [4]int64 {
	if r.counts == nil {
		var c [4]int64
		for sv := range r.snap.data.services {
			c[r.snap.service(r.h, sv).state]++
		}
		r.counts = &c
	}
	return *r.counts
}

type column struct {
	name string
	k    kind
	desc string
	get  func(r *row) value
}

type table struct {
	name   string
	cols   []*column
	byName map[string]*column
	count  func(s *snapshot) int
	// fill positions r on row i.
	fill func(r *row, i int)
}

func (t *table) add(name string, k kind, desc string, get func(r *row) value) {
	c := &column{name: name, k: k, desc: desc, get: get}
	t.cols = append(t.cols, c)
	t.byName[name] = c
}

func newTable(name string, count func(*snapshot) int, fill func(*row, int)) *table {
	return &table{name: name, byName: map[string]*column{}, count: count, fill: fill}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// hostAddress derives a stable, unique IPv4 address per host.
func hostAddress(h int) string {
	return "10." + strconv.Itoa(h>>16&255) + "." + strconv.Itoa(h>>8&255) + "." + strconv.Itoa(h&255)
}

func hostGroups(h int) []string { return []string{"all", "hg" + strconv.Itoa(h%3)} }

func hostsTable() *table {
	t := newTable("hosts", func(s *snapshot) int { return len(s.data.hosts) },
		func(r *row, i int) { r.h, r.sv = i, -1 })
	name := func(r *row) value { return strVal(r.snap.data.hosts[r.h]) }
	t.add("name", kindString, "Host name", name)
	t.add("display_name", kindString, "Display name", name)
	t.add("alias", kindString, "Alias", func(r *row) value { return strVal("Alias of " + r.snap.data.hosts[r.h]) })
	t.add("address", kindString, "IP address", func(r *row) value { return strVal(hostAddress(r.h)) })
	t.add("state", kindInt, "Current state (0 up, 1 down, 2 unreachable)", func(r *row) value { return intVal(r.result().state) })
	t.add("state_type", kindInt, "Type of the state (0 soft, 1 hard)", func(*row) value { return intVal(1) })
	t.add("has_been_checked", kindInt, "Whether the host has been checked", func(*row) value { return intVal(1) })
	t.add("plugin_output", kindString, "Output of the last check", func(r *row) value { return strVal(r.result().output) })
	t.add("perf_data", kindString, "Performance data", func(r *row) value { return strVal("rta=0.100ms;200;500;0") })
	t.add("last_check", kindInt, "Time of the last check", func(r *row) value { return intVal(r.result().lastCheck) })
	t.add("acknowledged", kindInt, "Whether the problem is acknowledged", func(r *row) value { return intVal(b2i(r.result().acked)) })
	t.add("scheduled_downtime_depth", kindInt, "Number of downtimes", func(*row) value { return intVal(0) })
	t.add("check_command", kindString, "Check command", func(*row) value { return strVal("check-mk-host-ping") })
	t.add("groups", kindList, "Host groups", func(r *row) value { return listVal(hostGroups(r.h)) })
	t.add("num_services", kindInt, "Number of services", func(r *row) value { return intVal(int64(len(r.snap.data.services))) })
	for st, n := range []string{"ok", "warn", "crit", "unknown"} {
		t.add("num_services_"+n, kindInt, "Number of services in state "+n,
			func(r *row) value { return intVal(r.serviceCounts()[st]) })
	}
	t.add("worst_service_state", kindInt, "Worst state of the services", func(r *row) value {
		c := r.serviceCounts()
		switch {
		case c[2] > 0:
			return intVal(2)
		case c[3] > 0:
			return intVal(3)
		case c[1] > 0:
			return intVal(1)
		}
		return intVal(0)
	})
	return t
}

func servicesTable() *table {
	t := newTable("services", func(s *snapshot) int { return len(s.data.hosts) * len(s.data.services) },
		func(r *row, i int) {
			n := len(r.snap.data.services)
			r.h, r.sv = i/n, i%n
		})
	t.add("host_name", kindString, "Host name", func(r *row) value { return strVal(r.snap.data.hosts[r.h]) })
	desc := func(r *row) value { return strVal(r.snap.data.services[r.sv]) }
	t.add("description", kindString, "Service description", desc)
	t.add("display_name", kindString, "Display name", desc)
	t.add("state", kindInt, "Current state (0 ok, 1 warn, 2 crit, 3 unknown)", func(r *row) value { return intVal(r.result().state) })
	t.add("state_type", kindInt, "Type of the state (0 soft, 1 hard)", func(*row) value { return intVal(1) })
	t.add("has_been_checked", kindInt, "Whether the service has been checked", func(*row) value { return intVal(1) })
	t.add("plugin_output", kindString, "Output of the last check", func(r *row) value { return strVal(r.result().output) })
	t.add("long_plugin_output", kindString, "Long output of the last check", func(*row) value { return strVal("") })
	t.add("perf_data", kindString, "Performance data", func(r *row) value { return strVal("value=" + strconv.Itoa(r.sv) + ";80;90") })
	t.add("last_check", kindInt, "Time of the last check", func(r *row) value { return intVal(r.result().lastCheck) })
	t.add("acknowledged", kindInt, "Whether the problem is acknowledged", func(r *row) value { return intVal(b2i(r.result().acked)) })
	t.add("scheduled_downtime_depth", kindInt, "Number of downtimes", func(*row) value { return intVal(0) })
	t.add("check_command", kindString, "Check command", func(*row) value { return strVal("check_mk-dummy") })
	t.add("groups", kindList, "Service groups", func(r *row) value { return listVal([]string{"sg" + strconv.Itoa(r.sv%2)}) })
	t.add("host_state", kindInt, "State of the host", func(r *row) value { return intVal(r.host().state) })
	t.add("host_address", kindString, "IP address of the host", func(r *row) value { return strVal(hostAddress(r.h)) })
	t.add("host_alias", kindString, "Alias of the host", func(r *row) value { return strVal("Alias of " + r.snap.data.hosts[r.h]) })
	t.add("host_groups", kindList, "Host groups of the host", func(r *row) value { return listVal(hostGroups(r.h)) })
	return t
}

func statusTable() *table {
	t := newTable("status", func(*snapshot) int { return 1 }, func(r *row, i int) { r.h, r.sv = 0, -1 })
	t.add("program_start", kindInt, "Time of the last core start", func(r *row) value { return intVal(r.snap.programStart) })
	t.add("program_version", kindString, "Version of the core", func(*row) value { return strVal("fakesite-1.0") })
	t.add("livestatus_version", kindString, "Version of Livestatus", func(*row) value { return strVal("fakesite-1.0") })
	t.add("nagios_pid", kindInt, "Process ID of the core", func(*row) value { return intVal(int64(os.Getpid())) })
	t.add("num_hosts", kindInt, "Number of hosts", func(r *row) value { return intVal(int64(len(r.snap.data.hosts))) })
	t.add("num_services", kindInt, "Number of services", func(r *row) value {
		return intVal(int64(len(r.snap.data.hosts) * len(r.snap.data.services)))
	})
	t.add("connections", kindInt, "Connections accepted", func(r *row) value { return intVal(r.snap.counters.ConnsAccepted) })
	t.add("requests", kindInt, "Requests answered", func(r *row) value { return intVal(r.snap.counters.Queries) })
	t.add("interval_length", kindInt, "Seconds per interval unit", func(*row) value { return intVal(60) })
	t.add("enable_notifications", kindInt, "Whether notifications are on", func(*row) value { return intVal(1) })
	t.add("execute_service_checks", kindInt, "Whether active service checks run", func(*row) value { return intVal(1) })
	t.add("accept_passive_service_checks", kindInt, "Whether passive checks are accepted", func(*row) value { return intVal(1) })
	return t
}

// columnsTable describes every column of every table, itself included.
func columnsTable(tables []*table) *table {
	t := newTable("columns", nil, nil)
	t.add("table", kindString, "Table name", func(r *row) value { return strVal(r.table.name) })
	t.add("name", kindString, "Column name", func(r *row) value { return strVal(r.col.name) })
	t.add("type", kindString, "Column type", func(r *row) value { return strVal(kindNames[r.col.k]) })
	t.add("description", kindString, "Column description", func(r *row) value { return strVal(r.col.desc) })
	all := append(append([]*table{}, tables...), t)
	type ref struct {
		t *table
		c *column
	}
	var refs []ref
	for _, tb := range all {
		for _, c := range tb.cols {
			refs = append(refs, ref{tb, c})
		}
	}
	t.count = func(*snapshot) int { return len(refs) }
	t.fill = func(r *row, i int) { r.table, r.col = refs[i].t, refs[i].c }
	return t
}

// tables is the fixed schema, built once: it holds no per-site data.
var tables = func() map[string]*table {
	base := []*table{statusTable(), hostsTable(), servicesTable()}
	m := map[string]*table{}
	for _, t := range append(base, columnsTable(base)) {
		m[t.name] = t
	}
	return m
}()
