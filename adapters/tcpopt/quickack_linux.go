package tcpopt

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const haveQuickAck = true

// setQuickAck is setsockopt(TCP_QUICKACK) made as a raw system call: it
// cannot block, and a plain one wakes the runtime's monitor thread when it
// sleeps, at a cost far above the call's on a relay idle between queries.
func setQuickAck(fd uintptr) {
	one := int32(1)
	unix.RawSyscall6(unix.SYS_SETSOCKOPT, fd, unix.IPPROTO_TCP, unix.TCP_QUICKACK,
		uintptr(unsafe.Pointer(&one)), unsafe.Sizeof(one), 0)
}
