package hceapp

import (
	"fmt"
	"io"
	"time"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/provision/wire"
)

// KeySource is the card's keys as the key source of an EMV application
// (cards/emvapp) on the phone, so that a terminal's kernel taps the phone
// over APDUs; each transaction takes the oldest key, used once.
//
// A visa-cloud card's: the ATC is the card's next, the IAD the visa-cloud
// one naming the key and recording the phone's cardholder verification in
// the CVR, the cryptogram the limited-use key's (emv/cloud). An mc-cloud
// card's: the ATC is the key pair's, the SUK is unlocked with pin(), the
// mobile PIN the cardholder typed for this tap (required; the phone cannot
// tell a wrong one), and the IAD carries the MD cryptogram. With no key
// left, Next fails with ErrNoKeys.
func (c *Card) KeySource(pin func() string) (emvapp.IADSource, error) {
	switch c.profile.CVN {
	case wire.HCECVNVisaCloud:
		return &keySource{c: c}, nil
	case wire.HCECVNMCCloud:
		if pin == nil {
			return nil, fmt.Errorf("%w: an mc-cloud key source needs the mobile PIN", ErrBatch)
		}
		return &mcKeySource{c: c, pin: pin}, nil
	}
	return nil, fmt.Errorf("%w: cryptogram version %q", ErrBatch, c.profile.CVN)
}

// mcKeySource is the key source of an mc-cloud card.
type mcKeySource struct {
	c     *Card
	pin   func() string
	cur   *sukEntry
	final []byte
}

// Next takes the oldest key pair; its ATC is the transaction's.
func (s *mcKeySource) Next(uint16) (uint16, error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s.cur, s.final = nil, nil
	if len(c.suks) == 0 {
		return 0, ErrNoKeys
	}
	k := c.suks[0]
	c.suks = c.suks[1:]
	c.spend = append(c.spend, cloud.SUKID(k.atc))
	s.cur = &k
	return k.atc, nil
}

// IAD is the mc-cloud IAD template, the MD field to be filled by AC.
func (s *mcKeySource) IAD(atc uint16, cid byte, _ bool) ([]byte, error) {
	if s.cur == nil || atc != s.cur.atc {
		return nil, fmt.Errorf("hceapp: no key taken for ATC %04X", atc)
	}
	var cvr [cloud.CVRLength]byte
	cvr[1] = cid & 0xC0 >> 2
	return cloud.MCIAD(s.c.profile.DKI, cvr, [cloud.MDLength]byte{}), nil
}

// AC makes both cryptograms, once: the UMD one is 9F26, the MD one goes in
// the final IAD.
func (s *mcKeySource) AC(_ *cryptogram.CVN, atc uint16, tags cryptogram.Source) ([]byte, error) {
	if s.cur == nil || atc != s.cur.atc {
		return nil, fmt.Errorf("hceapp: no key taken for ATC %04X", atc)
	}
	k := s.cur
	s.cur = nil
	umd, err := cloud.UnlockSUK(k.suk, s.pin(), s.c.profile.Salt, s.c.profile.TokenRef)
	if err != nil {
		return nil, fmt.Errorf("hceapp: unlock: %w", err)
	}
	ac, iad, err := cloud.GenerateMC(k.md, umd, tags)
	if err != nil {
		return nil, fmt.Errorf("hceapp: cryptogram: %w", err)
	}
	s.final = iad
	return ac, nil
}

// FinalIAD is the IAD with the MD cryptogram of the last AC.
func (s *mcKeySource) FinalIAD() []byte { return s.final }

// String shows the count of keys left.
func (s *mcKeySource) String() string {
	return fmt.Sprintf("single-use key pairs: %d left", s.c.KeysLeft())
}

// GoString is String, so that %#v shows no key.
func (s *mcKeySource) GoString() string { return s.String() }

type keySource struct {
	c   *Card
	cur *lukEntry
	atc uint16
}

// Next takes the oldest key.
func (s *keySource) Next(uint16) (uint16, error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s.cur = nil
	if len(c.keys) == 0 {
		return 0, ErrNoKeys
	}
	k := c.keys[0]
	c.keys = c.keys[1:]
	c.spend = append(c.spend, k.ki.String())
	c.atc++
	s.cur, s.atc = &k, c.atc
	return c.atc, nil
}

// IAD is the visa-cloud IAD of the key Next took.
func (s *keySource) IAD(atc uint16, cid byte, cdcvm bool) ([]byte, error) {
	if s.cur == nil || atc != s.atc {
		return nil, fmt.Errorf("hceapp: no key taken for ATC %04X", atc)
	}
	var cvr [cloud.CVRLength]byte
	cvr[1] = cid & 0xC0 >> 2 // the cryptogram type returned (MODEL)
	if cdcvm {
		cvr[0] |= cloud.CVRCDCVM
	}
	return cloud.VisaIAD(s.c.profile.DKI, cvr, s.cur.ki), nil
}

// AC is the key's cryptogram, once.
func (s *keySource) AC(_ *cryptogram.CVN, atc uint16, tags cryptogram.Source) ([]byte, error) {
	if s.cur == nil || atc != s.atc {
		return nil, fmt.Errorf("hceapp: no key taken for ATC %04X", atc)
	}
	k := s.cur
	s.cur = nil
	ac, err := cloud.GenerateLUKAC(k.luk, tags)
	if err != nil {
		return nil, fmt.Errorf("hceapp: cryptogram: %w", err)
	}
	return ac, nil
}

// String shows the count of keys left.
func (s *keySource) String() string { return fmt.Sprintf("limited-use keys: %d left", s.c.KeysLeft()) }

// GoString is String, so that %#v shows no key.
func (s *keySource) GoString() string { return s.String() }

// The applications the phone's cloud cards answer to.
var (
	VisaAID = []byte{0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10}
	MCAID   = []byte{0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10}
)

// AppConfig is the EMV application of the card on the phone: the emulated
// data of the download (cloud account number, expiry, PSN, DKI) and
// KeySource(pin), on the qVSDC path for a visa-cloud card and the M/Chip
// path for an mc-cloud one (their CVN, visa18 or mc21, only chooses the
// path: the cryptograms and IAD are the cloud ones). holder is the phone's
// cardholder verification (cards/phone.Phone.Holder), rnd its random
// source, pin the mobile PIN typed at the tap (mc-cloud only). The caller
// may set more (label, ODA, form factor). Install it on an HCE phone
// (cards/phone, Kind HCE, CloudKeys the card), which verifies its holder
// before every tap (R-S2e).
func (c *Card) AppConfig(holder emvapp.Holder, rnd io.Reader, pin func() string) (emvapp.Config, error) {
	ks, err := c.KeySource(pin)
	if err != nil {
		return emvapp.Config{}, err
	}
	p := c.profile
	if len(p.Expiry) != 4 {
		return emvapp.Config{}, fmt.Errorf("%w: expiry", ErrBatch)
	}
	exp := emvapp.Date{Year: 2000 + int(p.Expiry[0]-'0')*10 + int(p.Expiry[1]-'0'), Month: time.Month(int(p.Expiry[2]-'0')*10 + int(p.Expiry[3]-'0'))}
	cfg := emvapp.Config{
		Scheme: emvapp.Visa, AID: VisaAID, Label: "VISA CLOUD", Priority: 1,
		PAN: p.AccountNumber, PSN: p.PSN, Expiry: exp, Name: "TAPSIM/HCE",
		DKI: p.DKI, Keys: ks, FormFactor: []byte{0x23, 0x88, 0x00, 0x00},
		Holder: holder, Rand: rnd,
	}
	cvn := "visa18"
	if p.CVN == wire.HCECVNMCCloud {
		cvn, cfg.Scheme, cfg.AID, cfg.Label, cfg.FormFactor = "mc21", emvapp.Mastercard, MCAID, "MASTERCARD CLOUD", nil
	}
	if cfg.CVN, err = cryptogram.Lookup(cvn); err != nil {
		return emvapp.Config{}, fmt.Errorf("hceapp: %w", err)
	}
	return cfg, nil
}
