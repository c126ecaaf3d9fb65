package loadgen

import (
	"fmt"
	"sort"
	"strings"
)

// Presets are named queries for -mix. Each is the request without the
// ResponseHeader/KeepAlive lines and without the ending empty line; the
// load generator adds those.
var Presets = map[string]string{
	// The heartbeat-sized query: the smallest answer a site gives.
	"status": "GET status\nColumns: program_start",
	// A typical GUI view: a few columns of every host.
	"hosts": "GET hosts\nColumns: name state plugin_output",
	// A page of services.
	"services": "GET services\nColumns: host_name description state plugin_output\nLimit: 100",
	// Aggregation: the tactical overview's kind of query.
	"stats": "GET services\nStats: state = 0\nStats: state = 1\nStats: state = 2\nStats: state = 3",
	// Every column of every service: the big answer.
	"all-services": "GET services",
}

// PresetNames lists the preset names in a stable order.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseMix turns "status,hosts,hosts" into the preset queries, in order
// (repeat a name to weight it).
func ParseMix(s string) ([]string, error) {
	var qs []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		q, ok := Presets[name]
		if !ok {
			return nil, fmt.Errorf("unknown query %q in mix (known: %s)", name, strings.Join(PresetNames(), ", "))
		}
		qs = append(qs, q)
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("empty query mix %q", s)
	}
	return qs, nil
}

// UnescapeQuery turns a command-line query with literal `\n` separators
// into lines, dropping a trailing empty line the user may have written.
func UnescapeQuery(s string) string {
	s = strings.ReplaceAll(s, `\n`, "\n")
	return strings.TrimRight(s, "\n")
}

// request renders one query as sent: the lines, then the framing headers
// the load generator relies on, then the empty line. A COMMAND gets no
// answer, so it cannot be measured and is refused by Options.check.
func request(q string, keepAlive bool) []byte {
	var b strings.Builder
	b.WriteString(strings.TrimRight(q, "\n"))
	b.WriteString("\nResponseHeader: fixed16\n")
	if keepAlive {
		b.WriteString("KeepAlive: on\n")
	}
	b.WriteString("\n")
	return []byte(b.String())
}
