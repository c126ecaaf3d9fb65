package fakesite

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// checkResult is a state set by a COMMAND; everything not overridden is
// derived from the object's index, so a site of a million services costs no
// memory until commands touch it.
type checkResult struct {
	state     int64
	output    string
	lastCheck int64
	acked     bool
}

type svcKey struct{ host, svc int }

// baseLastCheck anchors the synthetic last_check times so that answers are
// reproducible across runs (tests compare them).
const baseLastCheck = 1700000000

// dataset holds the immutable shape of the synthetic monitoring config.
type dataset struct {
	hosts    []string
	services []string // service descriptions, the same on every host
	hostIdx  map[string]int
	svcIdx   map[string]int
}

func newDataset(hosts, servicesPerHost int) *dataset {
	d := &dataset{
		hosts:    make([]string, hosts),
		services: make([]string, servicesPerHost),
		hostIdx:  make(map[string]int, hosts),
		svcIdx:   make(map[string]int, servicesPerHost),
	}
	for i := range d.hosts {
		d.hosts[i] = fmt.Sprintf("host%04d", i)
		d.hostIdx[d.hosts[i]] = i
	}
	for i := range d.services {
		d.services[i] = fmt.Sprintf("svc%03d", i)
		d.svcIdx[d.services[i]] = i
	}
	return d
}

// state is the mutable part of the site, shared by all connections.
type state struct {
	mu           sync.Mutex
	data         *dataset
	programStart int64
	hostRes      map[int]checkResult
	svcRes       map[svcKey]checkResult
}

func newState(d *dataset, programStart int64) *state {
	return &state{
		data:         d,
		programStart: programStart,
		hostRes:      map[int]checkResult{},
		svcRes:       map[svcKey]checkResult{},
	}
}

// snapshot is a consistent, private view for one query. Large answers are
// rendered twice (once to measure, once to send), so both passes must see
// the same data even if a COMMAND arrives in between.
type snapshot struct {
	data         *dataset
	programStart int64
	hostRes      map[int]checkResult
	svcRes       map[svcKey]checkResult
	counters     Stats
}

func (st *state) snapshot(counters Stats) *snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := &snapshot{
		data:         st.data,
		programStart: st.programStart,
		hostRes:      make(map[int]checkResult, len(st.hostRes)),
		svcRes:       make(map[svcKey]checkResult, len(st.svcRes)),
		counters:     counters,
	}
	for k, v := range st.hostRes {
		s.hostRes[k] = v
	}
	for k, v := range st.svcRes {
		s.svcRes[k] = v
	}
	return s
}

func (st *state) restart() {
	st.mu.Lock()
	st.programStart++
	st.mu.Unlock()
}

func (st *state) getProgramStart() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.programStart
}

var stateNames = [...]string{"OK", "WARN", "CRIT", "UNKNOWN"}

func (s *snapshot) host(h int) checkResult {
	if r, ok := s.hostRes[h]; ok {
		return r
	}
	st := int64(0)
	if h%50 == 49 { // a few hosts are down, so filters have something to find
		st = 1
	}
	out := "OK - " + s.data.hosts[h] + " is up"
	if st != 0 {
		out = "CRIT - " + s.data.hosts[h] + " is down"
	}
	return checkResult{state: st, output: out, lastCheck: baseLastCheck + int64(h%60)}
}

func (s *snapshot) service(h, sv int) checkResult {
	if r, ok := s.svcRes[svcKey{h, sv}]; ok {
		return r
	}
	var st int64
	switch (h*7 + sv*3) % 20 {
	case 0:
		st = 2
	case 1:
		st = 1
	case 2:
		st = 3
	}
	out := stateNames[st] + " - synthetic " + s.data.services[sv] + " on " + s.data.hosts[h]
	return checkResult{state: st, output: out, lastCheck: baseLastCheck + int64((h+sv)%60)}
}

// command is a parsed `COMMAND [epoch] NAME;args` line.
type command struct {
	epoch int64
	name  string
	args  []string
}

func parseCommand(line string) (command, error) {
	rest := strings.TrimPrefix(line, "COMMAND ")
	var c command
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return c, fmt.Errorf("malformed command timestamp")
		}
		ts, err := strconv.ParseInt(rest[1:end], 10, 64)
		if err != nil {
			return c, fmt.Errorf("malformed command timestamp")
		}
		c.epoch = ts
		rest = strings.TrimLeft(rest[end+1:], " ")
	}
	name, args, _ := strings.Cut(rest, ";")
	if name == "" {
		return c, fmt.Errorf("missing command name")
	}
	c.name = name
	if args != "" {
		c.args = strings.Split(args, ";")
	}
	return c, nil
}

// apply executes a command. The error text follows naemon's wording loosely;
// it is only shown when Options.CommandError is set.
func (st *state) apply(c command) error {
	when := c.epoch
	if when == 0 {
		when = time.Now().Unix()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	switch c.name {
	case "PROCESS_SERVICE_CHECK_RESULT":
		h, sv, err := st.lookupService(c.args, 4)
		if err != nil {
			return err
		}
		code, err := parseState(c.args[2], 3)
		if err != nil {
			return err
		}
		// Plugin output may itself contain semicolons.
		out := strings.Join(c.args[3:], ";")
		old := st.svcRes[svcKey{h, sv}]
		st.svcRes[svcKey{h, sv}] = checkResult{state: code, output: out, lastCheck: when, acked: old.acked && code != 0}
	case "PROCESS_HOST_CHECK_RESULT":
		h, err := st.lookupHost(c.args, 3)
		if err != nil {
			return err
		}
		code, err := parseState(c.args[1], 2)
		if err != nil {
			return err
		}
		out := strings.Join(c.args[2:], ";")
		old := st.hostRes[h]
		st.hostRes[h] = checkResult{state: code, output: out, lastCheck: when, acked: old.acked && code != 0}
	case "ACKNOWLEDGE_SVC_PROBLEM", "REMOVE_SVC_ACKNOWLEDGEMENT":
		h, sv, err := st.lookupService(c.args, 2)
		if err != nil {
			return err
		}
		r := st.currentService(h, sv)
		r.acked = c.name == "ACKNOWLEDGE_SVC_PROBLEM"
		st.svcRes[svcKey{h, sv}] = r
	case "ACKNOWLEDGE_HOST_PROBLEM", "REMOVE_HOST_ACKNOWLEDGEMENT":
		h, err := st.lookupHost(c.args, 1)
		if err != nil {
			return err
		}
		r := st.currentHost(h)
		r.acked = c.name == "ACKNOWLEDGE_HOST_PROBLEM"
		st.hostRes[h] = r
	case "SCHEDULE_FORCED_SVC_CHECK", "SCHEDULE_SVC_CHECK", "SCHEDULE_FORCED_HOST_CHECK",
		"SCHEDULE_HOST_CHECK", "SEND_CUSTOM_HOST_NOTIFICATION", "SEND_CUSTOM_SVC_NOTIFICATION":
		// Accepted without effect: the synthetic site has no scheduler.
	default:
		return fmt.Errorf("unknown command '%s'", c.name)
	}
	return nil
}

// currentService returns the service's result as queries see it; callers
// hold st.mu.
func (st *state) currentService(h, sv int) checkResult {
	snap := snapshot{data: st.data, svcRes: st.svcRes}
	return snap.service(h, sv)
}

func (st *state) currentHost(h int) checkResult {
	snap := snapshot{data: st.data, hostRes: st.hostRes}
	return snap.host(h)
}

func (st *state) lookupHost(args []string, want int) (int, error) {
	if len(args) < want {
		return 0, fmt.Errorf("too few arguments")
	}
	h, ok := st.data.hostIdx[args[0]]
	if !ok {
		return 0, fmt.Errorf("unknown host '%s'", args[0])
	}
	return h, nil
}

func (st *state) lookupService(args []string, want int) (int, int, error) {
	h, err := st.lookupHost(args, want)
	if err != nil {
		return 0, 0, err
	}
	sv, ok := st.data.svcIdx[args[1]]
	if !ok {
		return 0, 0, fmt.Errorf("unknown service '%s' on host '%s'", args[1], args[0])
	}
	return h, sv, nil
}

func parseState(s string, highest int64) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > highest {
		return 0, fmt.Errorf("invalid state '%s'", s)
	}
	return n, nil
}
