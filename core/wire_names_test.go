package core

import "liveproxyd/livestatus"

// The wire format moved to package livestatus. These names keep the tests
// of this package (and tests written against them in parallel) compiling
// unchanged for one release; new tests should use livestatus directly.
// They live in a test file, so the core's own code and the tools cannot
// reach the wire format through the core.
type (
	Query  = livestatus.Query
	Header = livestatus.Header
	Framer = livestatus.Framer
)

const (
	HeaderLen          = livestatus.HeaderLen
	CodeBadRequest     = livestatus.CodeBadRequest
	CodeTooLarge       = livestatus.CodeTooLarge
	CodeIncomplete     = livestatus.CodeIncomplete
	CodeInvalidRequest = livestatus.CodeInvalidRequest
	CodeBadGateway     = livestatus.CodeBadGateway
	CodeBusy           = livestatus.CodeBusy
	CodeTimeout        = livestatus.CodeTimeout
)

var (
	ParseHeader      = livestatus.ParseHeader
	FormatHeader     = livestatus.FormatHeader
	ErrorReply       = livestatus.ErrorReply
	NewFramer        = livestatus.NewFramer
	ParseQuery       = livestatus.ParseQuery
	Upstream         = livestatus.Upstream
	ErrQueryTooLarge = livestatus.ErrQueryTooLarge
	ErrIncomplete    = livestatus.ErrIncomplete
)
