package livestatus

import (
	"bytes"
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
