package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// readerPause is how long the slow readers below stop reading: well past
// the heartbeat interval + timeout (2 s) of FastParams.
const readerPause = 6 * time.Second

// TestProxySlowReadersKeepTheSiteAlive: every channel carries a big answer
// to a client that stops reading, so the proxy pauses every channel and no
// heartbeat can go out. When the first reader went on, the proxy used to
// judge the site against the heartbeat that fell due meanwhile and declare
// it dead in that very step, cutting every answer. A paused channel is
// silent by the proxy's choice: both answers must arrive whole.
func TestProxySlowReadersKeepTheSiteAlive(t *testing.T) {
	ic := shared(t)
	big := strings.Replace(bigQuery(t, ic), "\nResponseHeader:", "\nLimit: 2000\nResponseHeader:", 1)
	const channels = 2
	// Answers up to answer_buffer are held whole and never pause a
	// channel; this one (6.9 MB) must stream.
	px := startProxyEdited(t, ic, FastParams(channels), func(config string) string {
		return strings.Replace(config, "}})\n", ", 'answer_buffer': 1048576}})\n", 1)
	})
	errs := runConcurrently(channels, 1, func(w, i int) error {
		c, err := Dial("unix", px.Socket(siteName), queryTimeout)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Send(big, queryTimeout); err != nil {
			return err
		}
		if err := c.SetReadDeadline(time.Now().Add(queryTimeout)); err != nil {
			return err
		}
		head := make([]byte, 16+64<<10)
		if _, err := fullRead(c, head); err != nil {
			return err
		}
		code, length, err := ParseFixed16(head[:16])
		if err != nil || code != 200 {
			return fmt.Errorf("header %q: %v", head[:16], err)
		}
		time.Sleep(readerPause) // the proxy pauses the channel
		rest, err := c.ReadAll(queryTimeout)
		if got := len(head) - 16 + len(rest); err != nil || got != length {
			return fmt.Errorf("reader %d: %d of %d body bytes after the pause (%v)", w, got, length, err)
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if log := px.Log(); strings.Contains(log, "is dead") {
		t.Errorf("the proxy declared the healthy site dead:\n%s", px.LogTail(3000))
	}
}
