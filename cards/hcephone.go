package cards

import (
	"fmt"
	"io"
	"time"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/hceapp"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/provision/wire"
)

// HCEPhoneOptions tune HCEPhone.
type HCEPhoneOptions struct {
	// MobilePIN gives the mobile PIN typed at each tap of an mc-cloud
	// card; nil means the profile's (PhoneProfile.MobilePIN).
	MobilePIN func() string
	// RequestorID is the token requestor the phone shows (9F19); empty
	// means the profile's.
	RequestorID string
	// PANLast4 are the funding card's last 4 digits the phone shows
	// (9F25); empty means the profile's.
	PANLast4 string
	// Clock is the phone's time; time.Now when nil.
	Clock func() time.Time
	// Rand supplies the phone's and the card's random numbers; required.
	Rand io.Reader
}

// HCEPhone builds the HCE phone of profile p (its passcode, CDCVM rules,
// ATR, token data) paying with card, a card an HCE app downloaded from a
// cloud platform (cards/hceapp), whatever its account number: the phone verifies its holder before
// every tap and counts the card's limited-use keys (R-S2e, R-S5b). An
// mc-cloud card also signs with CDA, its ICC key certified under the test
// CA as p's ODA settings name it. The phone's card function is off and
// its holder not verified: the caller sets its state.
func HCEPhone(p Profile, card *hceapp.Card, o HCEPhoneOptions) (*phone.Phone, error) {
	if p.Phone == nil {
		return nil, fmt.Errorf("%w: %s: an HCE phone needs phone settings", ErrProfile, p.Name)
	}
	if o.Rand == nil {
		return nil, fmt.Errorf("%w: %s: an HCE phone needs a random source", ErrProfile, p.Name)
	}
	var ap *AppProfile
	if p.App != nil {
		ap = p.App
	} else if len(p.Apps) == 1 {
		ap = &p.Apps[0]
	}
	cloudCard := card.Profile()
	pin := o.MobilePIN
	if pin == nil && cloudCard.CVN == wire.HCECVNMCCloud {
		if p.Phone.MobilePIN == "" {
			return nil, fmt.Errorf("%w: %s: an mc-cloud card needs the cardholder's mobile PIN", ErrProfile, p.Name)
		}
		typed := p.Phone.MobilePIN
		pin = func() string { return typed }
	}
	ph, err := phone.New(phone.Config{Kind: phone.HCE, CloudKeys: card, Passcode: p.Phone.Passcode,
		Biometric: p.Phone.Biometric, AlwaysVerify: p.Phone.AlwaysCDCVM, LowWater: p.Phone.LowWater,
		ATR: p.ATR, NoPPSE: p.PPSE != nil && !*p.PPSE, Clock: o.Clock, Rand: o.Rand})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrProfile, p.Name, err)
	}
	cfg, err := card.AppConfig(ph.Holder(), o.Rand, pin)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrProfile, p.Name, err)
	}
	if cloudCard.CVN == wire.HCECVNMCCloud {
		if ap == nil || ap.ODA == nil {
			return nil, fmt.Errorf("%w: %s names no ODA keys for an mc-cloud card", ErrProfile, p.Name)
		}
		od := ap.ODA
		iss, err := testca.Issuer(byte(od.CAIndex), od.IssuerKey, oda.IssuerTemplate{IssuerID: cloudCard.AccountNumber[:6],
			Expiry: emvapp.Date{Year: cfg.Expiry.Year + 2, Month: cfg.Expiry.Month}, Serial: [3]byte{0, 0, 1}})
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrProfile, p.Name, err)
		}
		icc, err := testca.ICCKey(od.ICCKey)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrProfile, p.Name, err)
		}
		cfg.ODA = &emvapp.ODA{CAIndex: byte(od.CAIndex), Issuer: iss, ICCKey: icc, ICCSerial: [3]byte{0, 0, 2}}
	}
	if ap != nil {
		if ap.Name != "" {
			cfg.Name = ap.Name
		}
		if t := ap.Token; t != nil {
			cfg.Token = &emvapp.Token{RequestorID: t.RequestorID, PANLast4: t.PANLast4}
			if o.RequestorID != "" {
				cfg.Token.RequestorID = o.RequestorID
			}
			if o.PANLast4 != "" {
				cfg.Token.PANLast4 = o.PANLast4
			}
		}
	}
	a, err := emvapp.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrProfile, p.Name, err)
	}
	if err := ph.Install(a); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrProfile, p.Name, err)
	}
	return ph, nil
}

// hceFromProfile builds the HCE phone of profile p from the storage of
// its issuer app (PhoneProfile.Storage), enrolled with a cloud platform:
// the card on it pays with the limited-use keys the platform downloaded,
// the cryptograms the issuer verifies through its key ledger. The state's
// keys left keeps that many of the oldest keys; the card's ATC is its
// keys', so an ATC in the state is refused.
func hceFromProfile(p Profile, o Options) (Card, error) {
	pp := p.Phone
	if pp == nil || pp.Storage == "" {
		return nil, fmt.Errorf("%w: %s: an HCE phone needs the storage of its app enrolled with a cloud platform (phone: storage)", ErrProfile, p.Name)
	}
	if len(p.Apps) > 1 || p.App != nil && len(p.Apps) > 0 {
		return nil, fmt.Errorf("%w: an HCE phone holds one card", ErrProfile)
	}
	st := p.State
	if st.ATC != 0 || st.LastOnlineATC != 0 || st.ConsecutiveOff != 0 {
		return nil, fmt.Errorf("%w: %s: an HCE phone's ATC is its limited-use keys', not the profile's state", ErrProfile, p.Name)
	}
	b, err := p.readFile("storage", pp.Storage)
	if err != nil {
		return nil, err
	}
	app, err := hceapp.Restore(hceapp.Config{Clock: o.Clock, Rand: o.Rand}, b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrProfile, pp.Storage, err)
	}
	cs := app.Cards()
	if len(cs) != 1 {
		return nil, fmt.Errorf("%w: %s: the phone holds %d cards, want one", ErrProfile, pp.Storage, len(cs))
	}
	card := cs[0]
	if ap := p.App; ap != nil {
		cp := card.Profile()
		if ap.PAN != "" && ap.PAN != cp.AccountNumber {
			return nil, fmt.Errorf("%w: %s: the phone's card is not the profile's account number", ErrProfile, pp.Storage)
		}
		if ap.CVN != "" && ap.CVN != cp.CVN {
			return nil, fmt.Errorf("%w: %s: the phone's card is of cryptogram version %s, the profile says %s", ErrProfile, pp.Storage, cp.CVN, ap.CVN)
		}
	}
	if st.KeysLeft != nil {
		card.KeepOldest(*st.KeysLeft)
	}
	ph, err := HCEPhone(p, card, HCEPhoneOptions{Clock: o.Clock, Rand: o.Rand})
	if err != nil {
		return nil, err
	}
	if st.CardOn == nil || *st.CardOn {
		ph.CardOn()
	}
	ph.SetPasscodeFailures(st.PasscodeFailures)
	ph.SetVerified(st.Unlocked)
	return ph, nil
}
