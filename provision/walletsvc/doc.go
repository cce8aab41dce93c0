// Package walletsvc is tapsim's wallet provider (the digital payment
// service provider of seed chapter 3.4, the token requestor; R-M5): an
// HTTP service for its phones' wallet apps and a client of the token
// service over mutual TLS.
//
// # The phones' API (JSON over mutual TLS)
//
// Between a phone and its wallet provider the bodies are plain JSON
// (application/json) over mutual TLS; everything sensitive inside them
// is already an end-to-end envelope the wallet provider cannot open: the
// card data (sealed by the phone to the token service), the OTP (a
// SubmitOTP sealed by the phone to the token service, R-S2a), the token
// data (sealed by the token service to the phone) and the phone's signed
// acknowledgement. The wallet provider forwards those untouched.
//
//	POST /wallet/cards          AddCardRequest -> AddCardResponse
//	POST /wallet/otp/request    OTPRequest -> OTPRequestResult
//	POST /wallet/otp/submit     OTPSubmit -> OTPSubmitResult
//	POST /wallet/ack            AckRequest -> AckResult
//	POST /wallet/lifecycle      LifecycleRequest -> LifecycleResult
//	POST /wallet/tokens         TokensRequest -> TokensResult
//
// The token service's notifications arrive as envelopes:
//
//	POST /tsp/notify            Notification -> NotificationAck (application/jose)
//
// # What it keeps (R-G5g)
//
// Per wallet account: the device ID, and per token its reference (TUR),
// state, suspending actors and the last 4 digits of the token and of the
// account: never a PAN, an expiry, a code or a key (MemoryStore.Dump shows
// all of it).
//
// MODEL: the paths, the JSON bodies, the risk scoring (a fixed
// recommendation) and the use of the phone's requestId as the taskId
// (a retried request is the same task) are tapsim's.
package walletsvc
