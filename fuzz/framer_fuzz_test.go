package fuzz

import (
	"testing"

	"liveproxyd/livestatus"
)

const framerMax = 4096

// FuzzFramer pushes arbitrary client bytes, split at a fuzzed point, into a
// Framer and takes queries as the core does: after each push, and at the
// end with or without EOF, stopping at the first error (the core answers
// it and closes the client). The framer never panics, never holds more
// than it was given, and every query consumes bytes that were given.
func FuzzFramer(f *testing.F) {
	for _, s := range []string{
		"GET hosts\nColumns: name state\nOutputFormat: python3\nKeepAlive: on\nResponseHeader: fixed16\n\n",
		"GET status\nColumns: program_start\n\nGET hosts\nColumns: name\nResponseHeader: fixed16\n\n",
		"\r\n\nGET services\r\nFilter: state = 2\r\nKeepAlive: on\r\n\r\n",
		"COMMAND [1700000000] SCHEDULE_FORCED_HOST_CHECK;h1;1700000000\n\n",
		"GET hosts\nColumns: na",
		"GET hosts\n",
		"HELLO\n\n",
	} {
		f.Add([]byte(s), uint16(len(s)/2), true)
		f.Add([]byte(s), uint16(1), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, eof bool) {
		input := append([]byte(nil), data...) // the framer may keep slices
		cut := int(split) % (len(input) + 1)
		fr := livestatus.NewFramer(framerMax)
		pushed, consumed, failed := 0, 0, false
		take := func(eof bool) {
			// Each query consumes at least one byte: len+1 rounds suffice.
			for i := 0; i <= len(input)+1 && !failed; i++ {
				q, ok, err := fr.Next(eof)
				if fr.Buffered() > pushed || fr.Buffered() > len(input) {
					t.Fatalf("buffers %d bytes of %d pushed", fr.Buffered(), pushed)
				}
				if err != nil {
					failed = true
					return
				}
				if !ok {
					return
				}
				if q.Size <= 0 || len(q.Lines) == 0 {
					t.Fatalf("query %+v of size %d", q, q.Size)
				}
				if consumed += q.Size; consumed+fr.Buffered() > pushed {
					t.Fatalf("queries took %d bytes and %d are held, of %d pushed", consumed, fr.Buffered(), pushed)
				}
			}
			if !failed {
				t.Fatalf("framer yields queries without end")
			}
		}
		for _, part := range [][]byte{input[:cut], input[cut:]} {
			if failed {
				break
			}
			fr.Push(part)
			pushed += len(part)
			take(false)
		}
		if !failed {
			take(eof)
		}
	})
}

// FuzzFixed16 parses arbitrary bytes as a fixed16 response header. It never
// panics; whatever it accepts is 16 bytes with a code and length in range,
// and formatting that header again parses back to the same.
func FuzzFixed16(f *testing.F) {
	for _, s := range []string{
		"200          11\n",
		"200        1234;", // Icinga: the dataset separator in byte 16
		"404          48\n",
		"452        2731\n",
		"200 99999999999\n",
		"400: Invalid co\n", // naemon after a failed COMMAND
		"20           11\n",
		"200         -11\n",
		"200            \n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := livestatus.ParseHeader(b)
		if err != nil {
			return
		}
		if len(b) != livestatus.HeaderLen || h.Code < 0 || h.Code > 999 || h.Length < 0 || h.Length > 99_999_999_999 {
			t.Fatalf("ParseHeader(%q) accepted %+v", b, h)
		}
		out := livestatus.FormatHeader(h.Code, h.Length)
		back, err := livestatus.ParseHeader(out)
		if err != nil || back != h || len(out) != livestatus.HeaderLen {
			t.Fatalf("FormatHeader(%d, %d) = %q parses as %+v, %v", h.Code, h.Length, out, back, err)
		}
	})
}
