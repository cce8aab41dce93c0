package emvapp_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
)

// ownIAD is a key source that writes its own 9F10 and records what the
// application told it.
type ownIAD struct {
	atc   uint16
	cid   byte
	cdcvm bool
	seen  []byte // the 9F10 AC was given
	fail  bool
}

func (s *ownIAD) Next(last uint16) (uint16, error) { s.atc = last + 1; return s.atc, nil }

func (s *ownIAD) IAD(atc uint16, cid byte, cdcvm bool) ([]byte, error) {
	if s.fail {
		return nil, errors.New("no key")
	}
	s.cid, s.cdcvm = cid, cdcvm
	return []byte{0x0A, 0xC1, 0x01, byte(atc)}, nil
}

func (s *ownIAD) AC(_ *cryptogram.CVN, _ uint16, tags cryptogram.Source) ([]byte, error) {
	s.seen, _ = tags.Value(cryptogram.TagIssuerAppData)
	return []byte{1, 2, 3, 4, 5, 6, 7, 8}, nil
}

// A key source that writes its own IAD (the cloud-payment keys) has it in
// the cryptogram's data and in the GPO response; one that cannot makes
// the card refuse the transaction.
func TestIADSource(t *testing.T) {
	src := &ownIAD{}
	cfg := visaConfig(t, "visa18")
	cfg.Keys = src
	cfg.Holder = &holder{verified: true, always: true}
	a := newApp(t, cfg)
	_, resp := gpo(t, a, newTx("000000001000"))
	require.Equal(t, apdu.SW9000, resp.SW)
	m := decode(t, resp.Data)
	require.Equal(t, []byte{0x0A, 0xC1, 0x01, 0x01}, m[0x9F10])
	require.Equal(t, m[0x9F10], src.seen)
	require.Equal(t, m[0x9F27][0], src.cid)
	require.True(t, src.cdcvm)

	src.fail = true
	_, resp = gpo(t, a, newTx("000000001000"))
	require.Equal(t, apdu.SW6985, resp.SW)
	var _ emvapp.IADSource = src
}

// finisher fills its IAD once the cryptogram is made.
type finisher struct{ ownIAD }

func (f *finisher) FinalIAD() []byte { return []byte{0x0A, 0xC2, 0x01, 0xFF} }

// A key source whose cryptogram completes the IAD has its final IAD sent,
// while the cryptogram's data held the first.
func TestIADFinisher(t *testing.T) {
	src := &finisher{}
	cfg := visaConfig(t, "visa18")
	cfg.Keys = src
	cfg.Holder = &holder{verified: true, always: true}
	a := newApp(t, cfg)
	_, resp := gpo(t, a, newTx("000000001000"))
	require.Equal(t, apdu.SW9000, resp.SW)
	m := decode(t, resp.Data)
	require.Equal(t, []byte{0x0A, 0xC2, 0x01, 0xFF}, m[0x9F10])
	require.Equal(t, []byte{0x0A, 0xC1, 0x01, 0x01}, src.seen)
	var _ emvapp.IADFinisher = src
}
