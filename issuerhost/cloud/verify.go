package cloud

import (
	"errors"
	"fmt"
	"time"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/hsm"
)

// TapReason is the machine-readable reason a cloud-payment tap is
// refused by the issuer's cryptogram check.
type TapReason string

// The refusals of Verifier.Verify, one per cause.
const (
	// TapIADInvalid: 9F10 is not a cloud IAD, or names the other model
	// than the card's.
	TapIADInvalid TapReason = "cloud_iad_invalid"
	// TapKeyNotIssued: no key of that index (visa-cloud) or ATC
	// (mc-cloud) was ever issued for the card account.
	TapKeyNotIssued TapReason = "cloud_key_not_issued"
	// TapKeyOtherDevice: the key was issued to another phone than the one
	// the transaction names.
	TapKeyOtherDevice TapReason = "cloud_key_other_device"
	// TapDeviceSuspended: the key's phone is suspended (lost, R-C1).
	TapDeviceSuspended TapReason = "cloud_device_suspended"
	// TapKeyUsed: the key served its transaction count already (R-S5b).
	TapKeyUsed TapReason = "cloud_key_used"
	// TapKeyExpired: the key is past its time to live.
	TapKeyExpired TapReason = "cloud_key_expired"
	// TapCryptogramInvalid: the visa-cloud cryptogram is not the one the
	// key of its index gives.
	TapCryptogramInvalid TapReason = "cloud_cryptogram_invalid"
	// TapMDInvalid: the mc-cloud MD cryptogram is not this card's.
	TapMDInvalid TapReason = "cloud_md_cryptogram_invalid"
	// TapPINLocked: the phone's card is locked after MaxPINTries
	// consecutive wrong mobile PINs until the issuer's service centre
	// resets it (R-G3c).
	TapPINLocked TapReason = "cloud_mobile_pin_locked"
	// TapCardholderNotVerified: the cardholder was not verified (R-S2e):
	// a visa-cloud cryptogram without CDCVM, or an mc-cloud UMD
	// cryptogram that fails while the MD one holds (wrong mobile PIN).
	TapCardholderNotVerified TapReason = "cloud_cardholder_not_verified"
)

// Requirement is the rule of the standard a refusal applies.
func (r TapReason) Requirement() string {
	switch r {
	case TapKeyUsed, TapKeyExpired, TapKeyNotIssued:
		return "R-S5b"
	case TapKeyOtherDevice:
		return "R-S5d"
	case TapDeviceSuspended:
		return "R-C1"
	case TapCardholderNotVerified:
		return "R-S2e"
	case TapPINLocked:
		return "R-G3c"
	}
	return "R-G2"
}

// ResponseCode is the ISO 8583 response code (DE39) of the refusal.
func (r TapReason) ResponseCode() string {
	switch r {
	case TapDeviceSuspended:
		return "62" // restricted card
	case TapKeyNotIssued, TapKeyUsed, TapKeyExpired, TapKeyOtherDevice, TapCryptogramInvalid, TapMDInvalid:
		return "82" // cryptogram failure
	case TapCardholderNotVerified:
		return "55" // cardholder verification failed
	case TapPINLocked:
		return "75" // allowable number of PIN tries exceeded
	}
	return "30" // format error
}

// ErrTap is what every refusal of Verifier.Verify wraps.
var ErrTap = errors.New("cloud: tap refused")

// TapError is a refused tap: its reason and a message that names no key,
// PAN or cryptogram.
type TapError struct {
	Reason  TapReason
	Message string
}

// Error implements error.
func (e *TapError) Error() string {
	return "cloud: tap refused: " + string(e.Reason) + ": " + e.Message
}

// Is matches ErrTap and another *TapError of the same reason.
func (e *TapError) Is(target error) bool {
	if target == ErrTap {
		return true
	}
	var t *TapError
	return errors.As(target, &t) && t.Reason == e.Reason
}

func refuseTap(r TapReason, format string, args ...any) *TapError {
	return &TapError{Reason: r, Message: fmt.Sprintf(format, args...)}
}

// VerifierHSM is the part of the security module the Verifier uses.
type VerifierHSM interface {
	Lookup(label string) (hsm.Handle, error)
	VerifyLUKCryptogram(imk hsm.Handle, pan, psn string, api uint16, ki emvcloud.KeyIndex, tags cryptogram.Source, ac []byte) error
	VerifyMCCryptograms(mkMD, mkUMD hsm.Handle, pan, psn string, tags cryptogram.Source, ac []byte) (emvcloud.Verdict, error)
}

// CloudCard is what the issuer knows of a card account served by the
// cloud platform: its reference in the ledger, the account number and PSN
// the keys derive from, and the labels of its master keys in the
// security module.
type CloudCard struct {
	Ref      string
	PAN, PSN string
	// CVN is emvcloud.CVNVisaCloud or emvcloud.CVNMCCloud.
	CVN byte
	// IMK labels the issuer master key of the visa-cloud keys.
	IMK string
	// MKMD and MKUMD label the two issuer master keys of mc-cloud.
	MKMD, MKUMD string
}

// Tap is one cloud-payment transaction as the issuer receives it.
type Tap struct {
	Card CloudCard
	// Tags are the transaction's ICC data (DE55) and the terminal's data
	// the cryptogram covers.
	Tags cryptogram.Source
	// AC is the application cryptogram (9F26).
	AC []byte
	// DeviceID is the phone the transaction names (a claim); empty when
	// none. A key issued to another phone is refused.
	DeviceID string
	// Store, when set, takes the ledger's writes of this tap (the key's
	// use, the mobile PIN count) in the authorisation's transaction
	// instead of the ledger's own store; a ledger kept in memory only
	// ignores it.
	Store LedgerStore
}

// Verified is an accepted tap: the phone the key was issued to and the
// key, and that the cardholder was verified (from the cryptography only).
type Verified struct {
	DeviceID           string
	Kind               KeyKind
	KeyID              string
	CardholderVerified bool
}

// Verifier is the issuer's check of cloud-payment cryptograms (R-S2e,
// R-S5b): it finds the key the IAD (visa-cloud key index) or the ATC
// (mc-cloud) names in the Ledger, refuses a key never issued, issued to
// another phone, of a suspended phone, used up or expired, verifies the
// cryptogram(s) inside the security module, takes "cardholder verified"
// only from what the cryptogram authenticates, and counts the key's use.
type Verifier struct {
	// HSM verifies the cryptograms.
	HSM VerifierHSM
	// Ledger holds the issued keys.
	Ledger *Ledger
	// Validity is the limited-use key rule (emvcloud.DefaultValidity
	// when zero); mc-cloud keys serve once and live as long.
	Validity emvcloud.Validity
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) validity() emvcloud.Validity {
	if v.Validity.MaxTransactions == 0 && v.Validity.TimeToLive == 0 {
		return emvcloud.DefaultValidity
	}
	return v.Validity
}

// Verify decides on one tap. A refusal is a *TapError (wrapping ErrTap);
// any other error is a failure of the security module or the input. On
// TapCardholderNotVerified alone the key and its phone are authentic and
// Verified names them (with CardholderVerified false), for a host that
// accepts another verification (an online PIN) instead.
func (v *Verifier) Verify(t Tap) (Verified, error) {
	if v.HSM == nil || v.Ledger == nil {
		return Verified{}, fmt.Errorf("cloud: verifier: security module and ledger are required")
	}
	raw, _ := tagValue(t.Tags, cryptogram.TagIssuerAppData)
	iad, err := emvcloud.ParseIAD(raw)
	if err != nil || iad.CVN != t.Card.CVN {
		return Verified{}, refuseTap(TapIADInvalid, "9F10 is not the card's cloud IAD")
	}
	if iad.CVN == emvcloud.CVNVisaCloud {
		return v.verifyLUK(t, iad)
	}
	return v.verifyMC(t)
}

func tagValue(s cryptogram.Source, tag uint32) ([]byte, bool) {
	if s == nil {
		return nil, false
	}
	return s.Value(tag)
}

// check applies the ledger's refusals to a key found (or not).
func (v *Verifier) check(t Tap, k *IssuedKey, what string) error {
	if k == nil {
		return refuseTap(TapKeyNotIssued, "%s was never issued for card %s", what, t.Card.Ref)
	}
	d := v.Ledger.devices[deviceKey{k.CardRef, k.DeviceID}]
	if d.Suspended {
		return refuseTap(TapDeviceSuspended, "%s belongs to a suspended phone", what)
	}
	if d.PINLocked {
		return refuseTap(TapPINLocked, "%s belongs to a phone locked by wrong mobile PINs", what)
	}
	return nil
}

// checkDevice refuses a tap whose device claim names another phone than
// the one k was issued to. It runs only once the cryptogram verified: a
// claim next to a cryptogram that fails gets the cryptogram's refusal,
// never its own (nothing is learnt of whose key an index is).
func checkDevice(t Tap, k *IssuedKey, what string) error {
	if t.DeviceID != "" && t.DeviceID != k.DeviceID {
		return refuseTap(TapKeyOtherDevice, "%s was issued to another phone", what)
	}
	return nil
}

// useLocked counts a use of k, in the ledger's store first.
func (v *Verifier) useLocked(st LedgerStore, k *IssuedKey) error {
	id, err := idOf(*k)
	if err != nil {
		return err
	}
	u := *k
	u.Used++
	if err := v.Ledger.putKeyIn(st, id, u); err != nil {
		return fmt.Errorf("cloud: verify: %w", err)
	}
	return nil
}

func (v *Verifier) verifyLUK(t Tap, iad emvcloud.IAD) (Verified, error) {
	ki := iad.KeyIndex
	what := "key " + ki.String()
	l := v.Ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	k, err := l.refreshLocked(t.Store, ledgerKey{KindLUK, t.Card.Ref, ki.Uint32()})
	if err != nil {
		return Verified{}, fmt.Errorf("cloud: verify: %w", err)
	}
	if err := v.check(t, k, what); err != nil {
		return Verified{}, err
	}
	switch err := v.validity().Check(ki, k.Used, v.now()); {
	case errors.Is(err, emvcloud.ErrKeyUsedUp):
		return Verified{}, refuseTap(TapKeyUsed, "%s served its transactions", what)
	case errors.Is(err, emvcloud.ErrKeyExpired), errors.Is(err, emvcloud.ErrKeyIndex):
		return Verified{}, refuseTap(TapKeyExpired, "%s is past its time to live", what)
	case err != nil:
		return Verified{}, fmt.Errorf("cloud: verify: %w", err)
	}
	imk, err := v.HSM.Lookup(t.Card.IMK)
	if err != nil {
		return Verified{}, fmt.Errorf("cloud: verify: %w", err)
	}
	err = v.HSM.VerifyLUKCryptogram(imk, t.Card.PAN, t.Card.PSN, k.API, ki, t.Tags, t.AC)
	switch {
	case errors.Is(err, hsm.ErrVerify), errors.Is(err, hsm.ErrInput):
		return Verified{}, refuseTap(TapCryptogramInvalid, "the cryptogram of %s does not verify", what)
	case err != nil:
		return Verified{}, fmt.Errorf("cloud: verify: %w", err)
	}
	// The key served: count it whatever comes next.
	if err := v.useLocked(t.Store, k); err != nil {
		return Verified{}, err
	}
	if err := checkDevice(t, k, what); err != nil {
		return Verified{}, err
	}
	out := Verified{DeviceID: k.DeviceID, Kind: KindLUK, KeyID: ki.String(), CardholderVerified: iad.CDCVM()}
	if !out.CardholderVerified {
		return out, refuseTap(TapCardholderNotVerified, "the phone did not verify the cardholder")
	}
	return out, nil
}

func (v *Verifier) verifyMC(t Tap) (Verified, error) {
	raw, _ := tagValue(t.Tags, cryptogram.TagATC)
	if len(raw) != 2 {
		return Verified{}, refuseTap(TapIADInvalid, "no ATC")
	}
	atc := uint16(raw[0])<<8 | uint16(raw[1])
	what := fmt.Sprintf("key of ATC %d", atc)
	l := v.Ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	k, err := l.refreshLocked(t.Store, ledgerKey{KindSUK, t.Card.Ref, uint32(atc)})
	if err != nil {
		return Verified{}, fmt.Errorf("cloud: verify: %w", err)
	}
	if err := v.check(t, k, what); err != nil {
		return Verified{}, err
	}
	if k.Used > 0 {
		return Verified{}, refuseTap(TapKeyUsed, "%s served its transaction", what)
	}
	if !v.now().Before(k.IssuedAt.Add(v.validity().TimeToLive)) {
		return Verified{}, refuseTap(TapKeyExpired, "%s is past its time to live", what)
	}
	md, err := v.HSM.Lookup(t.Card.MKMD)
	if err != nil {
		return Verified{}, fmt.Errorf("cloud: verify: %w", err)
	}
	umd, err := v.HSM.Lookup(t.Card.MKUMD)
	if err != nil {
		return Verified{}, fmt.Errorf("cloud: verify: %w", err)
	}
	verdict, err := v.HSM.VerifyMCCryptograms(md, umd, t.Card.PAN, t.Card.PSN, t.Tags, t.AC)
	if !verdict.MD {
		if err == nil || errors.Is(err, hsm.ErrVerify) || errors.Is(err, hsm.ErrInput) {
			return Verified{}, refuseTap(TapMDInvalid, "the MD cryptogram of %s does not verify", what)
		}
		return Verified{}, fmt.Errorf("cloud: verify: %w", err)
	}
	// The phone held the key: it is spent whatever the UMD cryptogram says.
	if err := v.useLocked(t.Store, k); err != nil {
		return Verified{}, err
	}
	if err := checkDevice(t, k, what); err != nil {
		return Verified{}, err
	}
	out := Verified{DeviceID: k.DeviceID, Kind: KindSUK, KeyID: emvcloud.SUKID(atc), CardholderVerified: verdict.CardholderVerified()}
	// The UMD cryptogram is the mobile PIN's: count the wrong ones (R-G3c).
	if err := l.pinResultLocked(t.Store, k.CardRef, k.DeviceID, out.CardholderVerified); err != nil {
		return Verified{}, fmt.Errorf("cloud: verify: %w", err)
	}
	if !out.CardholderVerified {
		return out, refuseTap(TapCardholderNotVerified, "the UMD cryptogram of %s does not verify", what)
	}
	return out, nil
}
