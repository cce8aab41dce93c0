// Package frameserver is the listener of both ISO 8583 hosts: it accepts
// connections (plain TCP or TLS through isospec/tlsconf), reads frames of
// the dialect (a 2-byte binary length header, then the message) and hands
// each to a Handler, whose reply it writes back on the same connection.
//
// It is built so that a hostile or broken network cannot tire a host
// (DESIGN.md, Decisions: every listener has an idle timeout, a per-frame
// read deadline, a size limit checked before allocation and a connection
// cap; no goroutine outlives its connection):
//
//   - at most MaxConns connections are served. One more takes the place
//     of a connection whose peer has not proved itself (a handler's Vouch,
//     or a verified TLS client certificate), EvictIdle after its last byte
//     before its first frame (that one reads no more, sends the replies to
//     the frames it has in hand within WriteTimeout, drops later ones and
//     is closed); with none, it is
//     accepted and closed at once, with a
//     rate-limited log line. So clients that connect and say nothing, or
//     send what proves nothing, hold a place at the cap for seconds, not
//     minutes, and one peer's proof (replayed, say) holds at most
//     MaxProved places; a flood of new connections still takes most of
//     the places as they come free;
//   - a connection on which no frame starts for IdleTimeout is closed;
//   - a frame must arrive whole, from its first header byte to its last
//     byte, within FrameTimeout;
//   - the announced length is checked against MaxFrame before any buffer is
//     allocated; a longer frame closes the connection;
//   - at most MaxInFlight frames of one connection are handled at a time;
//     the reader waits for a free slot, so a fast sender is slowed, not
//     buffered; replies are written one at a time, each within
//     WriteTimeout;
//   - a connection's goroutines (one reader, one per frame in hand) all end
//     before the connection is closed and its slot is given back (an
//     unproved one closed for a newcomer gives its slot at once, and while
//     as many as MaxConns are closing no newcomer takes another's place):
//     nothing waits on a channel that nobody reads;
//   - Close stops accepting, stops reading, waits for the frames handed to
//     handlers to be answered, then closes every connection.
//
// Events a peer can provoke at will (refused connections, over-long
// frames, timeouts, failed handshakes) are logged through a Limiter, so a
// flood gives a few lines and a count rather than a line per event.
package frameserver
