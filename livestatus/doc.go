// Package livestatus is the Livestatus wire format as liveproxyd speaks it:
// the client-side framing of queries (Framer, ParseQuery), the request the
// proxy sends upstream (Upstream), the fixed16 response header (ParseHeader,
// FormatHeader, ReadAnswer) and the proxy's own error replies (ErrorReply,
// the Code constants).
//
// It holds no policy: which query goes where and when is the core's. It
// imports the standard library only, so tools, tests and the core can share
// one reading of the protocol without importing the state machine.
// The protocol facts it relies on are in docs/protocol.md §1 (requests)
// and §2 (fixed16 answers).
package livestatus
