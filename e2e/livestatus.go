package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Reply is one fixed16 answer: the status code and exactly the body the
// header announced.
type Reply struct {
	Code int
	Body []byte
}

// Conn is one Livestatus connection with a buffered reader, so pipelined
// answers can be read one after another.
type Conn struct {
	net.Conn
	r *bufio.Reader
}

// Dial opens a Livestatus connection; network is "unix" or "tcp".
func Dial(network, addr string, timeout time.Duration) (*Conn, error) {
	c, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// Send writes a request as given; the caller ends it with an empty line.
func (c *Conn) Send(req string, timeout time.Duration) error {
	if err := c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := io.WriteString(c, req)
	return err
}

// ReadFixed16 reads one fixed16 answer. The header is parsed by position:
// Icinga may put a dataset separator into byte 16 instead of '\n'.
func (c *Conn) ReadFixed16(timeout time.Duration) (Reply, error) {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return Reply{}, err
	}
	var hdr [16]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return Reply{}, fmt.Errorf("fixed16 header: %w", err)
	}
	code, length, err := ParseFixed16(hdr[:])
	if err != nil {
		return Reply{}, err
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return Reply{Code: code}, fmt.Errorf("body of %d bytes: %w", length, err)
	}
	return Reply{Code: code, Body: body}, nil
}

// ReadAll reads until the peer closes: the only way to frame an answer
// without fixed16.
func (c *Conn) ReadAll(timeout time.Duration) ([]byte, error) {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	return io.ReadAll(c.r)
}

// ParseFixed16 checks a 16-byte header: 3-digit code, a space, the length
// right-aligned in 11 columns, one more byte. It is this package's own, not
// livestatus.ParseHeader: these tests measure the server facts that parser
// relies on, so they must not share it.
func ParseFixed16(hdr []byte) (code, length int, err error) {
	if len(hdr) != 16 || hdr[3] != ' ' {
		return 0, 0, fmt.Errorf("bad fixed16 header %q", hdr)
	}
	code, err = strconv.Atoi(string(hdr[:3]))
	if err != nil || code < 100 {
		return 0, 0, fmt.Errorf("bad fixed16 code in %q", hdr)
	}
	length, err = strconv.Atoi(strings.TrimLeft(string(hdr[4:15]), " "))
	if err != nil || length < 0 {
		return 0, 0, fmt.Errorf("bad fixed16 length in %q", hdr)
	}
	return code, length, nil
}

// Query sends one request on a fresh connection and reads its fixed16
// answer; the request must ask for fixed16 itself.
func Query(network, addr, req string, timeout time.Duration) (Reply, error) {
	c, err := Dial(network, addr, timeout)
	if err != nil {
		return Reply{}, err
	}
	defer c.Close()
	if err := c.Send(req, timeout); err != nil {
		return Reply{}, err
	}
	return c.ReadFixed16(timeout)
}

// QueryRaw sends one request on a fresh connection and returns every byte
// until the peer closes.
func QueryRaw(network, addr, req string, timeout time.Duration) ([]byte, error) {
	c, err := Dial(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Send(req, timeout); err != nil {
		return nil, err
	}
	return c.ReadAll(timeout)
}
