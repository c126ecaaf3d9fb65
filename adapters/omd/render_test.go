package omd

import (
	"math"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// pyLiteral output reads back as the same value in Starlark (the daemon);
// it uses only escapes Python reads the same way.
func TestPyLiteralRoundTrip(t *testing.T) {
	d := starlark.NewDict(2)
	d.SetKey(starlark.String("path"), starlark.String(`/a b/'q'\"`))
	d.SetKey(starlark.String("n"), starlark.None)
	values := []starlark.Value{
		starlark.String("plain"), starlark.String("it's \\ \"x\"\n\t\r\x01\x7fü€"),
		starlark.MakeInt(-3), starlark.MakeInt64(1 << 40), starlark.Float(5), starlark.Float(0.1),
		starlark.Float(1e21), starlark.Float(-2.5e-7), starlark.True, starlark.False, starlark.None,
		starlark.Tuple{starlark.String("one")}, starlark.Tuple{},
		starlark.Tuple{starlark.String("tcp"), d}, starlark.NewList([]starlark.Value{starlark.MakeInt(1), d}),
	}
	for _, v := range values {
		var b strings.Builder
		if err := pyLiteral(&b, v); err != nil {
			t.Errorf("%v: %v", v, err)
			continue
		}
		got, err := starlark.EvalOptions(&syntax.FileOptions{}, &starlark.Thread{}, "lit", b.String(), nil)
		if err != nil {
			t.Errorf("%s does not parse: %v", b.String(), err)
			continue
		}
		if eq, err := starlark.Equal(got, v); err != nil || !eq || got.Type() != v.Type() {
			t.Errorf("%s reads back as %v (%s), want %v (%s)", b.String(), got, got.Type(), v, v.Type())
		}
		if strings.Contains(b.String(), `\u`) || strings.Contains(b.String(), `"`) && !strings.Contains(v.String(), `"`) {
			t.Errorf("%s uses an escape or quote Python reads differently", b.String())
		}
	}
	for _, bad := range []starlark.Value{starlark.String("\xff"), starlark.Float(math.Inf(1)), starlark.NewSet(0)} {
		if err := pyLiteral(&strings.Builder{}, bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
