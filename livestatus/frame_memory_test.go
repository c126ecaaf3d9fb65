package livestatus

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

// heapAfterGC is the live heap after a full collection.
func heapAfterGC() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestFramerGivesMemoryBackAfterLargeQuery: a client that sent one 15 MiB
// query and stays connected must not keep the framer's large array.
func TestFramerGivesMemoryBackAfterLargeQuery(t *testing.T) {
	const size = 15 << 20
	line := []byte("Filter: host_name = " + string(bytes.Repeat([]byte("x"), 100)) + "\n")
	chunk := bytes.Repeat(line, (32<<10)/len(line)) // driver-sized reads
	before := heapAfterGC()
	f := NewFramer(32 << 20)
	f.Push([]byte("GET services\n"))
	for n := 0; n < size; n += len(chunk) {
		f.Push(chunk)
	}
	f.Push([]byte("\nGET hosts\n")) // and the start of the next query
	q, ok, err := f.Next(false)
	if !ok || err != nil || q.Size < size {
		t.Fatalf("large query: ok %v err %v size %d", ok, err, q.Size)
	}
	q = Query{} // the query itself is the caller's to drop
	f.Push([]byte("Columns: name\n"))
	retained := heapAfterGC() - before
	if f.Buffered() != len("GET hosts\nColumns: name\n") {
		t.Fatalf("%d bytes buffered", f.Buffered())
	}
	if retained > 1<<20 {
		t.Fatalf("framer retains %d bytes after a %d-byte query", retained, size)
	}
	runtime.KeepAlive(f)
	_ = q
}

// arrayEnd identifies the array behind b by the address of its last
// element; nil when b has no array.
func arrayEnd(b []byte) *byte {
	if cap(b) == 0 {
		return nil
	}
	return &b[:cap(b)][cap(b)-1]
}

// queryOfSize is a complete query of exactly n bytes, its blank line
// included.
func queryOfSize(n int) []byte {
	q := []byte("GET hosts\nColumns: ")
	q = append(q, bytes.Repeat([]byte("x"), n-len(q)-2)...)
	return append(q, "\n\n"...)
}

// TestFramerKeepsUpToFramerKeepConsumedBytesInPlace pins the bound of
// compact: the array may keep framerKeep bytes already consumed (moving
// the rest costs a copy, so smaller leftovers stay), one byte more and the
// rest moves to a new array; the count starts again from zero after each
// move, so the bound holds for every array, not only the first; and the
// blank lines skipped between queries count as consumed.
func TestFramerKeepsUpToFramerKeepConsumedBytesInPlace(t *testing.T) {
	f := NewFramer(1 << 20)
	next := func(what string, wantMoved bool) {
		t.Helper()
		end := arrayEnd(f.buf)
		if _, ok, err := f.Next(false); !ok || err != nil {
			t.Fatalf("%s: ok %v err %v", what, ok, err)
		}
		if moved := arrayEnd(f.buf) != end; moved != wantMoved {
			t.Fatalf("%s: rest moved %v, want %v (%d bytes left)", what, moved, wantMoved, len(f.buf))
		}
	}
	// Blank lines skipped before a query are consumed bytes too.
	for round, blank := range []int{0, 0, 100} {
		f.Push(bytes.Repeat([]byte("\n"), blank))
		f.Push(queryOfSize(framerKeep - blank))
		f.Push([]byte("GET hosts\n")) // the next query has begun
		next(fmt.Sprintf("round %d: %d bytes consumed", round, framerKeep), false)
		f.Push([]byte("\n"))
		next(fmt.Sprintf("round %d: %d bytes consumed", round, framerKeep+len("GET hosts\n\n")), true)
	}
}
