package livestatus

import (
	"fmt"
	"io"
	"strconv"
)

// HeaderLen is the size of a fixed16 response header.
const HeaderLen = 16

// Header is a parsed fixed16 response header.
type Header struct {
	Code   int
	Length int64
}

// ParseHeader parses a fixed16 header by position: three digits, a space,
// the body length right-aligned in 11 columns, and one more byte that Icinga
// may fill with the dataset separator, so it is not checked.
func ParseHeader(b []byte) (Header, error) {
	if len(b) != HeaderLen {
		return Header{}, fmt.Errorf("fixed16 header: %d bytes, want %d", len(b), HeaderLen)
	}
	code := 0
	for _, c := range b[:3] {
		if c < '0' || c > '9' {
			return Header{}, fmt.Errorf("fixed16 header: bad status %q", b[:3])
		}
		code = code*10 + int(c-'0')
	}
	if b[3] != ' ' {
		return Header{}, fmt.Errorf("fixed16 header: %q", b)
	}
	field := b[4:15]
	i := 0
	for i < len(field) && field[i] == ' ' {
		i++
	}
	if i == len(field) {
		return Header{}, fmt.Errorf("fixed16 header: no length in %q", b)
	}
	var n int64
	for _, c := range field[i:] {
		if c < '0' || c > '9' {
			return Header{}, fmt.Errorf("fixed16 header: bad length in %q", b)
		}
		n = n*10 + int64(c-'0')
	}
	return Header{Code: code, Length: n}, nil
}

// ReadAnswer reads one fixed16 answer from r: the 16-byte header, then
// exactly the body length it announces.
func ReadAnswer(r io.Reader) (Header, []byte, error) {
	hdr := make([]byte, HeaderLen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return Header{}, nil, fmt.Errorf("reading fixed16 header: %w", err)
	}
	h, err := ParseHeader(hdr)
	if err != nil {
		return Header{}, nil, err
	}
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(r, body); err != nil {
		return h, nil, fmt.Errorf("reading %d-byte body: %w", h.Length, err)
	}
	return h, body, nil
}

// FormatHeader renders a fixed16 header ending in a newline.
func FormatHeader(code int, length int64) []byte {
	b := make([]byte, 0, HeaderLen)
	b = strconv.AppendInt(b, int64(code%1000), 10)
	for len(b) < 3 {
		b = append([]byte{'0'}, b...)
	}
	b = append(b, ' ')
	num := strconv.AppendInt(nil, length, 10)
	for i := len(num); i < 11; i++ {
		b = append(b, ' ')
	}
	b = append(b, num...)
	return append(b, '\n')
}

// Status codes of the proxy's own error replies.
const (
	CodeBadRequest     = 400
	CodeTooLarge       = 413
	CodeIncomplete     = 451
	CodeInvalidRequest = 452
	CodeBadGateway     = 502 // site dead, connection lost
	CodeBusy           = 503 // all channels busy
	CodeTimeout        = 504 // query timeout
)

// ErrorReply renders the proxy's error answer: a fixed16 header and a
// one-line text when the client asked for fixed16, else the text alone.
func ErrorReply(fixed16 bool, code int, text string) []byte {
	body := text + "\n"
	if !fixed16 {
		return []byte(body)
	}
	return append(FormatHeader(code, int64(len(body))), body...)
}
