package testutil

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Scrape fetches a Prometheus text exposition from url and returns every
// sample by its series as exposed, e.g. `liveproxyd_site_up{site="s1"}`,
// labels in the order exposed. A status other than 200, a content type
// other than text/plain, a malformed line or a series exposed twice fails
// the test.
func Scrape(t testing.TB, url string) map[string]float64 {
	t.Helper()
	client := &http.Client{Timeout: HangGuard}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s: %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape content type %q", ct)
	}
	return parseExposition(t, string(body))
}

func parseExposition(t testing.TB, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad exposition line %q", line)
			return nil
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
			return nil
		}
		if _, dup := out[line[:i]]; dup {
			t.Fatalf("series %s exposed twice", line[:i])
			return nil
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape body: %v", err)
	}
	return out
}
