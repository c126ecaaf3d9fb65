package omd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// pyLiteral writes v as a literal that Python (Checkmk reads the file too)
// and Starlark (the daemon) both read back as the same value. Starlark's own
// String() is not used: it quotes with Go's rules, whose escapes Python
// reads differently.
func pyLiteral(b *strings.Builder, v starlark.Value) error {
	switch x := v.(type) {
	case starlark.NoneType:
		b.WriteString("None")
	case starlark.Bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case starlark.Int:
		b.WriteString(x.String())
	case starlark.Float:
		f := float64(x)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%v has no literal", f)
		}
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0" // keep it a float: 5 would read back as an int
		}
		b.WriteString(s)
	case starlark.String:
		return pyString(b, string(x))
	case starlark.Tuple:
		// (x) is not a tuple in either language; (x,) is.
		if len(x) == 1 {
			return pySeq(b, "(", ",)", x)
		}
		return pySeq(b, "(", ")", x)
	case *starlark.List:
		items := make([]starlark.Value, x.Len())
		for i := range items {
			items[i] = x.Index(i)
		}
		return pySeq(b, "[", "]", items)
	case *starlark.Dict:
		b.WriteByte('{')
		for i, it := range x.Items() {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := pyLiteral(b, it[0]); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := pyLiteral(b, it[1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("a %s cannot be written to a configuration file", v.Type())
	}
	return nil
}

func pySeq(b *strings.Builder, open, close string, items []starlark.Value) error {
	b.WriteString(open)
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := pyLiteral(b, it); err != nil {
			return err
		}
	}
	b.WriteString(close)
	return nil
}

// pyString quotes s with the escapes both languages read alike. Non-ASCII
// text stays as UTF-8; bytes that are not UTF-8 are refused because
// Python 3 would read \xNN as a code point, Starlark as a byte.
func pyString(b *strings.Builder, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("string %q is not valid UTF-8", s)
	}
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return nil
}
