// Package tsm is the pair of trusted service managers that personalise a
// payment applet into a phone's secure element over the air (seed 3.2,
// R-M6).
//
// The issuer prepares a download Script: the SCP03 sessions to open (the
// Security Domain, its key version and only the channel keys S-ENC and
// S-MAC: never K-DEK) and the clear GlobalPlatform commands to send in
// each. Key material and sensitive DGIs are enciphered by the issuer under
// the Security Domain's K-DEK before the script leaves it, so no TSM sees
// a clear key (R-S3b). The script is sealed to the SE TSM; the Order that
// carries it is sealed to the SP TSM (R-G1, R-G2).
//
// The SP TSM (SPTSM) checks the order (issuer's consent on a shared SE,
// R-S1; one personalisation set per SE and SSD, R-S4e), asks the SE TSM
// whether the SE is the one the cardholder designated (R-S3a) and hands the
// still-sealed script on. The SE TSM (SETSM) keeps the sealed script,
// enciphered under a key of its security module (hsm.Data, R-S4a, R-S4f),
// until the phone's OTA agent connects; it verifies the cardholder's
// one-time code (R-S3c), reads the SE's CPLC and checks its SEID, then
// drives the SCP03 sessions through the agent with C-MAC, C-DECRYPTION and
// R-MAC, so that it decides on authenticated responses only (it reads the
// CPLC again inside the first session). Each step of the OTA session is a
// POST carrying the step number and the SE's response to that step's
// command, answered with the next command: a step sent again or out of
// turn is refused (ota_replay), one of a session that is over too
// (ota_session_closed), and a silent session ends after SEConfig.SessionTTL.
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
