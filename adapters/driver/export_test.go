package driver

import "time"

// SetFlushTimeout shortens flushTimeout for a test; the returned func
// restores it.
func SetFlushTimeout(d time.Duration) (restore func()) {
	old := flushTimeout
	flushTimeout = d
	return func() { flushTimeout = old }
}
