package wire

import "errors"

// Sentinel errors. Every error Open returns wraps exactly one refusal
// sentinel, so that a service can branch with errors.Is and answer with
// the matching Refusal (see RefusalFor). No error of this package carries
// key material, card data or the envelope's contents.
var (
	// ErrTooLarge reports an envelope or a body longer than the limit; it
	// is checked before anything is parsed.
	ErrTooLarge = errors.New("wire: too large")
	// ErrMalformed reports an envelope or message that does not parse:
	// not five or three base64url parts, bad JSON, unexpected headers or
	// claims.
	ErrMalformed = errors.New("wire: malformed")
	// ErrAlgorithm reports a JOSE header naming an algorithm other than
	// the ones this package uses (ECDH-ES+A256KW with A256GCM, ES256):
	// "none", HMAC, RSA and the like are all refused.
	ErrAlgorithm = errors.New("wire: algorithm not accepted")
	// ErrUnknownKey reports a signature whose kid is not in the trust
	// list.
	ErrUnknownKey = errors.New("wire: unknown key")
	// ErrDecrypt reports an envelope that is not encrypted to the
	// receiver's key or whose ciphertext does not authenticate.
	ErrDecrypt = errors.New("wire: cannot decrypt")
	// ErrSignature reports a signature that does not verify with the
	// trusted key named by its kid.
	ErrSignature = errors.New("wire: bad signature")
	// ErrIssuer reports a signed iss that is not the name of the party
	// owning the signing key, or not the sender the receiver expects.
	ErrIssuer = errors.New("wire: wrong issuer")
	// ErrAudience reports an envelope addressed to another party.
	ErrAudience = errors.New("wire: wrong audience")
	// ErrType reports a message of another type than the one expected.
	ErrType = errors.New("wire: wrong message type")
	// ErrExpired reports an envelope outside its validity window: expired,
	// issued in the future, or valid for longer than MaxLifetime.
	ErrExpired = errors.New("wire: expired")
	// ErrReplay reports an envelope whose jti was already accepted (R-G4).
	ErrReplay = errors.New("wire: replayed")
	// ErrCapacity reports a replay cache full of live entries: the
	// envelope is refused rather than risk forgetting one (fail closed).
	ErrCapacity = errors.New("wire: replay cache full")
	// ErrUnavailable reports a security module holding the receiver's keys
	// that did not answer (closed, or its host down): the envelope was not
	// judged, and may be sent again.
	ErrUnavailable = errors.New("wire: security module unavailable")

	// ErrInvalid reports a message whose fields break the rules of its
	// type (Validate methods).
	ErrInvalid = errors.New("wire: invalid message")
	// ErrKey reports a key that cannot be used: not P-256, not on the
	// curve, a kid that does not match, a name clash in a trust list.
	ErrKey = errors.New("wire: bad key")
	// ErrConfig reports a caller's mistake: a missing party, replay cache
	// or TLS configuration.
	ErrConfig = errors.New("wire: configuration")
	// ErrRefused is wrapped by every *Refusal a Client returns: the peer
	// answered with an HTTP error.
	ErrRefused = errors.New("wire: refused by peer")
	// ErrTransport reports a request that got no HTTP answer: handshake
	// refused, connection cut, timeout.
	ErrTransport = errors.New("wire: transport")
)
