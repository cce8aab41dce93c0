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
// still-sealed script on. The SE TSM (SETSM) keeps the sealed script until
// the phone's OTA agent connects, verifies the cardholder's one-time code
// (R-S3c), then drives the SCP03 sessions through the agent: each step of
// the OTA session is a POST carrying the previous response and the step
// number, answered with the next command (a relay; a step replayed or out
// of turn ends the session). When the download ends the sealed script is
// erased: neither TSM keeps personalisation data (R-G5g).
//
// The SE TSM answers on two listeners: the back office, reached by the SP
// TSM over mutual TLS, and the OTA listener the phones reach (R-S4b).
// Every personalisation leaves a transaction-log entry per step and an
// audit record (R-S4d), none carrying card data. Operator accounts
// (Accounts) hash passwords with PBKDF2, limit wrong passwords, force the
// change of a default password and allow logins only in set hours
// (R-S4c).
package tsm
