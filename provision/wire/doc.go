// Package wire is the shared vocabulary of tapsim's provisioning services
// (wallet provider, token service, the issuer's provisioning API, later the
// HCE cloud platform and the TSMs) and of the phones' apps that talk to
// them: keys and trust lists, the end-to-end JOSE envelope, the message
// types of the wallet flow (seed chapter 3.4; R-M4, R-M5) and the HTTP
// conventions every service follows.
//
// # Transport and envelope
//
// Each institution is its own network service speaking HTTP over mutual
// TLS (configurations from isospec/tlsconf). TLS ends at every hop, so
// every message that carries card data, keys or codes is also sealed end
// to end (R-G1 whole-message confidentiality, R-G2 integrity):
//
//	JWE compact (RFC 7516)   alg ECDH-ES+A256KW (P-256 ephemeral-static), enc A256GCM,
//	                         kid = recipient's encryption key, cty "JWT", epk
//	  └ JWS compact (RFC 7515)  alg ES256, kid = sender's signing key, typ "JWT"
//	      └ claims           iss sender, aud recipient, iat, exp (2 min by default,
//	                         10 min at most), jti (16 random bytes), typ message type,
//	                         msg the message (JSON)
//
// Seal signs then encrypts. Open bounds the input, accepts only those
// algorithms and header members (no "none", HMAC, RSA, zip, crit, jwk, jku,
// x5u or x5c: keys come only from the receiver's Directory), decrypts with
// its own key, verifies with the sender's trusted key named by kid, and
// checks iss against that key's owner, aud, typ, iat/exp against an
// injected clock with a skew, and the jti against a ReplayCache (R-G4). Each
// refusal is a sentinel error (ErrMalformed, ErrDecrypt, ErrReplay, ...)
// that RefusalFor turns into an HTTP answer. A kid is the RFC 7638 JWK
// thumbprint (SHA-256, base64url) of the key.
//
// A Party's private keys are in memory (NewParty, ParsePartyPEM) or held in
// a security module (NewHSMParty, HSMParty: hsm.ECKeys; R-G5a, R-S4a,
// R-S5a). A module signs through a go-jose OpaqueSigner and opens
// envelopes through an OpaqueKeyDecrypter that asks the module for the
// ECDH shared secret and derives the key-encryption key with ConcatKDF.
//
// # HTTP
//
// NewServer sets every timeout and size limit of an http.Server and
// insists on mutual TLS; Handle makes each endpoint POST-only, bounded,
// typed (Content-Type application/jose for envelopes, application/json
// where an endpoint documents it) and answering errors with a Refusal body
// {code, reason, message}. Client posts over mutual TLS with timeouts and
// returns a peer's Refusal as an error that errors.Is recognises.
//
// # Public fact and tapsim's model
//
// FACT (public sources, see docs/provisioning.md): the roles (token
// requestor, token service, issuer), the MDES Digital Enablement field
// names and values used here (taskId, tokenRequestorId of 11 digits,
// fundingAccountInfo, decisioningData with scores 1 to 5, decision
// APPROVED / DECLINED / REQUIRE_ADDITIONAL_AUTHENTICATION,
// authenticationMethods and their types, tokenUniqueReference,
// panUniqueReference, tokenInfo with MMYY tokenExpiry, OTP results), the
// token states and the ten-token limit of life-cycle calls, and that the
// schemes carry card data in JWE compact envelopes with a kid and an iat.
//
// MODEL (tapsim's convention, not the schemes' licensed specifications):
// the envelope's exact profile (ECDH-ES+A256KW/A256GCM nested with ES256,
// the claim set, lifetimes and skew), the message type names, the device
// binding (deviceId and devicePublicKeys), the content of TokenData
// delivered to the phone (token PAN, expiry, PSN, CVN name, ICC master key
// wrapped for the phone by the issuer's security module and its KCV,
// domain controls), the notification event names, the Refusal body and its
// reasons, and the HTTP limits.
package wire
