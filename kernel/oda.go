package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// ErrODAData reports data offline data authentication needs that the card
// did not give, or gave malformed.
var ErrODAData = errors.New("kernel: offline data authentication data missing or malformed")

// StaticData accumulates the static data to be authenticated while records
// are read (EMV Book 3 section 10.3): for records the AFL marks for offline
// data authentication, the value of template 70 for SFI 1 to 10, the whole
// record for SFI 11 to 30. A record of SFI 1 to 10 that is not template 70
// makes authentication fail.
type StaticData struct {
	buf bytes.Buffer
	bad bool
}

// Add appends a record read from sfi. record is the response data (the
// record template, without status word).
func (s *StaticData) Add(sfi byte, record []byte) {
	if sfi >= 11 {
		s.buf.Write(record)
		return
	}
	l, err := tlv.Decode(record)
	if err != nil || len(l) != 1 || l[0].Tag != 0x70 {
		s.bad = true
		return
	}
	s.buf.Write(l[0].Value)
}

// Bytes returns the static data with the AIP appended when the SDA Tag List
// (9F4A) asks for it. It fails when a record was not a template 70, or the
// SDA Tag List names anything but the AIP (tag 82), which Book 3 10.3
// forbids.
func (s *StaticData) Bytes(card tlv.Map) ([]byte, error) {
	if s.bad {
		return nil, fmt.Errorf("%w: a record for offline data authentication is not template 70", ErrODAData)
	}
	out := append([]byte(nil), s.buf.Bytes()...)
	if list, ok := card[0x9F4A]; ok && len(list) > 0 {
		if !bytes.Equal(list, []byte{0x82}) {
			return nil, fmt.Errorf("%w: SDA tag list names tags other than the AIP", ErrODAData)
		}
		aip, ok := card[0x82]
		if !ok {
			return nil, fmt.Errorf("%w: AIP missing", ErrODAData)
		}
		out = append(out, aip...)
	}
	return out, nil
}

// RID returns the first five bytes of an AID.
func RID(aid []byte) ([5]byte, bool) {
	var r [5]byte
	if len(aid) < 5 {
		return r, false
	}
	copy(r[:], aid)
	return r, true
}

// PAN returns the application PAN digits from 5A, or from the track 2
// equivalent data (57) when 5A is absent.
func PAN(card tlv.Map) (string, bool) {
	if v, ok := card[0x5A]; ok {
		p := digitsOf(v, false)
		return p, p != ""
	}
	if v, ok := card[0x57]; ok {
		p := digitsOf(v, true)
		return p, p != ""
	}
	return "", false
}

// RecoverICCKey recovers the card's ICC public key for DDA, fDDA or CDA
// (EMV Book 2 sections 6.2 to 6.4): it looks up the CA public key by the
// RID of aid and the CA Public Key Index (8F), recovers the issuer public
// key from 90, 92 and 9F32, then the ICC public key from 9F46, 9F48 and 9F47
// over staticData. Missing data gives ErrODAData; failed checks give the
// emv/oda errors. now is the transaction date.
func RecoverICCKey(cfg *Config, aid []byte, card tlv.Map, staticData []byte, now time.Time) (*oda.ICCPublicKey, error) {
	rid, ok := RID(aid)
	if !ok {
		return nil, fmt.Errorf("%w: AID too short for a RID", ErrODAData)
	}
	idx, ok := card[0x8F]
	if !ok || len(idx) != 1 {
		return nil, fmt.Errorf("%w: CA public key index (8F)", ErrODAData)
	}
	for _, t := range []tlv.Tag{0x90, 0x9F32, 0x9F46, 0x9F47} {
		if _, ok := card[t]; !ok {
			return nil, fmt.Errorf("%w: tag %s", ErrODAData, t)
		}
	}
	pan, ok := PAN(card)
	if !ok {
		return nil, fmt.Errorf("%w: application PAN", ErrODAData)
	}
	ca, err := cfg.LookupCAKey(rid, idx[0], now)
	if err != nil {
		return nil, err
	}
	issuer, err := oda.RecoverIssuerPublicKey(ca, oda.Certificate{
		Data:      card[0x90],
		Remainder: card[0x92],
		Exponent:  card[0x9F32],
	}, pan, now)
	if err != nil {
		return nil, err
	}
	return oda.RecoverICCPublicKey(issuer.PublicKey, oda.Certificate{
		Data:      card[0x9F46],
		Remainder: card[0x9F48],
		Exponent:  card[0x9F47],
	}, pan, staticData, now)
}

// LookupCAKey finds the CA public key for rid and index among
// CAPublicKeys. When AcceptTestCA is set and the RID has no key with that
// index, the key with that index under the test CA's RID (oda.TestRID) is
// used: the virtual cards of this project carry scheme AIDs but are
// certified by the project's test CA. A key found nowhere is reported under
// the card's own RID and index (A000000004/05), never the test CA's: that is
// the key a terminal operator must load.
func (c *Config) LookupCAKey(rid [5]byte, index byte, now time.Time) (oda.CAPublicKey, error) {
	store, err := oda.NewCAStore(c.CAPublicKeys...)
	if err != nil {
		return oda.CAPublicKey{}, err
	}
	k, err := store.Lookup(rid, index, now)
	if err != nil && c.AcceptTestCA && rid != oda.TestRID && errors.Is(err, oda.ErrUnknownCA) {
		tk, terr := store.Lookup(oda.TestRID, index, now)
		if terr == nil || !errors.Is(terr, oda.ErrUnknownCA) {
			return tk, terr
		}
	}
	return k, err
}

// ODAReason gives a failure reason for an Outcome: the error's text, which
// the oda and kernel packages keep free of card data and keys.
func ODAReason(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
