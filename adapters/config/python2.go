package config

import (
	"fmt"
	"strconv"
	"strings"
)

// FromPython2 rewrites the Python 2 string literals Checkmk up to 1.6
// wrote into its .mk files (sites.mk, liveproxyd.mk, liveproxyd.d/*.mk)
// into the Starlark spelling of the same text:
//
//   - u'...' loses its u (Starlark strings are text already);
//   - \xNN escapes above 0x7f, which Starlark refuses outside b'...',
//     become \u00NN in a u'...' string (Python 2 wrote U+00NN that way) and
//     the raw byte in a plain string (Python 2 wrote UTF-8 bytes that way).
//
// Comments, raw strings, b'...' strings and everything else pass unchanged,
// and no line break is added or removed, so error lines stay right.
func FromPython2(src []byte) []byte {
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			j := i
			for j < len(src) && src[j] != '\n' {
				j++
			}
			out, i = append(out, src[i:j]...), j
		case c == '\'' || c == '"':
			out, i = copyString(out, src, i, "")
		case isIdentByte(c):
			j := i
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			if word := string(src[i:j]); j < len(src) && (src[j] == '\'' || src[j] == '"') && isStringPrefix(word) {
				out, i = copyString(out, src, j, strings.ToLower(word))
				continue
			}
			out, i = append(out, src[i:j]...), j
		default:
			out, i = append(out, c), i+1
		}
	}
	return out
}

// isStringPrefix reports whether w may precede a quote in Python 2 or 3.
func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "u", "r", "b", "ur", "br", "rb":
		return true
	}
	return false
}

// copyString appends the literal whose opening quote is at i, prefix
// lowered, and returns the index after its closing quote. An unterminated
// literal runs to the end of the line (or file); Starlark reports it.
func copyString(out, src []byte, i int, prefix string) ([]byte, int) {
	raw, unicode, bytesLit := strings.Contains(prefix, "r"), strings.Contains(prefix, "u"), strings.Contains(prefix, "b")
	out = append(out, strings.ReplaceAll(prefix, "u", "")...)
	q := src[i]
	n := 1
	if i+2 < len(src) && src[i+1] == q && src[i+2] == q {
		n = 3
	}
	out = append(out, src[i:i+n]...)
	i += n
	for i < len(src) {
		c := src[i]
		switch {
		case c == q && (n == 1 || i+2 < len(src) && src[i+1] == q && src[i+2] == q):
			return append(out, src[i:i+n]...), i + n
		case c == '\n' && n == 1:
			return out, i
		case c == '\\' && i+1 < len(src):
			if hi, ok := highHexEscape(src, i); ok && !raw && !bytesLit {
				if unicode {
					out = fmt.Appendf(out, `\u%04x`, hi)
				} else {
					out = append(out, hi)
				}
				i += 4
				continue
			}
			out, i = append(out, c, src[i+1]), i+2
		default:
			out, i = append(out, c), i+1
		}
	}
	return out, i
}

// highHexEscape reads a \xNN escape at i whose value is above 0x7f.
func highHexEscape(src []byte, i int) (byte, bool) {
	if i+3 >= len(src) || src[i+1] != 'x' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(src[i+2:i+4]), 16, 8)
	if err != nil || v < 0x80 {
		return 0, false
	}
	return byte(v), true
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
