// Package lsclient is the client side of a fixed16 Livestatus exchange,
// shared by the query tool and the tests that talk to the proxy.
package lsclient

import (
	"fmt"
	"io"
	"strings"

	"liveproxyd/core"
)

// ReadAnswer reads one fixed16 answer: the 16-byte header, then exactly
// the body length it announces.
func ReadAnswer(r io.Reader) (core.Header, []byte, error) {
	hdr := make([]byte, core.HeaderLen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return core.Header{}, nil, fmt.Errorf("reading fixed16 header: %w", err)
	}
	h, err := core.ParseHeader(hdr)
	if err != nil {
		return core.Header{}, nil, err
	}
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(r, body); err != nil {
		return h, nil, fmt.Errorf("reading %d-byte body: %w", h.Length, err)
	}
	return h, body, nil
}

// ProgramStart asks for the site's program_start on a KeepAlive
// connection (it tells sites apart, and restarts of one); an answer other
// than 200 is an error.
func ProgramStart(rw io.ReadWriter) (string, error) {
	if _, err := io.WriteString(rw, "GET status\nColumns: program_start\nResponseHeader: fixed16\nKeepAlive: on\n\n"); err != nil {
		return "", err
	}
	h, body, err := ReadAnswer(rw)
	if err != nil {
		return "", err
	}
	if h.Code != 200 {
		return "", fmt.Errorf("status %d: %q", h.Code, body)
	}
	return strings.TrimSpace(string(body)), nil
}
