package driver

import "testing"

// Every pooled size gets a buffer at least as big, from the smallest pool
// that fits; a buffer goes back only to the pool of its exact size.
func TestHoldBuffersFit(t *testing.T) {
	if holdBufMin<<(holdClasses-1) != holdBufMax {
		t.Fatalf("%d classes from %d do not end at %d", holdClasses, holdBufMin, holdBufMax)
	}
	for _, n := range []int{1, holdBufMin/2 + 1, holdBufMin, holdBufMin + 1, 3 * holdBufMin, 730 << 10, holdBufMax, holdBufMax + 1} {
		b := holdBuffers{}.Get(n)
		if len(b) != 0 || cap(b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(b), cap(b))
		}
		if i, ok := holdClass(n); ok {
			if cap(b) != holdBufMin<<i || i > 0 && holdBufMin<<(i-1) >= n {
				t.Fatalf("Get(%d): cap %d, class %d is not the smallest that fits", n, cap(b), i)
			}
		} else if cap(b) != n {
			t.Fatalf("Get(%d) outside the pools: cap %d", n, cap(b))
		}
		putHold(b)
	}
	// A buffer of another size (a cut one, say) is not kept: the pool of
	// its class must never hand out one smaller than the class.
	putHold(make([]byte, 0, 3*holdBufMin))
	for i := 0; i < 100; i++ {
		if b := (holdBuffers{}).Get(4 * holdBufMin); cap(b) < 4*holdBufMin {
			t.Fatalf("got %d bytes for %d", cap(b), 4*holdBufMin)
		}
	}
}
