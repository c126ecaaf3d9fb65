package listen

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"testing"
)

// BenchmarkNagleClientSplitQuery is one KeepAlive query from a client
// that keeps Nagle on and writes its query in two parts, answered by a
// server reading through the TCP listener's connection. Without
// TCP_QUICKACK on our side the second part waits for our delayed ACK
// (measured here: ~44 ms per query; with it, well under 1 ms).
func BenchmarkNagleClientSplitQuery(b *testing.B) {
	l, err := TCP(TCPOptions{Host: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const answer = "200           3\nok\n"
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\n" {
					break
				}
			}
			if _, err := io.WriteString(c, answer); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(l.Port())))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetNoDelay(false)
	buf := make([]byte, len(answer))
	for b.Loop() {
		io.WriteString(c, "GET status\n")
		io.WriteString(c, "Columns: program_start\n\n")
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}
