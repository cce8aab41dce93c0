// Package hceapp is the issuer's HCE app on a virtual phone (seed
// chapter 3.3; R-M7): it generates the phone's own P-256 device keys,
// registers the phone with the issuer's cloud platform
// (provision/cloudsvc) and binds it once the cardholder has typed the
// one-time password the issuer sent (R-S3d), downloads the emulated card
// and its first limited-use keys after answering a fresh challenge with
// its device key (R-S3e, R-S3f), replenishes them, and pays with them:
// Card computes the visa-cloud cryptogram (emv/cloud) of a tap with one
// limited-use key, used once and forgotten (R-S5b).
//
// Every request after the registration is a wire envelope signed with the
// device key; every batch is opened only if it is sealed to this phone
// and signed by the platform the app trusts, and each key is unwrapped
// with the phone's own encryption key and checked against its KCV, so a
// batch altered in transit or meant for another phone is refused.
//
// The app keeps its keys in memory only (a real app would keep them in
// the platform keystore) and never prints them.
package hceapp
