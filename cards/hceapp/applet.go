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

// KeySource is the card's limited-use keys as the key source of an EMV
// application (cards/emvapp) on the phone, so that a terminal's kernel
// taps the phone over APDUs: each transaction takes the oldest key (its
// ATC the card's next), the IAD is the visa-cloud one naming the key and
// recording the phone's cardholder verification in the CVR, and the
// cryptogram is the key's (emv/cloud). With no key left, Next fails with
// ErrNoKeys. Only visa-cloud cards have one (the mc-cloud cryptograms need
// the mobile PIN at the tap: use Pay).
func (c *Card) KeySource() (emvapp.IADSource, error) {
	if c.profile.CVN != wire.HCECVNVisaCloud {
		return nil, fmt.Errorf("%w: an EMV key source needs a visa-cloud card", ErrBatch)
	}
	return &keySource{c: c}, nil
}

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

// VisaAID is the application the phone's visa-cloud card answers to.
var VisaAID = []byte{0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10}

// AppConfig is the EMV application of a visa-cloud card on the phone:
// the emulated data of the download (cloud account number, expiry, PSN,
// DKI) and KeySource, on the qVSDC path (its CVN, visa18, only chooses the
// path: the cryptogram and IAD are the cloud ones). holder is the phone's
// cardholder verification (cards/phone.Phone.Holder), rnd its random
// source. The caller may set more (label, ODA, form factor). Install it
// on an HCE phone (cards/phone, Kind HCE, CloudKeys the card), which
// verifies its holder before every tap (R-S2e).
func (c *Card) AppConfig(holder emvapp.Holder, rnd io.Reader) (emvapp.Config, error) {
	ks, err := c.KeySource()
	if err != nil {
		return emvapp.Config{}, err
	}
	cvn, err := cryptogram.Lookup("visa18")
	if err != nil {
		return emvapp.Config{}, fmt.Errorf("hceapp: %w", err)
	}
	p := c.profile
	if len(p.Expiry) != 4 {
		return emvapp.Config{}, fmt.Errorf("%w: expiry", ErrBatch)
	}
	exp := emvapp.Date{Year: 2000 + int(p.Expiry[0]-'0')*10 + int(p.Expiry[1]-'0'), Month: time.Month(int(p.Expiry[2]-'0')*10 + int(p.Expiry[3]-'0'))}
	return emvapp.Config{
		Scheme: emvapp.Visa, AID: VisaAID, Label: "VISA CLOUD", Priority: 1,
		PAN: p.AccountNumber, PSN: p.PSN, Expiry: exp, Name: "TAPSIM/HCE",
		CVN: cvn, DKI: p.DKI, Keys: ks, FormFactor: []byte{0x23, 0x88, 0x00, 0x00},
		Holder: holder, Rand: rnd,
	}, nil
}
