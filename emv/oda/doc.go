// Package oda implements EMV offline data authentication with RSA (EMV Book 2
// sections 5 and 6, and the CDA/fDDA usage of the contactless kernels C-2 and
// C-3), on both sides of the card-terminal interface:
//
//   - creation, for virtual cards and the test certification authority: a CA
//     signs Issuer Public Key Certificates (tag 90, format 02), an issuer
//     signs ICC Public Key Certificates (tag 9F46, format 04) and Signed
//     Static Application Data (tag 93, format 03), a card signs Signed Dynamic
//     Application Data (tag 9F4B, format 05) for DDA, fDDA and CDA;
//   - recovery and verification, for the kernel: every check Book 2 lists for
//     each object, each failure reported with a typed error (ErrHeader,
//     ErrHash, ErrExpired, ...) wrapped in an *Error naming the object.
//
// EMV "signing" is raw RSA with message recovery: the signer applies its
// private key to the formatted block, the verifier recovers the block with
// m = s^e mod n and checks its header '6A', trailer 'BC', format and SHA-1
// hash (hash algorithm indicator '01'). Public keys use exponent 3 or 65537
// (Book 2 Annex B2.1).
//
// Key lengths: CA keys are created only with a length EMVCo has used for CA
// keys, at least 1024 bits (R-G1); issuer and ICC keys are at least 1024 bits,
// a whole number of bytes, and no longer than the key that certifies them.
// Verification accepts any length the certificate formats allow, so that
// terminals can still check cards certified under older, shorter keys.
//
// The test certification authority uses TestRID, an identifier outside the
// registered payment-system RIDs, so its keys can never be mistaken for a
// real scheme's keys.
//
// Private-key operations use math/big with the CRT and check each result
// with the public key; they are not constant-time, which suits the test and
// virtual-card keys of an emulator (real issuer keys belong in an HSM).
//
// Private keys never print: CA, Issuer and ICC show only public facts in
// String, fmt verbs and slog. Errors never carry a PAN or key material.
package oda
