package tcpopt

import "golang.org/x/sys/unix"

const haveQuickAck = true

func setQuickAck(fd uintptr) {
	_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
}
