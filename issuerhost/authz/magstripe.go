package authz

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"github.com/tapsim/tapsim/emv/magstripe"
	"github.com/tapsim/tapsim/hsm"
)

// A contactless mag-stripe mode transaction (EMV Contactless Book C-2) comes
// with entry mode 91, the track 2 the reader filled (DE35) and no chip data:
// its proof is the CVC3 in the track's discretionary data, computed by the
// card over the track as personalised, the reader's Unpredictable Number and
// the ATC (emv/cryptogram, emv/magstripe; tapsim's cards personalise
// magstripe.DefaultLayout). The stages are then: format (the track read),
// lookup, verifyCVC3 (the ATC rebuilt from its digits within the ATC window
// after the last one seen, the CVC3 checked in the security module), replay,
// the CVM policy (online PIN above the no-signature limit, R-S2d; no CDCVM
// can be proved, so an HCE card is refused, R-S2e), online PIN, limits and
// approval. A CVC3 that does not verify declines as an invalid cryptogram.

// isMagStripe reports a contactless mag-stripe mode request.
func (t *txn) isMagStripe() bool {
	r := t.req
	return strings.HasPrefix(r.EntryMode, "91") && len(r.ICC) == 0 && r.Track2 != ""
}

// formatTrack reads the dynamic digits out of the track.
func (t *txn) formatTrack() Reason {
	s := strings.ToUpper(strings.ReplaceAll(t.req.Track2, "=", "D"))
	if len(s)%2 == 1 {
		s += "F"
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return FormatError
	}
	tr, err := magstripe.ParseTrack2(b)
	if err != nil {
		return FormatError
	}
	static, cvc3, un, atc, err := magstripe.Read(tr, magstripe.DefaultLayout)
	if err != nil {
		return FormatError
	}
	t.msStatic, t.msCVC3, t.msUN, t.msATCDigits = static.Bytes(), cvc3, un, atc
	// The last digit is nUN, or nUN' = (nUN + 5) mod 10 when the reader saw
	// a successful on-device CVM in the card's POS Cardholder Interaction
	// Information (DF4B). DF4B does not reach the issuer in a mag-stripe
	// mode request (no chip data), so nUN' is accepted only as the reader's
	// indication that the cardholder was verified on the device: the CVC3
	// covers the Unpredictable Number, the ATC and the track as
	// personalised, not that digit, so what the issuer trusts here is the
	// reader, not the card. Read has already checked the digit is one of
	// the two the layout allows, and the CVC3 is verified over the UN from
	// the nUN positions either way; the indication is kept (msODCVM) and
	// does not replace an online PIN in the CVM policy.
	t.msODCVM = magstripe.OnDeviceCVM(tr, magstripe.DefaultLayout)
	return ""
}

// verifyCVC3 rebuilds the ATC and checks the CVC3 in the security module.
func (t *txn) verifyCVC3() Reason {
	if t.cloud != 0 || t.cvn == nil {
		return CheckNotAvailable // a cloud card has no CVC3 key
	}
	v, ok := t.e.hsm.(hsm.CVC3)
	if !ok {
		return CheckNotAvailable
	}
	failures, err := t.tx.CVC3Failures(t.ctx, t.cred)
	if err != nil {
		return t.fail(err)
	}
	if failures >= t.e.cfg.Policy.MaxCVC3Failures {
		return CVC3TriesExceeded
	}
	hw, _, err := t.tx.ATC(t.ctx, t.cred)
	if err != nil {
		return t.fail(err)
	}
	atc, ok := magstripe.ATC(t.msATCDigits, magstripe.DefaultLayout, hw, t.e.cfg.Policy.ATCWindow)
	if !ok {
		return ATCOutOfWindow
	}
	imk, err := t.e.hsm.Lookup(t.imkRef)
	if err != nil {
		return t.fail(fmt.Errorf("issuer master key %s: %w", t.imkRef, err))
	}
	t.imk = imk
	q := bits.OnesCount64(magstripe.DefaultLayout.PCVC3)
	err = v.VerifyCVC3(imk, t.cvn.Name, t.req.PAN, t.psn, t.msStatic, t.msUN, atc, t.msCVC3, q)
	switch {
	case err == nil:
	case errors.Is(err, hsm.ErrVerify):
		// Counted, and kept with the decline: a short CVC3 is not to be
		// guessed online.
		n, err := t.tx.CountCVC3Failure(t.ctx, t.cred, t.now)
		if err != nil {
			return t.fail(err)
		}
		if n >= t.e.cfg.Policy.MaxCVC3Failures {
			return CVC3TriesExceeded
		}
		return ARQCInvalid
	case errors.Is(err, hsm.ErrInput):
		return FormatError
	default:
		return t.fail(err)
	}
	if failures > 0 {
		if err := t.tx.ClearCVC3Failures(t.ctx, t.cred); err != nil {
			return t.fail(err)
		}
	}
	t.atc = int(atc)
	// The replay stage records the number and CVC3 as this transaction's
	// cryptogram.
	t.arqc = append(append([]byte(nil), t.msUN...), byte(t.msCVC3>>16), byte(t.msCVC3>>8), byte(t.msCVC3))
	return ""
}

// cvmPolicyMagStripe is the CVM policy of a mag-stripe mode transaction:
// only an online PIN proves the cardholder.
func (t *txn) cvmPolicyMagStripe() Reason {
	pin := len(t.req.PINBlock) > 0
	t.cvm = CVMNone
	if pin {
		t.cvm = CVMOnlinePIN
	}
	if t.form == formHCE && !pin {
		return CDCVMRequired // every HCE transaction, a refund too (R-S2e)
	}
	if t.refund {
		return ""
	}
	if t.req.Amount > t.e.cfg.Policy.NoCVMLimit && !pin {
		return CVMRequired
	}
	return ""
}
