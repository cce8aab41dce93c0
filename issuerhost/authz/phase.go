package authz

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// phase is which of its two runs a request's pipeline is in (see
// Engine.Authorize).
type phase int

const (
	// phaseRead reads the store in a read-only transaction, asks the
	// security module and remembers its answers (checks), and writes
	// nothing.
	phaseRead phase = iota + 1
	// phaseWrite runs in the store's read-write transaction on the state
	// read anew, with the security module's answers of the read phase
	// only, and writes the decision.
	phaseWrite
)

// errReread stops a write phase that would need the security module for
// inputs the read phase did not check: nothing is written and the request
// runs both phases again.
var errReread = errors.New("state changed between the read and the write phase")

// checks is what the read phase learnt from the security module, by the
// inputs it was asked with (the request's own data aside, which do not
// change between the phases), for the write phase.
type checks struct {
	// formatted is the format stage's outcome.
	formatted *formatted
	// audit is the text of the audit entry of the decision the read
	// phase expected.
	audit auditText
	// found is the token (nil for none) and card the read phase found.
	found *found
	arqc  map[string]*cryptoCheck // by IMK label, CVN and PSN
	cvc3  map[string]*cryptoCheck // by IMK label, CVN, PSN and ATC
	pin   map[string]error        // by PVKI and PVV
	// cloud is the verdict on a cloud card's cryptograms (nil: none).
	cloud *cloud.Checked
}

// auditText is the subject and detail of the audit entry of a decision
// of a reason, credential and masked PAN.
type auditText struct {
	reason          Reason
	cred, maskedPAN string
	subject, detail string
}

// formatted is what the format stage read from the request, and its
// outcome.
type formatted struct {
	reason            Reason
	icc               iccData
	refund, aac       bool
	requestor         string
	requestorConflict bool
	atc               int
	arqc              []byte
	msStatic, msUN    []byte
	msCVC3, msATC     uint64
	msODCVM           bool
}

func formattedOf(t *txn, r Reason) *formatted {
	return &formatted{reason: r, icc: t.icc, refund: t.refund, aac: t.aac, requestor: t.requestor,
		requestorConflict: t.requestorConflict, atc: t.atc, arqc: t.arqc, msStatic: t.msStatic, msUN: t.msUN,
		msCVC3: t.msCVC3, msATC: t.msATCDigits, msODCVM: t.msODCVM}
}

func (f *formatted) restore(t *txn) {
	t.icc, t.refund, t.aac, t.requestor, t.requestorConflict = f.icc, f.refund, f.aac, f.requestor, f.requestorConflict
	t.atc, t.arqc, t.msStatic, t.msUN, t.msCVC3, t.msATCDigits, t.msODCVM = f.atc, f.arqc, f.msStatic, f.msUN, f.msCVC3,
		f.msATC, f.msODCVM
}

// found is a token and card as the read phase read them.
type found struct {
	token *store.Token
	card  store.Card
}

// cryptoCheck is the security module's verdict on a cryptogram (nil err:
// it verified), the issuer master key's handle, and the ARPC the read
// phase made for the response code it expected.
type cryptoCheck struct {
	imk      hsm.Handle
	err      error
	arpcCode string
	arpc     []byte
}

// reread stops the write phase (errReread).
func (t *txn) reread() Reason {
	t.err = errReread
	return SystemError
}

// arqcKey names the inputs of an ARQC check that may change between the
// phases.
func (t *txn) arqcKey() string { return t.imkRef + "\x00" + t.cvn.Name + "\x00" + t.psn }

// cryptoCheck returns the check of the cryptogram under key from m: in the
// read phase by asking the security module with verify (once per key), in
// the write phase from what the read phase asked (errReread when it did
// not).
func (t *txn) cryptoCheck(m *map[string]*cryptoCheck, key string, verify func(imk hsm.Handle) error) (*cryptoCheck, Reason) {
	if ck, ok := (*m)[key]; ok {
		return ck, ""
	}
	if t.phase == phaseWrite {
		return nil, t.reread()
	}
	imk, err := t.e.hsm.Lookup(t.imkRef)
	if err != nil {
		return nil, t.fail(fmt.Errorf("issuer master key %s: %w", t.imkRef, err))
	}
	if *m == nil {
		*m = map[string]*cryptoCheck{}
	}
	ck := &cryptoCheck{imk: imk, err: verify(imk)}
	(*m)[key] = ck
	return ck, ""
}

// pinCheck is the security module's verdict on the request's PIN block
// against the PVV on file, asked in the read phase and remembered for the
// write phase, as cryptoCheck.
func (t *txn) pinCheck() (error, Reason) {
	key := strconv.Itoa(t.pvki) + "\x00" + t.pvv
	if err, ok := t.checks.pin[key]; ok {
		return err, ""
	}
	if t.phase == phaseWrite {
		return nil, t.reread()
	}
	zpk, err := t.e.hsm.Lookup(t.e.cfg.ZPK)
	if err != nil {
		return nil, t.fail(fmt.Errorf("zone PIN key: %w", err))
	}
	pvk, err := t.e.hsm.Lookup(t.e.cfg.PVK)
	if err != nil {
		return nil, t.fail(fmt.Errorf("PIN verification key: %w", err))
	}
	err = t.e.hsm.VerifyPIN(zpk, t.req.PINBlock, t.req.PAN, pvk, t.pvki, t.pvv)
	if t.checks.pin == nil {
		t.checks.pin = map[string]error{}
	}
	t.checks.pin[key] = err
	return err, ""
}

// wantsARPC reports whether the decision goes back with an ARPC: the
// cryptogram verified, is not a refund's AAC, and the card is not a
// cloud card.
func (t *txn) wantsARPC() bool { return t.err == nil && t.arqcOK && !t.aac && t.cloud == 0 }

// answer completes a committed decision of the write phase with its ARPC
// (tag 91): the read phase's when it expected the same response code,
// made now otherwise. The security module failing here leaves the
// decision committed with no answer to send, as a host that stops after
// its commit does.
func (t *txn) answer(d *Decision) error {
	if t == nil || !t.wantsARPC() || t.crypto == nil {
		return nil
	}
	if t.crypto.arpc != nil && t.crypto.arpcCode == d.Code {
		d.IssuerAuthData = t.crypto.arpc
		return nil
	}
	iad, err := t.issuerAuthData(d.Code)
	if err != nil {
		return err
	}
	d.IssuerAuthData = iad
	return nil
}
