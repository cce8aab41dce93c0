// Package tlstest is a kit for tests of tapsim's mutually authenticated TLS
// links, in the manner of net/http/httptest: it is meant for _test.go files
// only, and every helper fails the calling test instead of returning an
// error.
//
// NewPKI makes a network CA and a rogue CA, each issuing a certificate for
// every name it is given (hosts localhost and 127.0.0.1, valid for an hour
// from now); its methods hand out identities, pools and ready *tls.Config
// values for a server or a client of either CA. Serve is a TLS listener
// that passes each authenticated connection to a handler; Front, built on
// it, is the TLS face of a plain host, relaying bytes to it. Dial opens an
// ISO 8583 connection over TLS (or plain TCP), the way a terminal or an
// acquirer does. LogBuffer is a log sink safe for concurrent writers.
package tlstest
