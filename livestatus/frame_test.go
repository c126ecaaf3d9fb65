package livestatus

import "testing"

func TestFramerCRLFAndHeaders(t *testing.T) {
	f := NewFramer(1 << 10)
	f.Push([]byte("\r\nGET hosts\r\nAuthUser: bob\r\nCache: reload\r\nKeepAlive: on\r\n\r\nGET x\n"))
	q, ok, err := f.Next(false)
	if !ok || err != nil || q.Method != "GET" || q.AuthUser != "bob" || !q.Cache || !q.KeepAlive || q.Fixed16 {
		t.Fatalf("query %+v ok %v err %v", q, ok, err)
	}
	if len(q.Lines) != 4 || string(q.Lines[0]) != "GET hosts" {
		t.Fatalf("lines %q", q.Lines)
	}
	if _, ok, _ := f.Next(false); ok {
		t.Fatal("a query without its empty line is complete only at EOF")
	}
	q, ok, err = f.Next(true)
	if !ok || err != nil || string(q.Lines[0]) != "GET x" {
		t.Fatalf("EOF-ended query %+v %v %v", q, ok, err)
	}
	if f.Buffered() != 0 {
		t.Fatalf("%d bytes left", f.Buffered())
	}
}

func TestFramerLimits(t *testing.T) {
	f := NewFramer(10)
	f.Push([]byte("GET hosts\nColumns: a b c\n"))
	if _, _, err := f.Next(false); err != ErrQueryTooLarge {
		t.Fatalf("err %v", err)
	}
	f = NewFramer(100)
	f.Push([]byte("GET ho"))
	if _, _, err := f.Next(true); err != ErrIncomplete {
		t.Fatalf("err %v", err)
	}
}

func TestUpstreamPutsProxyHeadersFirst(t *testing.T) {
	q := ParseQuery([]byte("GET services\nFilter: state = 2\nResponseHeader: off\nKeepAlive: off\nCache: reload\nOutputFormat: json"))
	want := "GET services\nResponseHeader: fixed16\nKeepAlive: on\nFilter: state = 2\nOutputFormat: json\n\n"
	if got := string(Upstream(q)); got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	cmd := ParseQuery([]byte("COMMAND [12] DISABLE_NOTIFICATIONS"))
	if got := string(Upstream(cmd)); got != "COMMAND [12] DISABLE_NOTIFICATIONS\n\n" {
		t.Fatalf("command %q", got)
	}
}
