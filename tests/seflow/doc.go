// Package seflow tests the over-the-air personalisation of a payment
// applet into a phone's secure element end to end: the issuer, the SP TSM
// and the SE TSM as services on loopback over mutual TLS, the phone's OTA
// agent relaying the SE TSM's SCP03 commands to the SE, then a tap through
// the terminal's kernel.
package seflow
