// Package tsm is the pair of trusted service managers that personalise a
// payment applet into a phone's secure element over the air (seed 3.2,
// R-M6).
//
// The issuer prepares a download Script: the SCP03 sessions to open (the
// Security Domain, its key version and only the channel keys S-ENC and
// S-MAC: never K-DEK) and the clear GlobalPlatform commands to send in
// each (on a shared SE also the issuer's key set to rotate to, which only
// the SP TSM opens). Key material and sensitive DGIs are enciphered by the issuer under
// the Security Domain's K-DEK before the script leaves it, so no TSM sees
// a clear card key (R-S3b). The script is sealed to the SP TSM inside the
// Order (R-G1, R-G2).
//
// Key custody (R-M2, R-G5d): the SP TSM is the issuer's agent and the only
// TSM that holds the issuer's keys. It keeps the script sealed under a key
// of its security module (hsm.Data, R-S4a, R-S4f) until the download
// starts, then computes the SCP03 sessions itself, with C-MAC,
// C-DECRYPTION and R-MAC, deciding on authenticated responses only (it
// reads the CPLC again inside the first session). The SE TSM never sees
// the script: it confirms to the SP TSM that the SE is the one the
// cardholder designated (R-S3a), passes the cardholder's one-time code to
// the SP TSM, whose issuer's ID&V checks it (R-S3c: orders carry nothing
// of the code, and an SP TSM without a CardholderVerifier refuses them
// issuer_idv_required), reads the SE's CPLC and then relays the SP TSM's secured
// commands through the phone's OTA agent, one step of POST /relay each
// way. On an SE shared with an SE operator (R-M2) the SE TSM first runs
// the operator's own ISD session, creates the issuer's SSD with a fresh
// initial key set and hands that set, sealed, to the SP TSM, which
// replaces it with the issuer's set by PUT KEY before it installs and
// personalises the applet: the keys the operator knows open nothing
// afterwards, and no state of the SE TSM holds a key of the SSD. With an
// SE authority configured (SPConfig.SEAuthority) the SP TSM reads the
// SE's certified key-agreement key and sends the new set under a key
// agreed with it (gp.PutKeyAgreedCmd, a model of GlobalPlatform's
// confidential key setup): an SE TSM that kept its initial set and
// recorded the session still cannot read it. Without one the new set
// travels under the initial K-DEK, which such an SE TSM could unwrap. A relay step or OTA step sent again or out of turn is
// refused (ota_replay), one of a session that is over too
// (ota_session_closed), and a silent session ends after SessionTTL.
//
// When the download ends, fails or expires the script is erased: neither
// TSM keeps personalisation data (R-G5g). The SP TSM remembers which SE and
// device each order went to and asks the SE TSM how it ended: a
// personalised SE takes no second set (R-S4e), a failed order frees it.
//
// The SE TSM answers on two listeners: the back office, reached by the SP
// TSM over mutual TLS, and the OTA listener the phones reach (R-S4b).
// Every personalisation leaves a transaction-log entry per step and an
// audit record (R-S4d), none carrying card data. Operator accounts
// (Accounts) hash passwords with PBKDF2, limit wrong passwords, force the
// change of a default password and allow logins only in set hours
// (R-S4c).
package tsm
