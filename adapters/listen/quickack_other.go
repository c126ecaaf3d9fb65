//go:build !linux

package listen

import "net"

// withQuickAck is a no-op where TCP_QUICKACK does not exist.
func withQuickAck(c *net.TCPConn) net.Conn { return c }
