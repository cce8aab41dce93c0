// Package isospec is the ISO 8583 dialect spoken on both links of tapsim's
// payment network: terminal to acquirer and acquirer to issuer host. It is
// built on github.com/moov-io/iso8583 and plugs into
// github.com/moov-io/iso8583-connection.
//
// # Wire format
//
// The dialect follows ISO 8583:1987 with character data in ASCII:
//
//   - a 2-byte binary, big-endian length header before every message, the
//     length of the message that follows, header excluded
//     (ReadMessageLength, WriteMessageLength);
//   - the message type indicator as 4 ASCII digits;
//   - the bitmaps in binary, 8 bytes each: the primary bitmap, then the
//     secondary bitmap when any field 65 to 128 is present (bit 1 set);
//     there is no tertiary bitmap, so bit 65 must stay clear;
//   - numeric (n), alphanumeric (an), printable (ans) and track 2 (z)
//     fields in ASCII, one byte a character; variable-length fields carry an
//     ASCII length prefix of 2 (LLVAR) or 3 (LLLVAR) digits;
//   - binary (b) fields as raw bytes; a variable-length binary field's ASCII
//     prefix counts bytes.
//
// The fields (Fields lists them with their bounds):
//
//	DE2   PAN                          n..19 LLVAR (8 to 19 digits)
//	DE3   processing code              n6    (see ProcessingCode)
//	DE4   amount, transaction          n12   minor units, zero-filled
//	DE7   transmission date and time   n10   MMDDhhmmss, UTC
//	DE11  STAN                         n6
//	DE12  local time, DE13 local date  n6 hhmmss, n4 MMDD
//	DE14  expiry date                  n4    YYMM
//	DE18  merchant category code       n4
//	DE22  POS entry mode               n3    07x contactless chip (see POSEntryMode)
//	DE23  card sequence number         n3
//	DE25  POS condition code           n2
//	DE32  acquiring institution ID     n..11 LLVAR
//	DE33  forwarding institution ID    n..11 LLVAR
//	DE35  track 2 data                 z..37 LLVAR, '=' separator
//	DE37  retrieval reference number   an12
//	DE38  authorisation code           an6
//	DE39  response code                an2   (see ResponseCode)
//	DE41  terminal ID                  ans8  space-filled
//	DE42  merchant ID                  ans15 space-filled
//	DE43  name/location                ans40 (see CardAcceptorLocation)
//	DE48  private data                 ans..999 LLLVAR (see PrivateData)
//	DE49  currency code                n3
//	DE52  PIN block                    b8
//	DE53  security control info        b..48 LLVAR: the DUKPT key serial number
//	DE54  additional amounts           an..120 LLLVAR, 20 a balance (see AdditionalAmount)
//	DE55  ICC data                     b..255 LLLVAR, BER-TLV
//	DE64  MAC                          b8    when there is no secondary bitmap
//	DE70  network management code      n3    (see NetworkCode)
//	DE90  original data elements       n42   (see OriginalData)
//	DE128 MAC                          b8    when there is a secondary bitmap
//
// # Messages
//
// 0100/0110 authorisation, 0200/0210 financial, 0120/0121/0130
// authorisation advice (a stand-in approval the acquirer reports), 0400/0410
// reversal, 0420/0421/0430 reversal advice and its repeat, 0800/0810 network management
// (DE70: 001 sign-on, 002 sign-off, 161 key change, 301 echo). Each has a
// typed struct with iso8583 tags (AuthorizationRequest, ReversalRequest,
// NetworkManagement...) for Encode and Decode.
//
// # Parsing
//
// Unpack checks the frame itself before handing it to the library: every
// length prefix, every field's character set, the bitmaps, and that nothing
// trails the last field. It never reads past its input and never panics;
// a malformed frame gives a *FieldError naming the field and one of the
// sentinel reasons. Validate adds the checks that depend on the message type
// (mandatory fields, dates, DE55 BER-TLV, DE90, the MAC field's place).
//
// # Cost
//
// Every authorisation packs and unpacks four messages, so the codec keeps
// its work per message small while the library stays the codec of record:
// Spec's fields carry encoders and a packer of their own that give the
// library's bytes with one allocation per packed field and no copy of the
// rest of the frame per unpacked one; the typed messages go in and out of
// a message field by field rather than through reflection on their tags;
// Pack checks the fields in place and packs once; Validate reads the
// fields in place and allocates nothing. Fuzz targets hold each of these
// to the library's own codecs and to the first Validate.
//
// # MAC
//
// The MAC is the last field: DE64 when the message has no secondary bitmap,
// DE128 when it has one. It is computed over the packed message, length
// header excluded, from the MTI up to but not including the MAC field's 8
// bytes, with the MAC field's bitmap bit already set (SetMAC, VerifyMAC).
// The key stays with the caller.
//
// The algorithm on both links is ISO/IEC 9797-1 MAC algorithm 3 (the
// retail MAC: single-DES CBC under the key's left half, the last block
// deciphered under the right half and enciphered under the left again)
// with padding method 1 (zero bytes up to a multiple of 8; none when the
// data already is one), the whole 8-byte result in the field. The key is
// a double-length TDES key: the terminal's MAC key (TAK) between terminal
// and acquirer, the zone MAC key (ZAK) between acquirer and issuer.
// Authorisation, financial and reversal messages and their answers carry a
// MAC; such a request without one, or with a wrong one, is answered 63 with
// decline reason mac_invalid, unless the acquirer's configuration makes
// that terminal's MAC optional (then only a missing MAC is accepted).
//
// # PIN and keys
//
// An online PIN travels in DE52 as an ISO 9564 format 0 PIN block
// enciphered under the PIN pad's TDES DUKPT key of the transaction (ANSI
// X9.24-1, the PIN variant), with the 10-byte key serial number in DE53.
// The acquirer derives the key from the terminal's base derivation key
// (BDK) and translates the block to the zone PIN key (ZPK) for the issuer.
// Keys are named in logs and on screens by their check value only (the
// first 3 bytes of the key's encryption of zeros).
//
// # Response codes
//
// DE39 (ResponseCode; Meaning gives the words): 00 approved, 01 refer to
// card issuer, 05 do not honour, 10 approved for a partial amount, 12
// invalid transaction, 13 invalid amount, 14 invalid card number, 30 format
// error, 41 lost card, 43 stolen card, 51 insufficient funds, 54 expired
// card, 55 incorrect PIN, 57 not permitted to cardholder, 58 not permitted
// to terminal, 61 exceeds amount limit, 62 restricted card, 63 security
// violation (MAC), 65 exceeds frequency limit, 68 response too late, 75
// PIN tries exceeded, 82 cryptogram failure, 91 issuer inoperative, 94
// duplicate transmission, 96 system malfunction. A decline also carries
// its machine-readable reason in DE48 subelement 01 (DeclineReason, for
// example insufficient_funds or arqc_invalid); subelement 10 set to 1
// marks an acquirer's stand-in answer.
//
// # Printing
//
// Describe and Summary print messages for logs, the terminal's ISO pane and
// the acquirer's journal with cardholder data masked: the PAN keeps at most
// its first 6 and last 4 digits, track 2 and the expiry date are masked, the
// PIN block shows as "[PIN block]" and the cryptograms in DE55 (9F26, 9F10,
// 9F4B, 91, issuer script commands) are hidden. The typed message structs
// print the same way under every fmt verb.
package isospec
