// Package issuerhost is the issuer host of the payment network: an ISO
// 8583 server (the dialect of package isospec, over TCP or mutual TLS,
// served by isospec/frameserver with an idle timeout, a per-frame
// deadline, a frame size limit and a connection cap) in front of
//
//   - the authorisation engine (issuerhost/authz): one decision pipeline
//     with a machine-readable reason for every decline, from the format
//     check through card and token look-up, ARQC verification, replay and
//     single-use key checks, CVM policy and online PIN to limits and the
//     ARPC of the approval;
//   - the token service (issuerhost/vault): token to funding PAN and
//     expiry, token life cycle and domain restrictions;
//   - the issuer's side of its HCE cloud platform (issuerhost/cloud; the
//     platform itself is provision/cloudsvc): the ledger of the cloud
//     keys issued to each phone and the check of a tap's cloud
//     cryptograms against it, and the vault's lost-phone suspension;
//   - the issuer's side of provisioning (issuerhost/idv): the ID&V
//     decision of the token service's requests, with the card security
//     code checked in the security module, OTP step-up through a message
//     centre, the lock after 5 wrong entries and its reset, token
//     notifications and activation, as a Go API and an HTTP/JSON handler;
//   - the durable state (issuerhost/store), SQLite by default or one
//     PostgreSQL database shared by several issuer hosts, written before
//     any answer leaves.
//
// Keys live only in the security module (package hsm); the host knows
// them by label (Keys).
//
// Sample data comes in as a Seed (accounts, cards, tokens, phones, key
// references, PINs as PIN verification values) that Init loads once into
// a store and a security module.
//
// With Config.Rules (package isospec/rules), host response rules are
// consulted for authorisations whose MAC and format are good, before the
// engine: a rule's answer replaces the engine's decision and is MACed like
// any other unless the rule spoils the MAC; a rule may also hold the
// answer back, withhold it or close the connection. An authorisation
// advice (0120, 0121) of a stand-in approval given by the acquirer is
// acknowledged (0130) and logged.
package issuerhost
