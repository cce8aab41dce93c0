// Package acquirer is the acquirer host of tapsim's payment network: a
// terminal-facing ISO 8583 server (isospec dialect over TCP) that checks and
// forwards the terminals' messages to issuer hosts.
//
// For each authorisation (0100, or 0200) it:
//
//  1. reads the frame (isospec/frameserver: idle timeout, per-frame
//     deadline, size limit before allocation, connection cap); a frame that
//     does not parse is answered with DE39 30 echoing what can be read of
//     DE7, DE11 and DE41 when its MTI has a response type, otherwise the
//     connection is closed cleanly;
//  2. verifies the MAC (DE64/DE128) under the terminal's TAK inside the
//     security module: a missing or wrong MAC is answered 63 (R-G2);
//  3. checks the format for the message type (isospec.Validate): 30;
//  4. refuses a duplicate, the same TID, STAN and transmission date and time
//     (DE7) seen within the duplicate window: 94 (R-G4);
//  5. routes by BIN range (route.Table, token BIN ranges included); no route
//     is 14;
//  6. journals the message (masked PAN, amounts, codes, TID/STAN/RRN) before
//     anything leaves;
//  7. translates the PIN block (DE52) from the terminal's DUKPT key (KSN in
//     DE53) to the zone PIN key of the issuer, inside the security module;
//  8. re-stamps STAN, DE7 and RRN for the issuer link, sets DE32, MACs the
//     message under the zone MAC key (ZAK) and sends it on the issuer's
//     persistent link (package link); an issuer that runs as several
//     processes sharing one database (Issuer.Endpoints) has a link to each,
//     and the message goes to the one signed on with the fewest requests
//     in hand (link.Pool);
//  9. answers the terminal with the issuer's outcome under the terminal's
//     own STAN, DE7 and RRN, MACed under its TAK.
//
// An issuer that is down (every endpoint) gets the terminal a 91 and
// nothing is sent; a message that did not leave for one endpoint is
// offered to the next, one that left is never sent to another. An
// issuer silent past IssuerTimeout (or answering with a bad MAC) gets the
// terminal a 91 and a reversal advice (0420, repeated as 0421) queued in
// the store in the same transaction as the journal's outcome, before the
// 91 leaves; the queue is retried until the issuer acknowledges it (0430),
// across restarts. A terminal's reversal (0400) is forwarded with DE90
// translated to the issuer link's numbers, or stored as an advice when the
// issuer cannot take it.
//
// With Config.Rules (package isospec/rules), host response rules are
// consulted after steps 2 and 3: a rule may answer in the issuer's stead
// (any DE39 with its reason, a referral, a partial approval with DE54, a
// balance), hold the answer back, withhold it, close the connection or
// spoil the answer's MAC; such requests are journalled with the reason
// "rule:NAME" and are not forwarded. A stand_in rule forwards as usual
// but, when the issuer is down or gives no valid answer, approves up to
// its limit in the issuer's stead (00, an "S" authorisation code, the
// stand-in marker in DE48) and queues an authorisation advice (0120,
// repeated as 0121) beside any reversal advice, sent when the link is up.
//
// The acquirer keeps no sensitive data (R-G5g): its journal and advice
// queue hold the masked PAN and the 6-digit BIN, never the full PAN, track
// 2, PIN blocks or ICC data; keys exist only inside the security module.
package acquirer
