// Package cards builds tapsim's virtual cards and phones: things with an
// Answer To Reset that answer command APDUs with response APDUs, keeping
// their own state (ATC, keys, counters, wallet state) from tap to tap.
//
// A card is described by a Profile, read from YAML (Load, or Builtin for
// the sample profiles embedded from cards/profiles/) or written in code, and
// built with FromProfile. Form factors:
//
//   - plastic: a contactless card (package chip with emvapp applications);
//   - se-phone, hce-phone, wallet-phone: phones (package phone) whose card
//     is an emvapp application held in a secure element, as single-use HCE
//     keys, or as a token;
//   - recorded: a card replayed from an APDU trace (package recorded).
//
// Every profile keeps its real cryptography: ICC master keys derived from
// the issuer master key by the CVN's option, session keys and cryptograms
// through emv/cryptogram, ODA certificates from the test CA (cards/testca)
// through emv/oda. Randomness (card unpredictable numbers, ICC dynamic
// numbers, salts) comes from Options.Rand, time from Options.Clock, so runs
// with fixed sources are repeatable.
//
// Profiles hold test keys in hex; they are test keys, but FromProfile never
// logs them and errors never quote them.
package cards

import (
	"github.com/tapsim/tapsim/cards/chip"
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/phone"
)

// Card is a virtual card or phone in the field of a reader.
type Card interface {
	// ATR is the Answer To Reset the reader reports.
	ATR() []byte
	// Process answers a C-APDU with an R-APDU (data and status word). It
	// never panics; a malformed command gets an error status word.
	Process(capdu []byte) []byte
	// Reset is the card leaving and entering the field: the selection is
	// cleared, persistent state (counters, keys, wallet) stays.
	Reset()
}

// Applications returns the EMV applications of a card built by this
// package (none for a recorded card).
func Applications(c Card) []*emvapp.App {
	switch c := c.(type) {
	case *phone.Phone:
		return c.Apps()
	case *chip.Chip:
		var out []*emvapp.App
		for _, a := range c.Applications() {
			if e, ok := a.(*emvapp.App); ok {
				out = append(out, e)
			}
		}
		return out
	}
	return nil
}

// Phone returns the phone behind c, if c is one.
func Phone(c Card) (*phone.Phone, bool) {
	p, ok := c.(*phone.Phone)
	return p, ok
}
