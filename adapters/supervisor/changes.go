package supervisor

import (
	"reflect"
	"slices"

	"liveproxyd/adapters/config"
)

// changes names what differs between two configurations of a site, for
// the log line of a reload: an operator who sees a site restarted or
// reconfigured wants to know which key did it.
func changes(old, new config.Site) []string {
	var out []string
	if old.Socket != new.Socket {
		out = append(out, "socket")
	}
	if old.Cache != new.Cache {
		out = append(out, "cache")
	}
	if (old.TCP == nil) != (new.TCP == nil) ||
		old.TCP != nil && (old.TCP.Port != new.TCP.Port || old.TCP.TLS != new.TCP.TLS || !slices.Equal(old.TCP.OnlyFrom, new.TCP.OnlyFrom)) {
		out = append(out, "tcp")
	}
	// Every core number by its field name; Cache is reported above.
	ov, nv := reflect.ValueOf(old.Core), reflect.ValueOf(new.Core)
	for i := range ov.NumField() {
		name := ov.Type().Field(i).Name
		if name != "Cache" && !ov.Field(i).Equal(nv.Field(i)) {
			out = append(out, name)
		}
	}
	return out
}
