// Package cloudsvc is tapsim's HCE cloud platform (seed chapter 3.3;
// R-M3, R-M7): the issuer's own service that registers a phone's HCE app,
// binds it to a card account once the issuer has verified the cardholder,
// and hands the phone emulated personalisation data and limited-use keys
// encrypted to that phone alone. It speaks HTTP/JSON over mutual TLS;
// everything the phone sends after its registration is a wire envelope
// signed with its device key, and everything the platform sends back
// that carries keys is an envelope sealed to the phone and signed by the
// platform (R-G1, R-G2).
//
// # The phones' API
//
// The messages are package wire's (HCE*), so that the phones' app
// (cards/hceapp) shares them:
//
//	POST /hce/register         HCERegisterRequest (JSON: the device's public keys and an
//	                           envelope of HCERegister signed with them) -> HCERegisterResult
//	POST /hce/register/verify  HCEVerifyRegistration (TypeHCEVerify) -> HCEBinding (JSON)
//	POST /hce/challenge        HCEChallengeRequest (TypeHCEChallenge) -> HCEChallenge (JSON)
//	POST /hce/download         HCEDownloadRequest (TypeHCEDownload) -> envelope of HCEBatch
//	POST /hce/replenish        HCEReplenishRequest (TypeHCEReplenish) -> envelope of HCEBatch
//
// Registration (R-S3d): the app generates its own P-256 key pairs and
// registers the phone's hardware device ID, its public keys and the card
// account's reference, with the security code of the card; the envelope
// signed by the keys it carries proves the app holds them. The issuer
// (CardholderVerifier, the issuer's ID&V) checks the card data and sends
// a one-time password to the cardholder's registered contact; only when
// the app returns the right OTP is the binding (device ID + device public
// keys + card account) stored. One card account may be bound to several
// phones, each its own binding (R-S5d); a phone bound to a card account
// of another cardholder is refused device_bound_to_other_cardholder.
//
// Download (R-S3e, R-S3f): the bound phone asks for a fresh challenge,
// signs it with its device key together with its device ID and the card
// reference, and the platform checks the signature against the binding's
// key and the device ID against the binding's before it sends anything.
// The batch holds the emulated data (the cloud account number, never the
// real card's number or keys) and the limited-use keys, each derived in
// the security module and wrapped there for the phone's encryption key
// (hsm.CloudDevice), the whole batch sealed to the phone and signed by
// the platform.
//
// Two cloud-payment models (emv/cloud): a visa-cloud card's phone gets
// limited-use keys named by their key index; an mc-cloud card's phone
// gets, per ATC, SK_MD and the SUK masked with the mobile PIN the
// cardholder set at registration (kept by the platform only sealed).
// Every key issued is recorded in the issuer's key ledger (KeyLedger,
// issuerhost/cloud.Ledger), which the issuer's authorisation reads.
//
// Replenishment: a bound, downloaded phone asks for more keys with a
// signed request carrying its transaction log (the keys it spent); a
// phone not bound is refused device_not_bound, a suspended one
// device_suspended, one asking again sooner than
// Config.MinReplenishInterval too_frequent. The log is reconciled with
// the issuer's record (KeyLedger.Served): one that names a key not issued
// to the phone, or reported in an earlier log, and one that leaves out a
// key the issuer saw serve a transaction (a copy of the card paid with a
// key the phone says it still holds) are refused transaction_log_mismatch.
// The phone keeps its log until a replenishment takes it.
//
// # The issuer's staff
//
// AddCard enrols a card account; its real card data is kept only
// encrypted under a data key of the security module (R-S5e). ReadCard is
// the staff read of it, allowed to Config.CardReaders only and written to
// the audit trail with the staff member's name and purpose, allowed or
// not. ReportLost suspends one phone's binding and every key issued to it
// at once (R-C1); other phones of the account keep working;
// ReportDeviceLost does so for every card account of one phone.
// ResetMobilePIN is the service centre's reset of a phone the issuer
// locked after five wrong mobile PINs in a row (R-G3c; the issuer's
// ledger, a PINLedger, counts them); until then the phone is refused
// mobile_pin_locked.
//
// # Lasting state
//
// With Config.Store the platform loads its state when it is made and
// writes every change through to the store as it makes it: card accounts
// (card data sealed under the data key), bindings (with the keys issued
// to them and their open or spent challenge), registrations waiting for
// their OTP, and the audit trail; lab.CloudStore keeps them in the
// issuer's database. Without it the state is in memory, and Snapshot and
// Restore carry it across a restart; neither holds anything sensitive in
// clear. The cache of accepted envelopes is Config.Replay's (the
// issuer's process keeps it in its database too).
//
// The platform's own P-256 keys (Config.Me) are held by the process: the
// soft security module holds no elliptic-curve keys (R-S5a is met for
// the card keys, which never leave the module but wrapped for one
// phone).
//
// MODEL: the paths, message types, bodies, the challenge signature's
// input and the refusal reasons are tapsim's; the schemes' cloud
// platform interfaces are licensed.
package cloudsvc
