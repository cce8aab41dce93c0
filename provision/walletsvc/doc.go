// Package walletsvc is tapsim's wallet provider (the digital payment
// service provider of seed chapter 3.4, the token requestor; R-M5): an
// HTTP service for its phones' wallet apps and a client of the token
// service over mutual TLS.
//
// # The phones' API (over mutual TLS)
//
// A network certificate says only that the client is a phone. The
// add-card request is plain JSON (application/json) and carries the
// device's public keys: on the wallet account's first add-card they are
// bound to the account and the device ID (trust on first use); a later
// add-card for the account from another device ID is refused
// device_mismatch, from other keys (or with keys bound to another
// account) device_key_mismatch.
//
// Every later request is its JSON message in a wire envelope
// (application/jose) sealed to the wallet provider and signed with the
// bound device's signing key, of the Type* of its path, with expiry and
// nonce (R-G2, R-G4). The wallet provider decides on the signer's
// account, never on the account named in the body alone: unsigned or
// signed by an unbound key is unauthenticated (401), naming another
// account than the signer's wrong_device (403), a replayed envelope
// replay (409), an expired one expired (403), a token of another account
// not_owner (403); each refusal is an audit line with references only.
//
// Everything sensitive inside the messages is already an end-to-end
// envelope the wallet provider cannot open: the card data (sealed by the
// phone to the token service), the OTP (a SubmitOTP sealed by the phone
// to the token service, R-S2a), the card's PIN for an activation
// afterwards (an ActivatePasscode sealed by the phone to the token service,
// R-S2a, R-G1), the token data (sealed by the token
// service to the phone) and the phone's signed acknowledgement. The
// wallet provider forwards those untouched. Answers are JSON.
//
//	POST /wallet/cards          AddCardRequest -> AddCardResponse (JSON)
//	POST /wallet/otp/request    OTPRequest -> OTPRequestResult (TypeRequestOTP)
//	POST /wallet/otp/submit     OTPSubmit -> OTPSubmitResult (TypeSubmitOTP)
//	POST /wallet/activate       ActivateRequest -> ActivateResult (TypeActivate)
//	POST /wallet/ack            AckRequest -> AckResult (TypeAck)
//	POST /wallet/lifecycle      LifecycleRequest -> LifecycleResult (TypeLifecycle)
//	POST /wallet/tokens         TokensRequest -> TokensResult (TypeTokens)
//
// The token service's notifications arrive as envelopes:
//
//	POST /tsp/notify            Notification -> NotificationAck (application/jose)
//
// # What it keeps (R-G5g)
//
// Per wallet account: the device ID and the device's public keys, and per token its reference (TUR),
// state, suspending actors and the last 4 digits of the token and of the
// account: never a PAN, an expiry, a code or a key (MemoryStore.Dump shows
// all of it).
//
// The add-card request's deviceCvm (the phone's verification of the
// cardholder, R-G3f) is forwarded in the risk data; the token service
// counts it only when the phone's signed card data says the same.
//
// MODEL: the paths, the JSON bodies, the risk scoring (a fixed
// recommendation) and the use of the phone's requestId as the taskId
// (a retried request is the same task) are tapsim's.
package walletsvc
