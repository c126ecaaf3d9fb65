// Package lsclient holds the client-side exchanges the tools and the tests
// that talk to the proxy share; the wire format itself is package
// livestatus.
package lsclient

import (
	"fmt"
	"io"
	"strings"

	"liveproxyd/livestatus"
)

// ProgramStart asks for the site's program_start on a KeepAlive
// connection (it tells sites apart, and restarts of one); an answer other
// than 200 is an error.
func ProgramStart(rw io.ReadWriter) (string, error) {
	if _, err := io.WriteString(rw, "GET status\nColumns: program_start\nResponseHeader: fixed16\nKeepAlive: on\n\n"); err != nil {
		return "", err
	}
	h, body, err := livestatus.ReadAnswer(rw)
	if err != nil {
		return "", err
	}
	if h.Code != 200 {
		return "", fmt.Errorf("status %d: %q", h.Code, body)
	}
	return strings.TrimSpace(string(body)), nil
}
