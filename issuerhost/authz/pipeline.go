package authz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

// Form factors that are phones.
const (
	formHCE    = "hce-phone"
	formSE     = "se-phone"
	formWallet = "wallet-phone"
)

func isPhone(f string) bool { return f == formHCE || f == formSE || f == formWallet }

// txn is one request going through the pipeline. format runs before the
// store transaction and each run of the transaction's function starts
// from a copy of what it set (icc, refund, aac, atc, arqc, requestor, the
// mag-stripe fields): the later stages read those and never change them
// in place (a map or slice format made is shared by the copies).
type txn struct {
	e   *Engine
	tx  *store.Tx
	ctx context.Context
	req *Request
	now time.Time
	err error // a failure that stops the host from deciding

	icc    iccData
	refund bool
	aac    bool // a refund's AAC: verified, no ARPC

	// found by lookup
	card    store.Card
	token   *store.Token
	account store.Account
	cred    string
	cvnName string
	imkRef  string
	psn     string
	pvki    int
	pvv     string
	form    string
	// device is the authenticated device of a device-bound or HCE token
	// (the HCE key's device, or 9F10's binding where the CVN covers it);
	// claimedDevice is the device 9F10 names, covered or not.
	device        string
	claimedDevice string
	// requestor is the token requestor the message names (9F19 or the
	// private field); requestorConflict reports the two naming different
	// ones.
	requestor         string
	requestorConflict bool

	// set by later stages
	cvn *cryptogram.CVN
	imk hsm.Handle
	// cloud is the cloud CVN (emv/cloud's C1 or C2) of a card or token
	// served by the cloud platform, 0 for any other; cloudCV is the
	// cardholder verification its cryptograms authenticate.
	cloud   byte
	cloudCV bool
	arqc    []byte
	atc     int
	arqcOK  bool
	cvm     CVM

	authCode string

	// a contactless mag-stripe mode transaction (formatTrack): the track
	// as personalised, the reader's unpredictable number and the digits
	// of the CVC3 and the ATC the track carries.
	msStatic    []byte
	msUN        []byte
	msCVC3      uint64
	msATCDigits uint64
	// msODCVM is set when the track's last digit is nUN' (the reader's
	// indication of a successful on-device CVM, not authenticated).
	msODCVM bool
	// replayTolerated is set when the test setting let a replayed
	// cryptogram through.
	replayTolerated bool
}

// fail records a failure that stops the host from deciding.
func (t *txn) fail(err error) Reason {
	t.err = err
	return SystemError
}

// run goes through the stages after format, whose outcome is formatted,
// and returns the decision.
func (t *txn) run(formatted Reason) Decision {
	stages := []func() Reason{t.lookup, t.verifyARQC, t.replay, t.bind, t.deviceBinding,
		t.cvmPolicy, t.onlinePIN, t.limits, t.approve}
	if t.isMagStripe() {
		stages = []func() Reason{t.lookup, t.verifyCVC3, t.replay, t.cvmPolicyMagStripe, t.onlinePIN, t.limits, t.approve}
	}
	r := formatted
	if r == "" {
		r = Approved
		for _, stage := range stages {
			if got := stage(); got != "" {
				r = got
				break
			}
		}
	}
	d := decisionFor(r)
	d.MaskedPAN, d.Cred, d.ATC, d.CVM, d.DeviceID = pan.Mask(t.req.PAN), t.cred, t.atc, t.cvm, t.device
	if t.token != nil {
		d.TokenID, d.FundingLast4 = t.token.ID, pan.Last4(t.card.PAN)
	}
	if r == Approved {
		d.AuthCode = t.authCode
	}
	if t.err == nil && t.arqcOK && !t.aac && t.cloud == 0 && t.cvrARQC() {
		iad, err := t.issuerAuthData(d.Code)
		if err != nil {
			t.fail(err)
			return decisionFor(SystemError)
		}
		d.IssuerAuthData = iad
	}
	return d
}

// record writes the authorisation log line and the audit entry.
func (t *txn) record(d Decision) error {
	r := t.req
	if _, err := t.tx.LogAuth(t.ctx, store.AuthRecord{At: t.now, MTI: r.MTI, STAN: r.STAN, RRN: r.RRN,
		TerminalID: r.TerminalID, MerchantID: r.MerchantID, MaskedPAN: d.MaskedPAN, Cred: d.Cred, Amount: r.Amount,
		Currency: r.Currency, EntryMode: r.EntryMode, CVM: string(d.CVM), ATC: d.ATC, ResponseCode: d.Code,
		Reason: string(d.Reason), AuthCode: d.AuthCode, OrigKey: r.Key()}); err != nil {
		return err
	}
	action := "authorisation.declined"
	if d.Approved() {
		action = "authorisation.approved"
	}
	detail := fmt.Sprintf("%s %s stage %s amount %d/%03d", d.Code, d.Reason, d.Reason.Stage(), r.Amount, r.Currency)
	if rule := d.Reason.Rule(); rule != "" {
		detail += " " + rule
	}
	return t.tx.Audit(t.ctx, store.AuditEvent{At: t.now, Actor: "authorisation", Action: action,
		Subject: strings.TrimSpace(d.Cred + " " + d.MaskedPAN), Detail: detail})
}

// format checks the request's content (stage 1). It reads the request
// alone, so it runs before the store transaction.
func (t *txn) format() Reason {
	r := t.req
	switch {
	case r.MTI != "0100" && r.MTI != "0200":
		return FormatError
	case len(r.PAN) < 12 || len(r.PAN) > 19 || !digits(r.PAN):
		return FormatError
	case len(r.ProcessingCode) != 6 || !digits(r.ProcessingCode):
		return FormatError
	case r.Amount < 0 || r.Amount > 999_999_999_999:
		return FormatError
	case r.Currency <= 0 || r.Currency > 999:
		return FormatError
	case len(r.EntryMode) != 3 || !digits(r.EntryMode):
		return FormatError
	case len(r.STAN) != 6 || !digits(r.STAN) || len(r.TransmissionTime) != 10 || !digits(r.TransmissionTime):
		return FormatError
	case r.Expiry != "" && !validYYMM(r.Expiry):
		return FormatError
	case r.PSN != "" && (len(r.PSN) > 2 || !digits(r.PSN)):
		return FormatError
	case len(r.PINBlock) != 0 && len(r.PINBlock) != 8 && len(r.PINBlock) != 16:
		return FormatError
	case r.LocalDate != "" && !validMMDD(r.LocalDate):
		return FormatError
	case r.MCC != "" && (len(r.MCC) != 4 || !digits(r.MCC)):
		return FormatError
	case r.ConditionCode != "" && (len(r.ConditionCode) != 2 || !digits(r.ConditionCode)):
		return FormatError
	case r.TokenRequestorID != "" && (len(r.TokenRequestorID) != 11 || !digits(r.TokenRequestorID)):
		return FormatError
	}
	if r.DeviceID != "" {
		if _, err := NormaliseDeviceID(r.DeviceID); err != nil {
			return FormatError
		}
	}
	switch r.ProcessingCode[:2] {
	case "00":
	case "20":
		t.refund = true
	default:
		return ProcessingCodeNotSupported
	}
	if !pan.LuhnValid(r.PAN) {
		return UnknownCard
	}
	if t.isMagStripe() {
		return t.formatTrack()
	}
	if !hasPrefix(r.EntryMode, t.e.cfg.Policy.ChipEntryModes) {
		return EntryModeNotAccepted
	}
	if len(r.ICC) == 0 {
		return FormatError
	}
	icc, err := parseICC(r.ICC)
	if err != nil {
		return FormatError
	}
	t.icc = icc
	t.requestor = r.TokenRequestorID
	if v := icc.get(tagTokenRequestor); v != nil {
		id, ok := requestorID(v)
		if !ok {
			return FormatError
		}
		if t.requestor != "" && t.requestor != id {
			t.requestorConflict = true
		}
		t.requestor = id
	}
	if len(icc.get(cryptogram.TagApplicationCrypto)) != cryptogram.ACLength || len(icc.get(cryptogram.TagATC)) != 2 ||
		len(icc.get(cryptogram.TagIssuerAppData)) == 0 {
		return FormatError
	}
	if cid := icc.get(cryptogram.TagCryptogramInfoData); len(cid) > 0 {
		// An online authorisation carries an ARQC; a refund may carry the
		// AAC a card answers a refund with (its cryptogram checks the same
		// way), but no ARPC goes back for it.
		switch {
		case len(cid) != 1:
			return FormatError
		case cid[0]&0xC0 == 0x80:
		case cid[0]&0xC0 == 0x00 && t.refund:
			t.aac = true
		default:
			return FormatError
		}
	}
	if psn := icc.get(cryptogram.TagPANSequenceNumber); len(psn) == 1 && r.PSN != "" {
		want := r.PSN
		if len(want) == 1 {
			want = "0" + want
		}
		if fmt.Sprintf("%02X", psn[0]) != want {
			return FormatError
		}
	}
	atc := icc.get(cryptogram.TagATC)
	t.atc = int(atc[0])<<8 | int(atc[1])
	if r.HasKeyATC && int(r.KeyATC) != t.atc {
		return FormatError
	}
	t.arqc = icc.get(cryptogram.TagApplicationCrypto)
	return ""
}

// lookup finds the card or token (stage 2).
func (t *txn) lookup() Reason {
	r := t.req
	cr, err := t.tx.CredentialByNumber(t.ctx, r.PAN)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return UnknownCard
	case err != nil:
		return t.fail(err)
	case cr.Token != nil:
		k := *cr.Token
		t.token, t.card, t.account = &k, cr.Card, cr.Account
		t.cred = tokenCred(k.ID)
		t.cvnName, t.imkRef, t.psn, t.pvki, t.pvv, t.form = k.CVN, k.IMKRef, k.PSN, k.PVKI, k.PVV, k.FormFactor
		switch k.Status {
		case store.TokenDeleted:
			return TokenDeleted
		case store.TokenSuspended:
			return TokenSuspended
		case store.TokenInactive:
			return TokenInactive
		case store.TokenActive:
		default:
			return TokenSuspended
		}
		if r.Expiry != "" && r.Expiry != k.Expiry {
			return ExpiryMismatch
		}
		if expired(k.Expiry, t.now) {
			return TokenExpired
		}
		if rs := t.domain(k); rs != "" {
			return rs
		}
	default:
		c := cr.Card
		t.card, t.account = c, cr.Account
		t.cred = cardCred(c.ID)
		t.cvnName, t.imkRef, t.psn, t.pvki, t.pvv, t.form = c.CVN, c.IMKRef, c.PSN, c.PVKI, c.PVV, c.FormFactor
		if r.Expiry != "" && r.Expiry != c.Expiry {
			return ExpiryMismatch
		}
	}
	switch t.card.Status {
	case store.CardActive:
	case store.CardLost:
		return CardLost
	default:
		return CardBlocked
	}
	if t.cvnName == "" || t.imkRef == "" {
		return NoChipProfile
	}
	if t.cloud = cloudCVN(t.cvnName); t.cloud == 0 {
		cvn, err := cryptogram.Lookup(t.cvnName)
		if err != nil {
			return t.fail(fmt.Errorf("card %s: %w", t.cred, err))
		}
		t.cvn = cvn
		t.claimedDevice = DeviceFromIAD(t.icc.get(cryptogram.TagIssuerAppData), cvn.Scheme)
	}
	if t.account.Status != store.AccountActive {
		return CardBlocked
	}
	return ""
}

// domain applies the token's domain restriction controls (vault.Controls)
// to the request: entry mode, channel, token requestor, merchant and
// merchant category, each refusal with its own reason. A domain the vault
// cannot read allows nothing.
func (t *txn) domain(k store.Token) Reason {
	c, err := vault.ParseDomain(k.Domain)
	if err != nil {
		return TokenDomain
	}
	r := t.req
	refusal := c.Check(vault.Usage{EntryMode: r.EntryMode, Condition: r.ConditionCode, Requestor: t.requestor,
		MerchantID: r.MerchantID, MCC: r.MCC}, k.RequestorID)
	if t.requestorConflict && refusal != vault.RefuseEntryMode && refusal != vault.RefuseChannel {
		// 9F19 and the private field name two requestors: one is not the
		// token's.
		return TokenDomainRequestor
	}
	switch refusal {
	case "":
		return ""
	case vault.RefuseEntryMode:
		return TokenDomainEntryMode
	case vault.RefuseChannel:
		return TokenDomainChannel
	case vault.RefuseRequestor:
		return TokenDomainRequestor
	case vault.RefuseMerchant:
		return TokenDomainMerchant
	case vault.RefuseMCC:
		return TokenDomainMCC
	}
	return TokenDomain
}

// verifyARQC checks the application cryptogram in the security module
// (stage 3).
func (t *txn) verifyARQC() Reason {
	if t.cloud != 0 {
		return t.verifyCloud()
	}
	if _, err := t.cvn.Data(t.icc.tags); err != nil {
		if errors.Is(err, cryptogram.ErrCVNMismatch) {
			return ARQCInvalid
		}
		return FormatError
	}
	imk, err := t.e.hsm.Lookup(t.imkRef)
	if err != nil {
		return t.fail(fmt.Errorf("issuer master key %s: %w", t.imkRef, err))
	}
	t.imk = imk
	err = t.e.hsm.VerifyARQC(imk, t.cvn.Name, t.req.PAN, t.psn, t.icc.tags, t.arqc)
	switch {
	case err == nil:
		t.arqcOK = true
		return ""
	case errors.Is(err, hsm.ErrVerify):
		return ARQCInvalid
	case errors.Is(err, hsm.ErrInput):
		return FormatError
	}
	return t.fail(err)
}

// replay applies R-G4 (stage 4): the message is new, the cryptogram was
// never presented before, and the ATC is ahead of the last one seen,
// within the window. The cryptogram is recorded as used and the high-water
// mark raised whatever the later stages decide.
func (t *txn) replay() Reason {
	atc := uint16(t.atc)
	// One statement: the cryptogram is recorded as used unless an
	// authorisation is held under the message's key (a duplicate).
	fresh, held, err := t.tx.UseCryptogramOnce(t.ctx, t.req.Key(), t.cred, atc, t.arqc, t.now)
	if err != nil {
		return t.fail(err)
	}
	if held {
		return DuplicateTransmission
	}
	if !fresh {
		if !t.e.tolerated(t.arqc) {
			return ARQCReplayed
		}
		// The issuer's test setting: this one replay goes on.
		t.replayTolerated = true
		return ""
	}
	if t.cloud != 0 {
		// Each phone of a cloud card counts its own ATC; the key ledger
		// refuses a key used again (R-S5b).
		return ""
	}
	// One statement: the high-water mark raised when the ATC is ahead of
	// it within the window; else the mark tells which refusal.
	raised, hw, _, err := t.tx.RaiseATCWithin(t.ctx, t.cred, atc, t.e.cfg.Policy.ATCWindow, t.now)
	if err != nil {
		return t.fail(err)
	}
	if raised {
		return ""
	}
	if int(atc) <= int(hw) {
		return ATCNotAhead
	}
	if int(atc)-int(hw) > t.e.cfg.Policy.ATCWindow {
		return ATCOutOfWindow
	}
	return t.fail(fmt.Errorf("ATC of %s ahead within the window but not raised", t.cred))
}

// bind checks that the message says what the card signed (stage 4b): DE4
// is 9F02, DE49 is 5F2A, DE3 goes with 9C (purchase 00 with 00, refund 20
// with 20) and DE13, when present, is within a day of 9A. All four tags
// are in the minimum data set every CVN covers, and the cryptogram has
// verified, so they are the card's; the message's fields are not (R-G2).
// A date out of step is an old cryptogram in a new message (R-G4).
func (t *txn) bind() Reason {
	r := t.req
	if v, ok := tlv.ParseN(t.icc.get(cryptogram.TagAmountAuthorised)); !ok || v != r.Amount {
		return AmountMismatch
	}
	if v, ok := tlv.ParseN(t.icc.get(cryptogram.TagCurrency)); !ok || v != int64(r.Currency) {
		return CurrencyMismatch
	}
	want := byte(0x00)
	if t.refund {
		want = 0x20
	}
	if typ := t.icc.get(cryptogram.TagTransactionType); len(typ) != 1 || typ[0] != want {
		return TypeMismatch
	}
	if r.LocalDate != "" && !dateWithinADay(t.icc.get(cryptogram.TagTransactionDate), r.LocalDate) {
		return DateMismatch
	}
	// The cryptogram's type as the CVR it covers records it: 9F27 is
	// covered by no CVN. A purchase needs an ARQC; a refund an ARQC or
	// the AAC a card answers a refund with.
	if typ, ok := t.cvrACType(); ok {
		cid := t.icc.get(cryptogram.TagCryptogramInfoData)
		switch {
		case typ == acARQC && !t.aac:
		case typ == acAAC && t.refund && (t.aac || len(cid) == 0):
			t.aac = true // no ARPC for it
		default:
			return ACTypeMismatch
		}
	}
	// The cryptogram's date against the host's own clock: DE13 is the
	// terminal's word and may be left out.
	if card, ok := cardDate(t.icc.get(cryptogram.TagTransactionDate)); !ok || !withinADay(card, t.now) {
		return DateOutOfRange
	}
	return ""
}

// deviceBinding applies R-S5d to device-bound and HCE tokens (stage 5b).
// The device rests on authenticated data only: for an HCE token, the
// phone the cloud key ledger issued its key to (verifyCloud; an HCE token
// of another CVN has none and is refused, DeviceBindingUnauthenticated);
// for another device-bound token (wallet phone), the binding in 9F10 when the CVN's
// cryptogram covers the whole of 9F10, and otherwise the token is refused
// (DeviceBindingUnauthenticated). The device named in 9F10 and in the
// private field are claims: one that names another device declines
// (DeviceMismatch). A device-bound token's tap must carry the binding in
// 9F10, and the device must be registered for the token and not reported
// lost. Credentials bound to no device ignore device claims.
func (t *txn) deviceBinding() Reason {
	if t.token == nil {
		return ""
	}
	if t.cloud != 0 {
		// The key ledger named the phone and refused a suspended one.
		if t.req.DeviceID != "" {
			if id, _ := NormaliseDeviceID(t.req.DeviceID); id != t.device {
				return DeviceMismatch
			}
		}
		return ""
	}
	if t.form == formHCE {
		return DeviceBindingUnauthenticated
	}
	if !t.token.DeviceBound {
		return ""
	}
	if !coversDeviceBinding(t.cvn) {
		return DeviceBindingUnauthenticated
	}
	t.device = t.claimedDevice
	if t.device == "" {
		return DeviceNotBound
	}
	if t.req.DeviceID != "" {
		if id, _ := NormaliseDeviceID(t.req.DeviceID); id != t.device {
			return DeviceMismatch
		}
	}
	dev, err := t.tx.Device(t.ctx, t.device, t.token.ID)
	if errors.Is(err, store.ErrNotFound) {
		return DeviceNotBound
	}
	if err != nil {
		return t.fail(err)
	}
	if dev.Status != store.DeviceActive {
		return DeviceLost
	}
	return ""
}

// cvmPolicy applies R-S2d and R-S2e (stage 6). Cardholder verification is
// taken from what the issuer can authenticate only: the CDCVM flag of the
// CVR, which every CVN's cryptogram covers, and an online PIN, which the
// PIN stage verifies. The terminal's 9F34, the card's 9F6C and the private
// field are claims: a claim that a CDCVM or an offline PIN was performed
// that the CVR does not record declines (CVMClaimUnverified), whatever the
// amount. An online PIN selected in 9F34 without a PIN block is a PIN
// bypass: no CVM. A signature cannot be authenticated by any cryptogram; it is
// accepted as the terminal's word for a plastic card above the
// no-signature limit (above it the cardholder signs), unless the policy
// rejects signatures; a phone needs CDCVM or an online PIN there, and an
// HCE phone always.
func (t *txn) cvmPolicy() Reason {
	pin := len(t.req.PINBlock) > 0
	claims := claimsOf(t.icc, t.req.CVM, strings.HasPrefix(t.req.EntryMode, "07"))
	if t.cloud != 0 {
		return t.cloudCVM(pin, claims)
	}
	cdcvm := cvrCDCVM(t.icc.get(cryptogram.TagIssuerAppData), t.cvn.Scheme)
	sig := claims.signature
	switch {
	case pin:
		t.cvm = CVMOnlinePIN
	case cdcvm:
		t.cvm = CVMCDCVM
	case sig:
		t.cvm = CVMSignature
	default:
		t.cvm = CVMNone
	}
	iad := t.icc.get(cryptogram.TagIssuerAppData)
	if (claims.cdcvm && !cdcvm) || (claims.offlinePIN && !cvrOfflinePIN(iad, t.cvn.Scheme)) {
		return CVMClaimUnverified
	}
	strong := pin || cdcvm
	if t.form == formHCE && !strong {
		return CDCVMRequired // every HCE transaction, a refund too (R-S2e)
	}
	if t.refund {
		return ""
	}
	// R-S2d: a CVM is needed above the no-signature limit, not at it.
	if t.req.Amount > t.e.cfg.Policy.NoCVMLimit {
		if isPhone(t.form) && !strong {
			return CVMRequired
		}
		if !strong && !(sig && !t.e.cfg.Policy.RejectSignature) {
			return CVMRequired
		}
	}
	return ""
}

// onlinePIN verifies an online PIN against the PVV (stage 7), counting
// consecutive wrong PINs on the card and locking it at the policy's
// maximum until the issuer resets it (R-G3c).
func (t *txn) onlinePIN() Reason {
	if len(t.req.PINBlock) == 0 {
		return ""
	}
	if t.card.PINLocked {
		return PINLocked
	}
	if t.pvv == "" {
		return PINNotSet
	}
	zpk, err := t.e.hsm.Lookup(t.e.cfg.ZPK)
	if err != nil {
		return t.fail(fmt.Errorf("zone PIN key: %w", err))
	}
	pvk, err := t.e.hsm.Lookup(t.e.cfg.PVK)
	if err != nil {
		return t.fail(fmt.Errorf("PIN verification key: %w", err))
	}
	err = t.e.hsm.VerifyPIN(zpk, t.req.PINBlock, t.req.PAN, pvk, t.pvki, t.pvv)
	switch {
	case err == nil:
		if t.card.PINFailures != 0 {
			if err := t.tx.SetPINState(t.ctx, t.card.ID, 0, false); err != nil {
				return t.fail(err)
			}
		}
		return ""
	case errors.Is(err, hsm.ErrPIN):
		n := t.card.PINFailures + 1
		locked := n >= t.e.cfg.Policy.MaxPINTries
		if err := t.tx.SetPINState(t.ctx, t.card.ID, n, locked); err != nil {
			return t.fail(err)
		}
		if locked {
			if err := t.tx.Audit(t.ctx, store.AuditEvent{At: t.now, Actor: "authorisation", Action: "pin.locked",
				Subject: "card " + t.card.ID + " " + pan.Mask(t.card.PAN),
				Detail:  fmt.Sprintf("%d consecutive wrong PINs (R-G3c)", n)}); err != nil {
				return t.fail(err)
			}
			return PINTriesExceeded
		}
		return PINIncorrect
	case errors.Is(err, hsm.ErrPINBlock), errors.Is(err, hsm.ErrInput):
		return PINBlockInvalid
	}
	return t.fail(err)
}

// limits checks expiry, currency, the card's limit and open-to-buy (stage
// 8).
func (t *txn) limits() Reason {
	if expired(t.card.Expiry, t.now) {
		return CardExpired
	}
	if t.req.Currency != t.account.Currency {
		return AccountCurrencyMismatch
	}
	if t.refund {
		return ""
	}
	if t.account.TxnLimit > 0 && t.req.Amount > t.account.TxnLimit {
		return AmountLimitExceeded
	}
	if t.req.Amount > t.account.OpenToBuy() {
		return InsufficientFunds
	}
	return ""
}

// approve draws the authorisation code and holds the amount (stage 9).
func (t *txn) approve() Reason {
	code, err := authCode(t.e.cfg.Rand)
	if err != nil {
		return t.fail(err)
	}
	t.authCode = code
	if t.refund {
		return ""
	}
	err = t.tx.AddHold(t.ctx, store.Hold{Key: t.req.Key(), AccountID: t.account.ID, Cred: t.cred,
		MaskedPAN: pan.Mask(t.req.PAN), Amount: t.req.Amount, Currency: t.req.Currency, AuthCode: code,
		RRN: t.req.RRN, Status: store.HoldActive, CreatedAt: t.now})
	if errors.Is(err, store.ErrExists) {
		return DuplicateTransmission
	}
	if err != nil {
		return t.fail(err)
	}
	return ""
}

// Card Status Update (ARPC method 2, VIS): byte 2 bit 8 "issuer approves
// online transaction", bits 2-1 '10' "reset velocity-checking counters to
// zero".
var (
	csuApproved = []byte{0x00, 0x82, 0x00, 0x00}
	csuDeclined = []byte{0x00, 0x00, 0x00, 0x00}
)

// issuerAuthData builds tag 91 for response code code: ARPC || ARC (the
// response code in ASCII) for method 1, ARPC || CSU for method 2.
func (t *txn) issuerAuthData(code string) ([]byte, error) {
	var resp []byte
	switch t.cvn.ARPCMethod {
	case cryptogram.ARPC1:
		resp = []byte(code)
	case cryptogram.ARPC2:
		resp = csuDeclined
		if code == "00" {
			resp = csuApproved
		}
	default:
		return nil, fmt.Errorf("ARPC method %v", t.cvn.ARPCMethod)
	}
	arpc, err := t.e.hsm.GenerateARPC(t.imk, t.cvn.Name, t.req.PAN, t.psn, t.icc.tags, t.arqc, resp, nil)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(nil), arpc...), resp...), nil
}

// authCode draws a 6-character authorisation code of digits and capital
// letters.
func authCode(r io.Reader) (string, error) {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	var b [6]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("auth code: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:]), nil
}

// validYYMM reports whether s is YYMM with a month 01 to 12.
func validYYMM(s string) bool {
	if len(s) != 4 || !digits(s) {
		return false
	}
	m, _ := strconv.Atoi(s[2:])
	return m >= 1 && m <= 12
}

// expired reports whether a YYMM expiry is past at now: a card is valid to
// the end of its expiry month (UTC).
func expired(yymm string, now time.Time) bool {
	if !validYYMM(yymm) {
		return true
	}
	y, _ := strconv.Atoi(yymm[:2])
	m, _ := strconv.Atoi(yymm[2:])
	end := time.Date(2000+y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC)
	return !now.UTC().Before(end)
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// tagTokenRequestor is the Token Requestor ID (9F19, n11 in 6 bytes).
const tagTokenRequestor = 0x9F19

// requestorID reads 9F19: 12 BCD digits, the first 0, giving the 11-digit
// token requestor ID.
func requestorID(v []byte) (string, bool) {
	if len(v) != 6 {
		return "", false
	}
	s := fmt.Sprintf("%X", v)
	if !digits(s) || s[0] != '0' {
		return "", false
	}
	return s[1:], true
}

// validMMDD reports whether s is MMDD with a month 01 to 12 and a day 01 to
// 31.
func validMMDD(s string) bool {
	if len(s) != 4 || !digits(s) {
		return false
	}
	m, _ := strconv.Atoi(s[:2])
	d, _ := strconv.Atoi(s[2:])
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// dateWithinADay reports whether the local date mmdd (DE13, no year) is
// within a day of the transaction date yymmdd (9A, 3 bytes BCD), trying
// the year of 9A and the years either side, for a message sent across New
// Year.
func dateWithinADay(yymmdd []byte, mmdd string) bool {
	card, ok := cardDate(yymmdd)
	if !ok || !validMMDD(mmdd) {
		return false
	}
	y := card.Year() - 2000
	lm, _ := strconv.Atoi(mmdd[:2])
	ld, _ := strconv.Atoi(mmdd[2:])
	for _, year := range []int{2000 + y - 1, 2000 + y, 2000 + y + 1} {
		local := time.Date(year, time.Month(lm), ld, 0, 0, 0, 0, time.UTC)
		if local.Month() != time.Month(lm) {
			continue
		}
		if withinADay(card, local) {
			return true
		}
	}
	return false
}

// cardCred and tokenCred name a card's and a token's credential: what
// its ATC, used cryptograms and CVC3 failures are kept under.
func cardCred(id string) string  { return "card:" + id }
func tokenCred(id string) string { return "token:" + id }

// Cryptogram types as the CVR codes them (bits 6-5 of its byte).
const (
	acAAC  = 0x00
	acARQC = 0x02
)

// cvrACType is the type of the cryptogram as the CVR in 9F10 records it,
// for a layout known (cvrACType; a cloud phone's, emv/cloud's MODEL).
func (t *txn) cvrACType() (byte, bool) {
	iad := t.icc.get(cryptogram.TagIssuerAppData)
	if t.cloud != 0 {
		p, err := emvcloud.ParseIAD(iad)
		if err != nil {
			return 0, false
		}
		return p.ACType(), true
	}
	if t.cvn == nil {
		return 0, false
	}
	return cvrACType(iad, t.cvn.Scheme)
}

// cvrARQC tells whether the CVR does not record another cryptogram than
// an ARQC, the only one an ARPC answers (a refund's AAC sent without
// 9F27 and declined before bind set aac gets none either).
func (t *txn) cvrARQC() bool {
	typ, ok := t.cvrACType()
	return !ok || typ == acARQC
}

// cardDate reads the transaction date of the cryptogram (9A, YYMMDD in
// BCD) as midnight UTC of that day.
func cardDate(yymmdd []byte) (time.Time, bool) {
	if len(yymmdd) != 3 {
		return time.Time{}, false
	}
	ds := fmt.Sprintf("%X", yymmdd)
	if !digits(ds) || !validMMDD(ds[2:]) {
		return time.Time{}, false
	}
	y, _ := strconv.Atoi(ds[:2])
	m, _ := strconv.Atoi(ds[2:4])
	d, _ := strconv.Atoi(ds[4:])
	card := time.Date(2000+y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if card.Month() != time.Month(m) {
		return time.Time{}, false // 31 April and the like
	}
	return card, true
}

// withinADay tells whether the day of date (midnight UTC) is at most a
// day from the day of t, which may be any time of its day: the terminal's
// local date and the host's may differ by a time zone.
func withinADay(date, t time.Time) bool {
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	diff := date.Sub(day)
	return diff >= -24*time.Hour && diff <= 24*time.Hour
}
