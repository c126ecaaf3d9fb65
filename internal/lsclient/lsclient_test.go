package lsclient

import (
	"strings"
	"testing"
)

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
