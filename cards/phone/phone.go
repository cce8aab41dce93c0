// Package phone models the payment side of a mobile phone: a wallet with a
// passcode and biometric cardholder verification (consumer device CVM), a
// card function the holder switches on and off, and one of three ways of
// holding the card:
//
//   - SE phone: the card applet lives in the issuer's Security Domain of a
//     virtual secure element (package se), personalised with its ICC master
//     key; the firewall keeps it from other domains (R-G5d);
//   - HCE phone: the phone holds emulated card data only, a cloud token PAN
//     and limited-use keys its issuer app downloaded from the cloud
//     platform (cards/hceapp), never a master key (R-S5c); each key pays
//     once (R-S5b); with none left the phone does not offer the card at all
//     and asks for replenishment; every tap needs CDCVM (R-S2e); the keys
//     were issued to its hardware device ID (R-S5d);
//   - wallet phone: a tokenised card (token PAN and expiry, token
//     cryptograms from the token's own keys) with CDCVM.
//
// Rules enforced here:
//
//   - R-G3a, R-G3b: the passcode is checked by package passcode;
//   - R-G3c: 5 consecutive wrong entries lock the wallet: no verification,
//     no payment, no PAN look-up, until IssuerReset;
//   - R-S2b: with the card function off the phone answers no payment
//     application: the PPSE and SELECT get '6A82';
//   - R-S2c: LookupPAN shows the PAN masked (first 6 and last 4 digits at
//     most); RevealPAN shows it whole only after a verification; the wallet
//     holds no card security code at all;
//   - R-S2e: an HCE phone's verification serves one tap only.
//
// A verification (Unlock, UnlockBiometric) serves taps for Config.Validity
// on an SE or wallet phone (measured with the injected clock), and a single
// tap on an HCE phone.
package phone

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tapsim/tapsim/cards/chip"
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/passcode"
	"github.com/tapsim/tapsim/cards/se"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
)

// Kind is how the phone holds the card.
type Kind int

const (
	// SE is a secure-element phone.
	SE Kind = iota + 1
	// HCE is a host card emulation phone with limited-use keys.
	HCE
	// Wallet is a tokenised wallet phone.
	Wallet
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case SE:
		return "se-phone"
	case HCE:
		return "hce-phone"
	case Wallet:
		return "wallet-phone"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Sentinel errors.
var (
	// ErrNoBiometric reports a biometric verification on a phone with no
	// biometric enrolled.
	ErrNoBiometric = errors.New("phone: no biometric enrolled")
	// ErrBiometric reports a biometric that did not match.
	ErrBiometric = errors.New("phone: biometric did not match")
	// ErrNotVerified reports an operation that needs a verification first
	// (R-S2c).
	ErrNotVerified = errors.New("phone: cardholder not verified")
	// ErrKind reports an operation the kind of phone does not have.
	ErrKind = errors.New("phone: not available on this kind of phone")
	// ErrConfig reports a phone configuration that cannot work.
	ErrConfig = errors.New("phone: bad configuration")
)

// Event is something the phone tells its holder.
type Event int

const (
	// EventVerifyToPay: a tap was declined because the holder must verify
	// on the phone first (See Phone).
	EventVerifyToPay Event = iota + 1
	// EventReplenish: the HCE phone is out of (or low on) single-use keys
	// and asks the cloud platform for more.
	EventReplenish
	// EventCardOff: a terminal was presented while the card function was
	// off (R-S2b).
	EventCardOff
	// EventLocked: the wallet passcode is locked (R-G3c).
	EventLocked
	// EventPaid: the phone returned a cryptogram (the terminal decides).
	EventPaid
	// EventNoKeys: an HCE phone was tapped with no single-use key left;
	// it answered "see phone" and asks its holder to replenish.
	EventNoKeys
)

// String describes the event as the phone would show it.
func (e Event) String() string {
	switch e {
	case EventVerifyToPay:
		return "verify on the phone, then tap again"
	case EventReplenish:
		return "payment keys running out: replenish"
	case EventCardOff:
		return "card function is off"
	case EventLocked:
		return "wallet locked: contact the issuer"
	case EventPaid:
		return "payment sent"
	case EventNoKeys:
		return "no keys left: replenish"
	}
	return fmt.Sprintf("Event(%d)", int(e))
}

// Config sets up a phone.
type Config struct {
	Kind Kind
	// Passcode is the wallet passcode (R-G3a, R-G3b).
	Passcode string
	// Biometric says a biometric (fingerprint, face) is enrolled.
	Biometric bool
	// Validity is how long a verification serves taps on an SE or wallet
	// phone; 0 means one tap. HCE phones always use one tap (R-S2e).
	Validity time.Duration
	// AlwaysVerify makes every tap need CDCVM; HCE phones always do.
	AlwaysVerify bool
	// LowWater is the number of single-use keys at or below which an HCE
	// phone asks for replenishment.
	LowWater int
	// ATR is the phone's Answer To Reset; nil means the generic one.
	ATR []byte
	// NoPPSE makes the phone answer '6A82' to the PPSE (the terminal must
	// select the application by its AID).
	NoPPSE bool
	// Clock gives the time (verification validity); nil means time.Now.
	Clock func() time.Time
	// Rand supplies salts and challenges; required.
	Rand io.Reader
	// CloudKeys counts the keys of the cloud-payment card an HCE phone
	// holds (cards/hceapp.Card), required for one: the phone offers no
	// card with no key left, and asks for replenishment at LowWater.
	CloudKeys interface{ KeysLeft() int }
}

// Phone is a virtual phone. Build it with New, add its card with InstallSE
// (SE phones) or Install; it is not safe for concurrent use.
type Phone struct {
	cfg      Config
	pass     *passcode.Passcode
	chip     *chip.Chip
	opts     []chip.Option
	apps     []*emvapp.App
	se       *se.SE
	on       bool
	verified bool
	until    time.Time
	events   []Event
}

// New returns a phone with the card function off and the holder not
// verified.
func New(cfg Config) (*Phone, error) {
	switch cfg.Kind {
	case SE, HCE, Wallet:
	default:
		return nil, fmt.Errorf("%w: unknown kind", ErrConfig)
	}
	if cfg.Rand == nil {
		return nil, fmt.Errorf("%w: no random source", ErrConfig)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Kind == HCE {
		if cfg.CloudKeys == nil {
			return nil, fmt.Errorf("%w: an HCE phone needs its cloud card's keys", ErrConfig)
		}
		cfg.AlwaysVerify = true
		cfg.Validity = 0
	}
	pc, err := passcode.New(cfg.Passcode, cfg.Rand)
	if err != nil {
		return nil, err
	}
	cfg.Passcode = "" // only the salted hash is kept
	p := &Phone{cfg: cfg, pass: pc}
	if cfg.ATR != nil {
		p.opts = append(p.opts, chip.WithATR(cfg.ATR))
	}
	if cfg.NoPPSE {
		p.opts = append(p.opts, chip.WithoutPPSE())
	}
	p.chip = chip.New(nil, p.opts...)
	p.chip.Filter = p.reachable
	if cfg.Kind == SE {
		p.se = se.New(cfg.Rand)
		isd, err := keys.Generate(keys.AES, 16, cfg.Rand)
		if err != nil {
			return nil, fmt.Errorf("phone: SE issuer key: %w", err)
		}
		if err := p.se.CreateDomain(ISDAID, "SE issuer", isd); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// ISDAID is the AID of the SE issuer's own security domain on SE phones.
var ISDAID = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00}

// Kind returns the kind of phone.
func (p *Phone) Kind() Kind { return p.cfg.Kind }

// Holder returns the phone's cardholder verification, to personalise the
// payment application with (emvapp.Config.Holder).
func (p *Phone) Holder() emvapp.Holder { return holder{p} }

// SE returns the secure element of an SE phone (nil otherwise).
func (p *Phone) SE() *se.SE { return p.se }

// InstallSE creates the issuer's security domain sdAID keyed with sdKey in
// the phone's secure element, and installs app in it through a session on
// that domain (SE phones only).
func (p *Phone) InstallSE(sdAID []byte, owner string, sdKey keys.Key, app *emvapp.App) error {
	if p.se == nil {
		return ErrKind
	}
	if err := p.se.CreateDomain(sdAID, owner, sdKey); err != nil {
		return err
	}
	s, err := p.se.Open(sdAID, sdKey)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Install(app); err != nil {
		return err
	}
	return p.add(app)
}

// Install adds the payment application of an HCE or wallet phone.
func (p *Phone) Install(app *emvapp.App) error {
	if p.cfg.Kind == SE {
		return fmt.Errorf("%w: SE phones install through their security domain (InstallSE)", ErrKind)
	}
	return p.add(app)
}

func (p *Phone) add(app *emvapp.App) error {
	if app == nil {
		return fmt.Errorf("%w: no application", ErrConfig)
	}
	p.apps = append(p.apps, app)
	apps := make([]chip.Application, len(p.apps))
	for i, a := range p.apps {
		apps[i] = a
	}
	p.chip = chip.New(apps, p.opts...)
	p.chip.Filter = p.reachable
	return nil
}

// Apps returns the phone's payment applications.
func (p *Phone) Apps() []*emvapp.App { return append([]*emvapp.App(nil), p.apps...) }

// reachable decides whether the terminal can reach an application now.
func (p *Phone) reachable(a chip.Application) bool {
	if !p.on || p.pass.Locked() {
		return false
	}
	if p.se != nil && p.se.Select(a.AID()) == nil {
		return false
	}
	return true
}

// hasKeys reports whether the phone pays with keys it must replenish.
func (p *Phone) hasKeys() bool { return p.cfg.CloudKeys != nil }

// ATR returns the phone's Answer To Reset.
func (p *Phone) ATR() []byte { return p.chip.ATR() }

// Reset is the phone leaving and entering the field.
func (p *Phone) Reset() { p.chip.Reset() }

// Process answers a C-APDU from a terminal. Before answering a SELECT of the
// PPSE it notes why it offers no card, if it offers none (card off,
// locked). An HCE phone with no single-use key left still offers its card
// but answers GET PROCESSING OPTIONS with 6986 ("see phone") and tells its
// holder to replenish, as a payment app does, rather than vanishing from
// the PPSE.
func (p *Phone) Process(capdu []byte) []byte {
	if len(capdu) >= 2 && capdu[1] == 0xA4 {
		switch {
		case !p.on:
			p.note(EventCardOff)
		case p.pass.Locked():
			p.note(EventLocked)
		}
	}
	if len(capdu) >= 2 && capdu[0] == 0x80 && capdu[1] == 0xA8 && p.on && !p.pass.Locked() && p.hasKeys() && p.KeysLeft() == 0 {
		p.note(EventNoKeys)
		return []byte{0x69, 0x86}
	}
	return p.chip.Process(capdu)
}

func (p *Phone) note(e Event) {
	if n := len(p.events); n > 0 && p.events[n-1] == e {
		return
	}
	p.events = append(p.events, e)
}

// Events returns what the phone told its holder, oldest first, and clears
// the list.
func (p *Phone) Events() []Event {
	out := p.events
	p.events = nil
	return out
}

// CardOn switches the card function on (R-S2b).
func (p *Phone) CardOn() { p.on = true }

// CardOff switches the card function off (R-S2b).
func (p *Phone) CardOff() { p.on = false }

// CardFunctionOn reports whether the card function is on.
func (p *Phone) CardFunctionOn() bool { return p.on }

// Unlock verifies the holder with the wallet passcode. A wrong entry returns
// the passcode package's error (with the tries left); the 5th in a row
// locks the wallet (R-G3c).
func (p *Phone) Unlock(code string) error {
	if err := p.pass.Verify(code); err != nil {
		if p.pass.Locked() {
			p.note(EventLocked)
		}
		return err
	}
	p.verify()
	return nil
}

// UnlockBiometric verifies the holder with the enrolled biometric; match
// says whether the sensor matched. A locked wallet refuses it too (R-G3c).
func (p *Phone) UnlockBiometric(match bool) error {
	switch {
	case p.pass.Locked():
		return passcode.ErrLocked
	case !p.cfg.Biometric:
		return ErrNoBiometric
	case !match:
		return ErrBiometric
	}
	p.verify()
	return nil
}

func (p *Phone) verify() {
	p.verified = true
	p.until = p.cfg.Clock().Add(p.cfg.Validity)
}

// Lock ends the current verification.
func (p *Phone) Lock() { p.verified = false }

// SetVerified sets the verification state directly, for restoring saved
// state and for test scenarios ("phone unlocked"); it has no effect on a
// locked wallet (R-G3c).
func (p *Phone) SetVerified(v bool) {
	if v && !p.pass.Locked() {
		p.verify()
		return
	}
	p.verified = false
}

// Verified reports whether a verification can serve the next tap.
func (p *Phone) Verified() bool {
	if !p.verified || p.pass.Locked() {
		return false
	}
	if p.cfg.Validity > 0 && p.cfg.Clock().After(p.until) {
		p.verified = false
		return false
	}
	return true
}

// Locked reports whether the wallet passcode is locked (R-G3c).
func (p *Phone) Locked() bool { return p.pass.Locked() }

// PasscodeFailures returns the consecutive wrong passcode entries.
func (p *Phone) PasscodeFailures() int { return p.pass.Failed() }

// SetPasscodeFailures restores the wrong-entry counter (saved state, test
// scenarios); 5 or more leaves the wallet locked.
func (p *Phone) SetPasscodeFailures(n int) {
	p.pass.SetFailed(n)
	if p.pass.Locked() {
		p.verified = false
	}
}

// IssuerReset is the issuer service centre's reset of a locked wallet, after
// it has verified the person (R-G3c): a new passcode, checked against R-G3a
// and R-G3b.
func (p *Phone) IssuerReset(newCode string) error { return p.pass.Reset(newCode, p.cfg.Rand) }

// ChangePasscode replaces the passcode after checking the current one.
func (p *Phone) ChangePasscode(current, next string) error {
	return p.pass.Change(current, next, p.cfg.Rand)
}

// LookupPAN shows the card number of each application masked as on a sales
// slip: the first 6 and last 4 digits, the rest as '*' (R-S2c).
func (p *Phone) LookupPAN() []string {
	out := make([]string, len(p.apps))
	for i, a := range p.apps {
		out[i] = MaskPAN(a.PAN())
	}
	return out
}

// RevealPAN shows the full card numbers after verifying the holder with the
// passcode (R-S2c). A wrong passcode counts towards the lock. There is no
// card security code to reveal: the wallet never holds one.
func (p *Phone) RevealPAN(code string) ([]string, error) {
	if err := p.Unlock(code); err != nil {
		return nil, err
	}
	return p.pans(), nil
}

// RevealPANBiometric is RevealPAN with the biometric.
func (p *Phone) RevealPANBiometric(match bool) ([]string, error) {
	if err := p.UnlockBiometric(match); err != nil {
		return nil, err
	}
	return p.pans(), nil
}

func (p *Phone) pans() []string {
	out := make([]string, len(p.apps))
	for i, a := range p.apps {
		out[i] = a.PAN()
	}
	return out
}

// MaskPAN is pan.Mask: the first 6 and last 4 digits at most.
func MaskPAN(p string) string { return pan.Mask(p) }

// KeysLeft returns the single-use keys an HCE phone holds (0 for others).
func (p *Phone) KeysLeft() int {
	if p.cfg.CloudKeys != nil {
		return p.cfg.CloudKeys.KeysLeft()
	}
	return 0
}

// NeedsReplenish reports whether an HCE phone should ask for more keys.
func (p *Phone) NeedsReplenish() bool {
	return p.cfg.CloudKeys != nil && p.cfg.CloudKeys.KeysLeft() <= p.cfg.LowWater
}

// String describes the phone without card data.
func (p *Phone) String() string {
	s := fmt.Sprintf("%v: card %s, %d application(s)", p.cfg.Kind, map[bool]string{true: "on", false: "off"}[p.on], len(p.apps))
	if p.Locked() {
		s += ", wallet locked"
	}
	if p.hasKeys() {
		s += fmt.Sprintf(", %d keys", p.KeysLeft())
	}
	return s
}

// GoString is String, so that %#v shows no card data.
func (p *Phone) GoString() string { return p.String() }

// String describes the configuration without the passcode.
func (c Config) String() string {
	return fmt.Sprintf("%v phone config (biometric %v, validity %v)", c.Kind, c.Biometric, c.Validity)
}

// GoString is String, so that %#v shows no passcode.
func (c Config) GoString() string { return c.String() }

// holder is the emvapp.Holder view of the phone.
type holder struct{ p *Phone }

// Verified reports whether the phone's verification can serve this tap.
func (h holder) Verified() bool { return h.p.Verified() }

// AlwaysVerify reports whether every tap needs CDCVM.
func (h holder) AlwaysVerify() bool { return h.p.cfg.AlwaysVerify }

// Done ends a transaction at the phone: the verification is spent when it
// served the tap and is good for one tap only (HCE, or no validity period);
// a decline that needs verification tells the holder.
func (h holder) Done(r emvapp.Result) {
	p := h.p
	if r.CDCVM && p.cfg.Validity == 0 {
		p.verified = false
	}
	if p.cfg.Kind == HCE {
		p.verified = false // R-S2e: before every tap
	}
	switch {
	case r.SeePhone:
		p.note(EventVerifyToPay)
	case r.CID != 0x00:
		p.note(EventPaid)
	}
	if p.NeedsReplenish() {
		p.note(EventReplenish)
	}
}
