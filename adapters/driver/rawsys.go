package driver

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// readNow and writeNow are read(2) and write(2) on a non-blocking socket,
// made without telling the scheduler that a system call begins
// (RawSyscall): it cannot block, so there is nothing for the scheduler
// to do. A plain Syscall wakes the runtime's monitor thread if it sleeps,
// so that the monitor could hand the P to another thread should the call
// block; on a relay that is idle between queries nearly every read and
// write found it asleep, and its wake-ups and 20 µs naps were over a
// quarter of the daemon's CPU at one P (perf, hops at one client). Both
// retry a call a signal interrupted, so no caller sees EINTR.
func readNow(fd int, p []byte) (int, error) {
	return rawIO(unix.SYS_READ, fd, p)
}

func writeNow(fd int, p []byte) (int, error) {
	return rawIO(unix.SYS_WRITE, fd, p)
}

func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	for {
		r, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return -1, e
	}
}

// shutdownNow is shutdown(fd, SHUT_WR) made the same way.
func shutdownNow(fd int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), unix.SHUT_WR, 0); e != 0 {
		return e
	}
	return nil
}

// accept4Now accepts one connection of a non-blocking listener, itself
// non-blocking.
func accept4Now(lfd int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// closeNow closes a descriptor the poller owns.
func closeNow(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// epollWaitNow collects ready events without waiting.
func epollWaitNow(ep int, evs []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(unsafe.SliceData(evs))), uintptr(len(evs)), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// epollCtlNow is epoll_ctl(2); an event of fd will carry serial.
func epollCtlNow(ep, op, fd int, serial uint32, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(serial)}
	if _, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(ep), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0); e != 0 {
		return e
	}
	return nil
}
