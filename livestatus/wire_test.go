package livestatus

import (
	"strings"
	"testing"
)

// Wire safety: the proxy sends a server only requests every server frames
// exactly as the proxy does.

// frameTexts frames a whole stream and returns each query's upstream
// request, or "400 <why>" for one refused, or the framing error.
func frameTexts(t *testing.T, stream string) []string {
	t.Helper()
	f := NewFramer(4096)
	f.Push([]byte(stream))
	var out []string
	for i := 0; i < 100; i++ {
		q, ok, err := f.Next(true)
		switch {
		case err != nil:
			return append(out, err.Error())
		case !ok:
			return out
		case q.Bad != "":
			out = append(out, "400 "+q.Bad)
		default:
			out = append(out, string(Upstream(q)))
		}
	}
	t.Fatal("framer does not stop")
	return nil
}

// TestWhitespaceOnlyLineEndsTheQuery: Icinga trims every line, so each of
// these blank-looking lines ends a request there. The proxy must see the
// same two requests, never forward the second inside the first.
func TestWhitespaceOnlyLineEndsTheQuery(t *testing.T) {
	for name, blank := range map[string]string{
		"smuggle_space_line": " ", "smuggle_tab_line": "\t", "smuggle_crcr": "\r\r",
		"smuggle_vt": "\v", "smuggle_ff": "\f", "smuggle_two_spaces": "  ",
	} {
		stream := "GET hosts\nAuthUser: mallory\n" + blank + "\nGET services\nAuthUser: alice\nColumns: x\n\n"
		got := frameTexts(t, stream)
		want := []string{
			"GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nAuthUser: mallory\n\n",
			"GET services\nResponseHeader: fixed16\nKeepAlive: on\nAuthUser: alice\nColumns: x\n\n",
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: framed %q\n as %q\nwant %q", name, stream, got, want)
		}
	}
}

// TestBlankLinesBeforeAQueryAreSkipped: naemon skips whitespace-only
// lines before a request, so they get no 400 from the proxy either.
func TestBlankLinesBeforeAQueryAreSkipped(t *testing.T) {
	got := frameTexts(t, " \n\t\r\n\v\nGET status\n\n  \n")
	if len(got) != 1 || got[0] != "GET status\nResponseHeader: fixed16\nKeepAlive: on\n\n" {
		t.Fatalf("got %q", got)
	}
}

// TestCommandIsOneLine: naemon reads the line after a COMMAND as the next
// request. The proxy used to forward the COMMAND and drop the GET.
func TestCommandIsOneLine(t *testing.T) {
	got := frameTexts(t, "COMMAND [1] DISABLE_NOTIFICATIONS\nGET hosts\nColumns: name\n\n")
	want := []string{"COMMAND [1] DISABLE_NOTIFICATIONS\n\n", "GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nColumns: name\n\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// TestUpstreamIsCanonical: trailing whitespace is dropped, header values
// are trimmed (both servers trim them), CRLF becomes LF.
func TestUpstreamIsCanonical(t *testing.T) {
	got := frameTexts(t, "GET hosts \r\nColumns:name state\t\r\nFilter:  name = a b  \r\nLocaltime:\r\n\r\n")
	want := "GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nColumns: name state\nFilter: name = a b\nLocaltime:\n\n"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// TestMalformedLinesAreRefused: lines a server could read otherwise than
// the proxy never go upstream.
func TestMalformedLinesAreRefused(t *testing.T) {
	for _, bad := range []string{
		"GET hosts\nno colon here\n\n",
		"GET hosts\n ResponseHeader: fixed16\n\n", // Icinga: unknown header; naemon: 400
		"  GET hosts\n\n",                         // Icinga closes at once
		"\tCOMMAND [1] X\n",
		"GET hosts\nColumns : name\n\n",
		"GET hosts\n: value\n\n",
		"GET hosts\nFilter: name = a\x00b\n\n",
		"GET hosts\nFilter: name = a\x1bb\n\n",
		"GET hosts\nFilter:\x01name = a\n\n", // a control character right after the colon
		"GET hosts\nFil\ter: x\n\n",
		"GET  hosts\n\n",
		"GET\thosts\n\n",
		"GET\n\n",
		"COMMAND\n",
		"COMMAND [1] X\x00Y\n",
		"get hosts\n\n",
	} {
		got := frameTexts(t, bad)
		if len(got) != 1 || !strings.HasPrefix(got[0], "400 ") {
			t.Errorf("%q framed as %q, want one 400", bad, got)
		}
	}
}

// TestHeaderWithOtherWhitespaceAfterTheColonGoesUpWithOneSpace: a header
// line is forwarded as "Name: value" whatever separated the two, even
// when the line already has that length.
func TestHeaderWithOtherWhitespaceAfterTheColonGoesUpWithOneSpace(t *testing.T) {
	for _, sep := range []string{" ", "\t"} {
		got := frameTexts(t, "GET hosts\nColumns:"+sep+"name\n\n")
		want := "GET hosts\nResponseHeader: fixed16\nKeepAlive: on\nColumns: name\n\n"
		if len(got) != 1 || got[0] != want {
			t.Fatalf("separator %q: upstream %q, want %q", sep, got, want)
		}
	}
}

// TestCommandWhoseArgumentStartsWithAControlCharacterIs400: the first
// byte of the argument is checked like every other.
func TestCommandWhoseArgumentStartsWithAControlCharacterIs400(t *testing.T) {
	got := frameTexts(t, "COMMAND \x01[1] NOP\n")
	if len(got) != 1 || !strings.HasPrefix(got[0], "400 invalid COMMAND") {
		t.Fatalf("upstream %q, want a 400 for the control character", got)
	}
}
