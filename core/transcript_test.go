package core_test

import (
	"testing"

	"github.com/cockroachdb/datadriven"

	"liveproxyd/core/coretest"
)

// TestTranscripts runs the Step stories in testdata/transcripts: events
// in, actions out, as text. After a change in the core, regenerate them
// with `go test ./core -run TestTranscripts -rewrite` and review the diff:
// the transcripts are the specification of what each story does.
func TestTranscripts(t *testing.T) {
	datadriven.Walk(t, "testdata/transcripts", func(t *testing.T, path string) {
		var tr coretest.Transcript
		datadriven.RunTest(t, path, tr.Handle)
	})
}
