// Package tokensvc is tapsim's token service (TSP) for the wallet flow
// (seed chapter 3.4; R-M4, R-M5): an http.Handler, built on wire.Handle,
// that a wallet provider (the token requestor) and the issuer call over
// mutual TLS with sealed envelopes (R-G1, R-G2).
//
// # Endpoints
//
//	POST /tokenize          wallet provider: TokenizeRequest -> TokenizeResponse
//	POST /otp/request       wallet provider: RequestOTP -> RequestOTPResult
//	POST /otp/submit        phone (relayed by its wallet provider): SubmitOTP -> SubmitOTPResult
//	POST /activate          phone (relayed by its wallet provider): ActivatePasscode -> ActivateResult
//	POST /tokendata/ack     phone (relayed by its wallet provider): TokenDataAck -> Notification
//	POST /lifecycle         wallet provider: LifecycleRequest -> LifecycleResponse
//	POST /issuer/lifecycle  issuer: LifecycleRequest -> LifecycleResponse
//
// Every body is an envelope (application/jose). The envelopes of
// /otp/submit, /activate and /tokendata/ack are sealed by the phone's app
// to the token service and signed with the device key given in the
// tokenize request: the wallet provider forwards them without being able
// to read the OTP (R-S2a, R-G3e) or the PIN block of an activation
// afterwards (R-S2a, R-G1; the issuer verifies it, PasscodeIssuer), or
// forge the acknowledgement (R-G1). The phone's claim that it verified
// the cardholder (R-G3f) reaches the issuer only when its signed card
// data and the wallet provider's risk data both make it. Answers are
// sealed to the wallet provider (or the issuer) that called.
//
// # The flow (R-M5)
//
// The wallet provider posts a TokenizeRequest whose fundingAccountInfo the
// phone sealed to the token service. The service checks the envelope
// (wire.Open: trusted signer, audience, type, time, replay), that the
// token requestor ID is known and belongs to the signer, and that the
// taskId is new: a repeat of the same task gets the same answer and makes
// no second token; a taskId reused for another request is refused
// (task_id_reused). It opens the card data and asks the Issuer for ID&V:
//
//   - APPROVED (green): the Vault makes the token ACTIVE and the answer
//     carries its TokenData, sealed to the device's encryption key from the
//     request and signed by the token service;
//   - REQUIRE_ADDITIONAL_AUTHENTICATION (yellow): the token exists
//     INACTIVE (docs/provisioning.md, pitfall 1) and the answer lists the
//     issuer's methods; RequestOTP and SubmitOTP are relayed to the Issuer,
//     and on SUCCESS the token turns ACTIVE and its TokenData comes back;
//   - DECLINED (red): no token; the answer carries the issuer's reason
//     (e.g. CARD_LOST).
//
// The phone checks the TokenData, installs it and signs a TokenDataAck;
// only an acknowledgement signed by the device key of the request and
// naming its device ID completes the download (otherwise wrong_device),
// and the service then notifies the Issuer (downloadComplete: the last
// step of R-M5).
//
// Life cycle: INACTIVE -> ACTIVE <-> SUSPENDED, any -> DEACTIVATED;
// suspensions stack per actor and a resume clears only the caller's own
// (Transition). A request naming a device ID acts on every token bound to
// it: a lost-phone report suspends them all at once (R-C1). Changes asked
// by the wallet provider are notified to the Issuer; changes asked by the
// issuer are notified to the wallet provider (Requestor.NotifyURL).
//
// # State
//
// The token's state is the Vault's only. What the service keeps besides
// (each token's Record: requestor, device keys, step-up methods,
// delivery; the answers to tasks, by requestor or party and taskId) is in
// its Store: a MemoryStore by default, which ends with the process; the
// token service the issuer operates keeps it in the issuer's database, so
// that after a restart the wallet's requests for tokens made before work:
// the step-up that was waiting (the OTP is the issuer's, and the device
// is found by its signing key), the acknowledgement, the life cycle and
// repeated tasks. Notification correlation IDs carry random bytes, so a
// restarted service does not repeat those its receivers deduplicate on.
//
// # Refusals and audit
//
// Every refusal is a wire.Refusal with a machine-readable reason: the
// envelope reasons of package wire (replayed, decrypt_failed,
// unknown_key, ...) and this package's (unknown_requestor,
// task_id_reused, wrong_device, unknown_token, token_state, otp_used,
// otp_locked, ...). Each request gives one audit line (slog) with the
// operation, outcome, reason, the TUR and at most a masked PAN: never a
// PAN, security code, OTP, key or envelope.
//
// MODEL: the endpoint paths, the reasons, the choice of who signs what
// and the notification rules are tapsim's; the decisions, states, fields
// and step-up vocabulary follow MDES and VTS (FACT, docs/provisioning.md).
package tokensvc
