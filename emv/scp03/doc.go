// Package scp03 implements the cryptography of GlobalPlatform Secure
// Channel Protocol '03' (GP Card Specification v2.3 Amendment D): the
// NIST SP 800-108 counter-mode KDF with AES-CMAC, session keys S-ENC, S-MAC
// and S-RMAC, card and host authentication cryptograms, pseudo-random card
// challenges, and the protection of APDUs at every security level (C-MAC
// with MAC chaining, C-DECRYPTION, R-MAC, R-ENCRYPTION) in S8 and S16 mode.
//
// The same package serves both ends of the channel used for OTA
// personalisation of SE phones (R-M1, R-M6, R-S3b): the TSM (host) builds
// INITIALIZE UPDATE, checks the card cryptogram with HostAuthenticate and
// wraps commands with a host Channel; the virtual SE (card) answers with
// Card.InitializeUpdate and Card.ExternalAuthenticate and unwraps commands
// with a card Channel. MAC chaining and the encryption counter make every
// protected command usable once (R-G4).
//
// Keys print as key check values only; errors never carry key material,
// challenges, cryptograms or command data. Randomness is injected (Card.Rand)
// so that tests are deterministic.
package scp03
