// Package frameclient is the client side of both ISO 8583 links (the
// terminal's link to the acquirer, the acquirer's links to the issuers): one
// connection, plain TCP or TLS through isospec/tlsconf, carrying frames of
// the dialect (a 2-byte binary length header, then the message), on which
// any number of requests wait for their answers at once.
//
// It is built so that nothing a peer does can strand a goroutine
// (DESIGN.md, Decisions: no goroutine outlives its connection):
//
//   - one reader goroutine per connection; answers are handed to the
//     waiting Send through a channel with room for them, so the reader
//     never blocks on a caller that has gone;
//   - a frame must arrive whole, from its first header byte to its last
//     byte, within FrameTimeout; the announced length is checked against
//     MaxFrame before any buffer is allocated; either failure closes the
//     connection;
//   - frames handed in while a write runs leave together in the next one
//     (isospec/internal/framewrite), each write within WriteTimeout; after
//     a failed write nothing more is written;
//   - answers are matched to requests by a request ID (isospec's TID/STAN
//     by default); an answer whose Send has already given up is dropped
//     and counted;
//   - messages that are not answers (requests from the peer) go to the
//     Inbound handler, each on its own goroutine, at most MaxInFlight at a
//     time: the reader waits for a free slot, so a fast sender is slowed,
//     not buffered;
//   - Close, or the peer closing, ends the reader, fails every waiting
//     Send with ErrClosed and returns only once the reader and every
//     handler have ended.
//
// Send's errors tell a caller what to do about the request: ErrNotSent,
// nothing left (nothing to reverse); ErrNoAnswer or ErrClosed without
// ErrNotSent, it left, or may have, and got no answer.
package frameclient
