package livestatus_test

// Micro-benchmarks of the wire format's hot paths, run by `make bench`
// with -benchmem beside the core's. They check what they measure, so a
// benchmark of a broken path fails instead of timing nothing.

import (
	"testing"

	"liveproxyd/livestatus"
)

// statusQuery is what the Checkmk GUI sends for the smallest answer.
const statusQuery = "GET status\nColumns: program_start\nOutputFormat: python3\nKeepAlive: on\nResponseHeader: fixed16\n\n"

// maxQueryBytes is the core's default query limit: the framer as the
// proxy runs it.
const maxQueryBytes = 16 << 20

func BenchmarkFramerNext(b *testing.B) {
	q := []byte(statusQuery)
	f := livestatus.NewFramer(maxQueryBytes)
	b.SetBytes(int64(len(q)))
	b.ReportAllocs()
	for b.Loop() {
		f.Push(q)
		got, ok, err := f.Next(false)
		if !ok || err != nil || !got.KeepAlive || !got.Fixed16 {
			b.Fatalf("framer: %+v %v %v", got, ok, err)
		}
	}
}

func BenchmarkUpstream(b *testing.B) {
	q := livestatus.ParseQuery([]byte(statusQuery[:len(statusQuery)-1]))
	b.ReportAllocs()
	for b.Loop() {
		if out := livestatus.Upstream(q); len(out) == 0 {
			b.Fatal("empty upstream request")
		}
	}
}

func BenchmarkParseHeader(b *testing.B) {
	hdr := livestatus.FormatHeader(200, 12345678)
	b.ReportAllocs()
	for b.Loop() {
		h, err := livestatus.ParseHeader(hdr)
		if err != nil || h.Length != 12345678 {
			b.Fatalf("%+v %v", h, err)
		}
	}
}
