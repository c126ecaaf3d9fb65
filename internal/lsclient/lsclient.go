// Package lsclient is the client side of a fixed16 Livestatus exchange,
// shared by the query tool and the tests that talk to the proxy.
package lsclient

import (
	"fmt"
	"io"

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
