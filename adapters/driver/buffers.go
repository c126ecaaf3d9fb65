package driver

import (
	"math/bits"
	"sync"
)

// Buffers of held answers (core.Buffers), shared by every site and
// recycled once an answer is written (core.Action.Buf). An answer up to
// the hold limit is assembled whole before it goes out; allocating a fresh
// buffer for each made the runtime zero it, fault its pages in, collect
// it and give the pages back, which cost more than the proxying itself
// for answers of a few hundred kilobytes. Sizes are rounded up to a power
// of two, so a pool serves answers of similar size; what a pool holds is
// let go by the garbage collector when it sits unused.
const (
	holdBufMin = 4 << 10  // smaller answers: a plain allocation is cheap
	holdBufMax = 16 << 20 // the default answer_buffer; larger: allocated, not kept
)

// holdClasses: one pool per power of two from holdBufMin to holdBufMax.
const holdClasses = 13

var holdPools [holdClasses]sync.Pool

type holdBuffers struct{}

// holdClass is the pool for n bytes: the smallest power of two of
// holdBufMin that holds n; ok is false outside the pooled sizes.
func holdClass(n int) (i int, ok bool) {
	if n <= holdBufMin/2 || n > holdBufMax {
		return 0, false
	}
	i = bits.Len(uint((n - 1) / holdBufMin))
	return i, true
}

// Get implements core.Buffers.
func (holdBuffers) Get(n int) []byte {
	i, ok := holdClass(n)
	if !ok {
		return make([]byte, 0, n)
	}
	if p, _ := holdPools[i].Get().(*[]byte); p != nil {
		return (*p)[:0]
	}
	return make([]byte, 0, holdBufMin<<i)
}

// putHold gives a buffer back once what was written from it is written.
// Only buffers of a pool's exact size go back, so a pool never hands out
// one too small.
func putHold(b []byte) {
	i, ok := holdClass(cap(b))
	if !ok || cap(b) != holdBufMin<<i {
		return
	}
	b = b[:0]
	holdPools[i].Put(&b)
}
