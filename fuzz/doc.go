// Package fuzz holds the go test -fuzz targets for liveproxyd's parsers and
// for the core state machine as a whole. It has no code of its own: run
// `go test ./fuzz` for the seed corpus, `go test ./fuzz -run='^$'
// -fuzz='^FuzzSite$'` (or another target) to search.
package fuzz
