// Package hceflow holds the end-to-end tests of the HCE flow (seed
// chapter 3.3; R-M3, R-M7): the issuer's HCE app on virtual phones
// (cards/hceapp), the issuer's cloud platform (provision/cloudsvc) on
// loopback over mutual TLS with sealed envelopes, the issuer's ID&V
// (issuerhost/idv) verifying the cardholder by OTP through the message
// centre, and the issuer's check of the cloud cryptograms
// (issuerhost/cloud.Verifier) against the key ledger the platform writes.
package hceflow
