package kernel

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/tlv"
)

func hx(s string) []byte {
	b, err := ParseHexBytes(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseFCI(t *testing.T) {
	// 6F { 84 A0000000031010, A5 { 50 "VISA", 87 01, 9F38 9F6604 9F0206, BF0C { 9F4D 0B0A } } }
	fci := hx("6F 25 84 07 A0000000031010 A5 1A 50 04 56495341 87 01 01 9F38 06 9F6604 9F0206 BF0C 05 9F4D 02 0B0A")
	f, err := ParseFCI(fci)
	require.NoError(t, err)
	require.Equal(t, hx("A0000000031010"), f.DFName)
	require.Equal(t, "VISA", f.Label)
	require.Equal(t, byte(1), f.Priority)
	require.True(t, f.HasPDOL)
	require.Equal(t, tlv.DOL{{Tag: 0x9F66, Len: 4}, {Tag: 0x9F02, Len: 6}}, f.PDOL)
	require.Equal(t, hx("0B0A"), f.Data[0x9F4D])

	for name, b := range map[string][]byte{
		"not 6F":     hx("70 03 84 01 00"),
		"no A5":      hx("6F 03 84 01 00"),
		"truncated":  hx("6F 10 84 01"),
		"bad PDOL 2": hx("6F 0A 84 01 00 A5 05 9F38 02 9F66"),
	} {
		_, err := ParseFCI(b)
		require.Error(t, err, name)
	}
}

func TestParsePPSE(t *testing.T) {
	ppse := hx("6F 3B 84 0E 325041592E5359532E4444463031 A5 29 BF0C 26" +
		"61 10 4F 07 A0000000041010 87 01 02 9F2A 01 02" +
		"61 12 4F 07 A0000000031010 50 04 56495341 87 01 01")
	es, err := ParsePPSE(ppse)
	require.NoError(t, err)
	require.Len(t, es, 2)
	require.Equal(t, hx("A0000000041010"), es[0].ADFName)
	require.Equal(t, []byte{0x02}, es[0].KernelIdentifier)
	require.True(t, es[0].HasPriority)
	require.Equal(t, byte(2), es[0].Priority)
	require.Equal(t, 0, es[0].Order)
	require.Equal(t, "VISA", es[1].Label)
	require.Nil(t, es[1].KernelIdentifier, "absent kernel identifier")
	require.Equal(t, 1, es[1].Order)

	_, err = ParsePPSE(hx("6F 05 84 03 010203"))
	require.ErrorIs(t, err, ErrCardData)
	_, err = ParsePPSE(hx("6F 04 A5 02 50 00"))
	require.ErrorIs(t, err, ErrCardData, "no BF0C")
	_, err = ParsePPSE(hx("6F 04 A5"))
	var de *tlv.DecodeError
	require.True(t, errors.As(err, &de))
}

func TestCollectUnique(t *testing.T) {
	l, err := tlv.Decode(hx("77 0A 82 02 2000 94 04 10010301"))
	require.NoError(t, err)
	m := tlv.Map{}
	require.NoError(t, CollectUnique(m, l))
	require.Equal(t, hx("2000"), m[0x82])
	require.Equal(t, hx("10010301"), m[0x94])
	err = CollectUnique(m, tlv.List{{Tag: 0x82, Value: hx("0000")}})
	require.ErrorIs(t, err, ErrCardData, "the same tag twice")
}

func TestParseAFL(t *testing.T) {
	es, err := ParseAFL(hx("08010101 10010300"))
	require.NoError(t, err)
	require.Equal(t, []AFLEntry{{SFI: 1, First: 1, Last: 1, ODA: 1}, {SFI: 2, First: 1, Last: 3, ODA: 0}}, es)
	for name, b := range map[string]string{
		"empty":          "",
		"not multiple":   "080101",
		"sfi 0":          "00010100",
		"sfi 31":         "F8010100",
		"low bits":       "09010100",
		"record 0":       "08000100",
		"last < first":   "08030100",
		"too many ODA":   "08010203",
		"second invalid": "08010100 10000000",
	} {
		_, err := ParseAFL(hx(b))
		require.ErrorIs(t, err, ErrCardData, name)
	}
}

func TestStaticData(t *testing.T) {
	var s StaticData
	s.Add(1, hx("70 04 5A 02 1234"))
	s.Add(11, hx("70 03 9F 07 00"))
	b, err := s.Bytes(tlv.Map{0x9F4A: {0x82}, 0x82: hx("1980")})
	require.NoError(t, err)
	// SFI 1: the template's value; SFI 11: the whole record; then the AIP.
	require.Equal(t, hx("5A021234 70039F0700 1980"), b)

	b, err = s.Bytes(tlv.Map{})
	require.NoError(t, err)
	require.Equal(t, hx("5A021234 70039F0700"), b, "no SDA tag list: no AIP")

	_, err = s.Bytes(tlv.Map{0x9F4A: {0x82, 0x5A}, 0x82: hx("1980")})
	require.ErrorIs(t, err, ErrODAData, "SDA tag list with other tags")
	_, err = s.Bytes(tlv.Map{0x9F4A: {0x82}})
	require.ErrorIs(t, err, ErrODAData, "AIP missing")

	var bad StaticData
	bad.Add(2, hx("77 02 5A 00"))
	_, err = bad.Bytes(tlv.Map{})
	require.ErrorIs(t, err, ErrODAData, "record for ODA in SFI 1-10 not template 70")
}

func TestPAN(t *testing.T) {
	p, ok := PAN(tlv.Map{0x5A: hx("5413330089010012")})
	require.True(t, ok)
	require.Equal(t, "5413330089010012", p)
	p, ok = PAN(tlv.Map{0x57: hx("5413330089010012D3012201000000000F")})
	require.True(t, ok)
	require.Equal(t, "5413330089010012", p)
	p, ok = PAN(tlv.Map{0x5A: hx("541333008901001F")})
	require.True(t, ok)
	require.Equal(t, "541333008901001", p, "odd length padded with F")
	_, ok = PAN(tlv.Map{})
	require.False(t, ok)
}

// fakeReader answers from a list and fails on demand.
type fakeReader struct {
	resp [][]byte
	err  error
	sent [][]byte
}

func (f *fakeReader) Transmit(_ context.Context, c []byte) ([]byte, error) {
	f.sent = append(f.sent, c)
	if f.err != nil {
		return nil, f.err
	}
	if len(f.resp) == 0 {
		return []byte{0x6F, 0x00}, nil
	}
	r := f.resp[0]
	f.resp = f.resp[1:]
	return r, nil
}

func TestCardSend(t *testing.T) {
	ctx := context.Background()
	// 61xx chaining: the card sends part of the data, then GET RESPONSE.
	var traced []Exchange
	fr := &fakeReader{resp: [][]byte{hx("6104"), hx("01020304 9000")}}
	c := NewCard(ctx, fr, func(e Exchange) { traced = append(traced, e) })
	r, err := c.Send(apdu.SelectPPSE())
	require.NoError(t, err)
	require.Equal(t, hx("01020304"), r.Data)
	require.Equal(t, uint16(0x9000), r.SW)
	require.Equal(t, 2, c.Exchanges())
	require.Len(t, traced, 2)
	require.Equal(t, hx("00C0000004"), traced[1].C, "GET RESPONSE with Le from 61xx")

	// A card gone: a communication error.
	c = NewCard(ctx, &fakeReader{err: errors.Join(ErrCardRemoved, errors.New("field lost"))}, nil)
	_, err = c.Send(apdu.SelectPPSE())
	require.True(t, IsCommunicationError(err))

	// A response shorter than a status word is a communication error too.
	c = NewCard(ctx, &fakeReader{resp: [][]byte{{0x90}}}, nil)
	_, err = c.Send(apdu.SelectPPSE())
	require.True(t, IsCommunicationError(err))

	// A reader fault is not.
	fault := errors.New("usb unplugged")
	c = NewCard(ctx, &fakeReader{err: fault}, nil)
	_, err = c.Send(apdu.SelectPPSE())
	require.ErrorIs(t, err, fault)
	require.False(t, IsCommunicationError(err))

	// A cancelled context stops before sending.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	fr = &fakeReader{}
	c = NewCard(cctx, fr, nil)
	_, err = c.Send(apdu.SelectPPSE())
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, fr.sent)
}
