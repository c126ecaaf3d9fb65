package lsclient

import (
	"strings"
	"testing"
)

func TestReadAnswer(t *testing.T) {
	h, body, err := ReadAnswer(strings.NewReader("404          10\nno table\n\nrest"))
	if err != nil || h.Code != 404 || string(body) != "no table\n\n" {
		t.Fatalf("%+v %q %v", h, body, err)
	}
	if _, _, err := ReadAnswer(strings.NewReader("200           9\nshort")); err == nil {
		t.Fatal("a short body was accepted")
	}
	if _, _, err := ReadAnswer(strings.NewReader("400: Unknown command\n")); err == nil {
		t.Fatal("a non-fixed16 line was accepted")
	}
}

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
