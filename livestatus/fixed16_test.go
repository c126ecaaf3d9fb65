package livestatus

import (
	"strings"
	"testing"
)

func TestFixed16(t *testing.T) {
	h, err := ParseHeader([]byte("200        1234;"))
	if err != nil || h.Code != 200 || h.Length != 1234 {
		t.Fatalf("%+v %v", h, err)
	}
	for _, bad := range []string{"20x          1\n", "200-          1\n", "200            \n", "200 12345678901", "400: Unknown co\n"} {
		if _, err := ParseHeader([]byte(bad)); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
	if got := string(ErrorReply(true, 502, "site a: dead")); got != "502          13\nsite a: dead\n" {
		t.Fatalf("reply %q", got)
	}
}

func TestReadAnswer(t *testing.T) {
	h, body, err := ReadAnswer(strings.NewReader("404          10\nno table\n\nrest"))
	if err != nil || h.Code != 404 || string(body) != "no table\n\n" {
		t.Fatalf("%+v %q %v", h, body, err)
	}
	if _, _, err := ReadAnswer(strings.NewReader("200           9\nshort")); err == nil {
		t.Fatal("a short body was accepted")
	}
	if _, _, err := ReadAnswer(strings.NewReader("400: Unknown command\n")); err == nil {
		t.Fatal("a non-fixed16 line was accepted")
	}
}
