package lsclient

import (
	"strings"
	"testing"
)

// rw answers whatever is written with a canned reply.
type rw struct {
	strings.Reader
	wrote strings.Builder
}

func (r *rw) Write(p []byte) (int, error) { return r.wrote.Write(p) }

func TestProgramStart(t *testing.T) {
	c := &rw{Reader: *strings.NewReader("200          11\n1700000000\n")}
	ps, err := ProgramStart(c)
	if err != nil || ps != "1700000000" || !strings.HasPrefix(c.wrote.String(), "GET status\n") {
		t.Fatalf("%q %v, wrote %q", ps, err, c.wrote.String())
	}
	if _, err := ProgramStart(&rw{Reader: *strings.NewReader("502          14\nsite x: dead\n\n")}); err == nil {
		t.Fatal("a 502 answer gave a program_start")
	}
}
