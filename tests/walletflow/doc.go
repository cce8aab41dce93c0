// Package walletflow holds the end-to-end tests of the wallet flow (seed
// chapter 3.4, R-M5): the phone's wallet app (cards/walletapp), the
// wallet provider (provision/walletsvc) and the token service
// (provision/tokensvc) as three services on loopback, talking HTTP over
// mutual TLS with sealed envelopes, and an in-memory issuer.
package walletflow
