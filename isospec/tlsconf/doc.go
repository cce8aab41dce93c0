// Package tlsconf is the transport security of tapsim's ISO 8583 links
// (terminal to acquirer, acquirer to issuer host): mutually authenticated
// TLS, off unless configured.
//
// Server builds the *tls.Config of a listener: its own certificate chain,
// the pool of CAs its clients' certificates must chain to, and client
// certificates required and verified. Client builds the *tls.Config of a
// dialer: the pool of CAs the server's certificate must chain to, its own
// certificate, and the name the server's certificate must carry (when empty,
// the host of the dialled address). Both require TLS 1.2 at least and
// prefer TLS 1.3; nothing skips verification.
//
// LoadKeyPair and LoadPool read PEM files with errors that name the file and
// what is wrong with it, never the key's contents. Accept performs a
// listener's handshake on an accepted connection with a deadline.
//
// NewCA and (*Authority).Issue make a small test PKI (ECDSA P-256, SHA-256,
// short validity) for trying the links out and for tests; WriteFiles stores
// it as PEM, private keys readable by their owner only.
package tlsconf
