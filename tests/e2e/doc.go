// Package e2e holds the end-to-end tests of the payment network: the issuer
// host and the acquirer run as real tapsim processes on loopback, the
// terminal (terminal/pos with virtual cards) talks to them over TCP, and the
// tests assert the answer (DE39 and the machine-readable decline reason) and
// the hosts' durable state. The package has no code outside its tests.
package e2e
