//go:build !linux

package tcpopt

// haveQuickAck is false where TCP_QUICKACK does not exist: Tune returns
// the bare *net.TCPConn.
const haveQuickAck = false

func setQuickAck(uintptr) {}
