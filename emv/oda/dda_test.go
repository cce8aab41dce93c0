package oda

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSDADLayoutDDA checks a DDA signature against Book 2 Tables 17 to 19.
func TestSDADLayoutDDA(t *testing.T) {
	c := chainA(t)
	pub := c.icc.PublicKey()
	ddol := hx("11223344") // DDOL-related data: the UN (DDOL 9F3704)
	sdad, err := c.icc.SignDDA(hx("0102030405060708"), ddol)
	require.NoError(t, err)
	block, err := pub.recoverBlock(ObjectSDAD, sdad)
	require.NoError(t, err)
	n := len(block)
	require.Equal(t, hx("6A 05 01 09 08 0102030405060708"), block[:13])
	require.Equal(t, bytes.Repeat([]byte{0xBB}, n-9-25), block[13:n-21])
	h := sha1.Sum(append(append([]byte(nil), block[1:n-21]...), ddol...))
	require.Equal(t, h[:], block[n-21:n-1])
	require.Equal(t, byte(0xBC), block[n-1])
}

// TestSDADLayoutCDA checks a CDA signature against Book 2 Tables 17 and 22.
func TestSDADLayoutCDA(t *testing.T) {
	c := chainA(t)
	pub := c.icc.PublicKey()
	tdhc := sha1.Sum([]byte("transaction"))
	un := hx("CAFEBABE")
	sdad, err := c.icc.SignCDA(DynamicData{Number: hx("1122"), CID: 0x80, AC: hx("0102030405060708"), TransactionDataHash: tdhc[:]}, un)
	require.NoError(t, err)
	block, err := pub.recoverBlock(ObjectSDAD, sdad)
	require.NoError(t, err)
	n := len(block)
	want := append(hx("6A 05 01 20 02 1122 80 0102030405060708"), tdhc[:]...)
	require.Equal(t, want, block[:len(want)])
	require.Equal(t, 1+2+1+8+20, int(block[3]), "ICC dynamic data length")
	require.Equal(t, bytes.Repeat([]byte{0xBB}, n-32-25), block[len(want):n-21])
	h := sha1.Sum(append(append([]byte(nil), block[1:n-21]...), un...))
	require.Equal(t, h[:], block[n-21:n-1])
}

func TestVerifyDDAFailures(t *testing.T) {
	c := chainA(t)
	pub := c.icc.PublicKey()
	tdd := hx("2C975EAC000000001800097801253996170000")
	good, err := c.icc.SignDDA(hx("A1B2"), tdd)
	require.NoError(t, err)
	n := len(good)
	re := func(mutate func(b []byte)) []byte { return resign(t, c.icc.s, pub, ObjectSDAD, good, mutate) }
	sealed := func(mutate func(b []byte)) []byte {
		return re(func(b []byte) { mutate(b); reseal(b, tdd) })
	}
	for _, tc := range []struct {
		name string
		key  PublicKey
		sdad []byte
		tdd  []byte
		want error
	}{
		{"flipped byte", pub, flip(good, 100), tdd, ErrTrailer},
		{"short", pub, good[:n-1], tdd, ErrLength},
		{"not below modulus", pub, bytes.Repeat([]byte{0xFF}, n), tdd, ErrSignature},
		{"header", pub, re(func(b []byte) { b[0] = 0x4A }), tdd, ErrHeader},
		{"trailer", pub, re(func(b []byte) { b[n-1] = 0xCC }), tdd, ErrTrailer},
		{"format 03", pub, sealed(func(b []byte) { b[1] = 0x03 }), tdd, ErrFormat},
		{"hash algorithm", pub, sealed(func(b []byte) { b[2] = 0x00 }), tdd, ErrHashAlg},
		{"dynamic data length past the pad", pub, sealed(func(b []byte) { b[3] = byte(n - 24) }), tdd, ErrDynamicData},
		{"dynamic number length past the data", pub, sealed(func(b []byte) { b[4] = 0x05 }), tdd, ErrDynamicData},
		{"empty dynamic data", pub, sealed(func(b []byte) { b[3] = 0 }), tdd, ErrDynamicData},
		{"terminal data changed", pub, good, flip(tdd, 0), ErrHash},
		{"amount changed", pub, good, hx("2C975EAC000000001801097801253996170000"), ErrHash},
		{"number changed, hash not", pub, re(func(b []byte) { b[5] ^= 1 }), tdd, ErrHash},
		{"issuer key", c.issuer.PublicKey(), good, tdd, ErrTrailer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := VerifyDDA(tc.key, tc.sdad, tc.tdd)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, d)
			var oe *Error
			require.True(t, errors.As(err, &oe))
			require.Equal(t, ObjectSDAD, oe.Object)
		})
	}
}

func TestSignDDARejects(t *testing.T) {
	c := chainA(t)
	for _, n := range [][]byte{nil, hx("01"), hx("010203040506070809")} {
		_, err := c.icc.SignDDA(n, nil)
		require.ErrorIs(t, err, ErrInvalid)
	}
	var nilICC *ICC
	_, err := nilICC.SignDDA(hx("0102"), nil)
	require.ErrorIs(t, err, ErrInvalid)
	for _, d := range []DynamicData{
		{Number: hx("0102"), AC: hx("01"), TransactionDataHash: make([]byte, 20)},
		{Number: hx("0102"), AC: make([]byte, 8), TransactionDataHash: make([]byte, 19)},
		{Number: hx("0102"), AC: make([]byte, 8), TransactionDataHash: make([]byte, 20), Extra: make([]byte, 100)},
	} {
		_, err := c.icc.SignCDA(d, nil)
		require.ErrorIs(t, err, ErrInvalid)
	}
}

// cdaCase is a first GENERATE AC with CDA, card side and terminal side.
type cdaCase struct {
	un, pdol, cdol1 []byte
	ac              []byte
	cid             byte
	sdad, response  []byte
}

func newCDACase(t testing.TB, c *chain) cdaCase {
	t.Helper()
	x := cdaCase{
		un:    hx("0BADBEEF"),
		pdol:  hx("3600000000000001000000000001580901"),
		cdol1: hx("000000001000 000000000000 0158 0000000000 0901 260315 00 0BADBEEF"),
		ac:    hx("8E5A1C2B3D4E5F60"),
		cid:   0x80,
	}
	// The card hashes its response without 9F4B, signs, then adds 9F4B.
	head := hx("9F2701 80 9F3602 0042")
	tail := hx("9F1012 0110A00000000000000000000000000000FF")
	tdhc, err := TransactionData{PDOL: x.pdol, CDOL1: x.cdol1, Response: append(append([]byte(nil), head...), tail...)}.Hash()
	require.NoError(t, err)
	x.sdad, err = c.icc.SignCDA(DynamicData{Number: hx("0011223344556677"), CID: x.cid, AC: x.ac, TransactionDataHash: tdhc}, x.un)
	require.NoError(t, err)
	x.response = append(append(append(append([]byte(nil), head...), 0x9F, 0x4B, 0x81, byte(len(x.sdad))), x.sdad...), tail...)
	return x
}

func (x cdaCase) input() CDAInput {
	return CDAInput{UnpredictableNumber: x.un, CID: x.cid, Transaction: TransactionData{PDOL: x.pdol, CDOL1: x.cdol1, Response: x.response}}
}

func TestVerifyCDA(t *testing.T) {
	for _, spec := range chainSpecs {
		t.Run(spec.name, func(t *testing.T) {
			c := newChain(t, spec)
			x := newCDACase(t, c)
			d, err := VerifyCDA(c.icc.PublicKey(), x.sdad, x.input())
			require.NoError(t, err)
			require.Equal(t, hx("0011223344556677"), d.Number)
			require.Equal(t, x.ac, d.AC)
			require.Equal(t, x.cid, d.CID)
			require.Nil(t, d.Extra)
		})
	}
}

func TestVerifyCDAFailures(t *testing.T) {
	c := chainA(t)
	x := newCDACase(t, c)
	pub := c.icc.PublicKey()
	n := len(x.sdad)
	re := func(mutate func(b []byte)) []byte { return resign(t, c.icc.s, pub, ObjectSDAD, x.sdad, mutate) }
	sealed := func(mutate func(b []byte)) []byte {
		return re(func(b []byte) { mutate(b); reseal(b, x.un) })
	}
	mod := func(f func(in *CDAInput)) CDAInput { in := x.input(); f(&in); return in }

	for _, tc := range []struct {
		name string
		sdad []byte
		in   CDAInput
		want error
	}{
		{"wrong AC in response", x.sdad, mod(func(in *CDAInput) { in.AC = flip(x.ac, 7) }), ErrAC},
		{"short AC in response", x.sdad, mod(func(in *CDAInput) { in.AC = x.ac[:7] }), ErrAC},
		{"wrong CID in response", x.sdad, mod(func(in *CDAInput) { in.CID = 0x40 }), ErrCID},
		{"AC in signature changed, hash not", re(func(b []byte) { b[4+1+8+1] ^= 1 }), x.input(), ErrHash},
		{"wrong UN", x.sdad, mod(func(in *CDAInput) { in.UnpredictableNumber = hx("0BADBEEE") }), ErrHash},
		{"CDOL1 data changed", x.sdad, mod(func(in *CDAInput) { in.Transaction.CDOL1 = flip(x.cdol1, 5) }), ErrTransactionHash},
		{"PDOL data missing", x.sdad, mod(func(in *CDAInput) { in.Transaction.PDOL = nil }), ErrTransactionHash},
		{"CDOL2 data given to a first GENERATE AC", x.sdad, mod(func(in *CDAInput) { in.Transaction.CDOL2 = hx("3030") }), ErrTransactionHash},
		{"response ATC changed", x.sdad, mod(func(in *CDAInput) { in.Transaction.Response = flip(x.response, 7) }), ErrTransactionHash},
		{"response malformed", x.sdad, mod(func(in *CDAInput) { in.Transaction.Response = x.response[:len(x.response)-1] }), ErrTLV},
		{"dynamic data too short for CDA", sealed(func(b []byte) { b[3] = 30 }), x.input(), ErrDynamicData},
		{"format", sealed(func(b []byte) { b[1] = 0x95 }), x.input(), ErrFormat},
		{"short signature", x.sdad[:n-2], x.input(), ErrLength},
		{"flipped signature byte", flip(x.sdad, 3), x.input(), ErrTrailer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := VerifyCDA(pub, tc.sdad, tc.in)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, d)
			var oe *Error
			require.True(t, errors.As(err, &oe))
			require.Equal(t, ObjectSDAD, oe.Object)
		})
	}

	// The response AC, when given, must match; then verification passes.
	in := x.input()
	in.AC = x.ac
	_, err := VerifyCDA(pub, x.sdad, in)
	require.NoError(t, err)
}

func TestCDAExtraData(t *testing.T) {
	c := chainA(t)
	tdhc := make([]byte, 20)
	extra := hx("0102030405060708090A")
	sdad, err := c.icc.SignCDA(DynamicData{Number: hx("0102"), CID: 0x40, AC: make([]byte, 8), TransactionDataHash: tdhc, Extra: extra}, hx("00000000"))
	require.NoError(t, err)
	block, dyn, err := recoverSDAD(c.icc.PublicKey(), sdad)
	require.NoError(t, err)
	require.NoError(t, checkSDADHash(block, hx("00000000")))
	d, err := parseDynamicData(dyn, true)
	require.NoError(t, err)
	require.Equal(t, extra, d.Extra)
}

func TestTransactionDataHash(t *testing.T) {
	pdol, cdol1, cdol2 := hx("0102"), hx("030405"), hx("06")
	obj1 := hx("9F2701 40")
	obj2 := hx("9F3602 0010")
	sdad := append(hx("9F4B 81 80"), make([]byte, 0x80)...)
	obj3 := append(hx("9F10 12"), make([]byte, 0x12)...)
	obj4 := append(hx("DF8101 82 0100"), make([]byte, 0x100)...) // 3-byte tag, 2-byte length
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	sum := func(parts ...[]byte) []byte { h := sha1.Sum(cat(parts...)); return h[:] }

	for _, tc := range []struct {
		name string
		td   TransactionData
		want []byte
	}{
		{"all parts in order", TransactionData{PDOL: pdol, CDOL1: cdol1, CDOL2: cdol2, Response: cat(obj1, obj2, obj3)}, sum(pdol, cdol1, cdol2, obj1, obj2, obj3)},
		{"9F4B skipped", TransactionData{PDOL: pdol, CDOL1: cdol1, Response: cat(obj1, obj2, sdad, obj3)}, sum(pdol, cdol1, obj1, obj2, obj3)},
		{"9F4B first", TransactionData{CDOL1: cdol1, Response: cat(sdad, obj1)}, sum(cdol1, obj1)},
		{"long tag and length kept whole", TransactionData{Response: cat(obj4, sdad)}, sum(obj4)},
		{"padding skipped", TransactionData{Response: cat(hx("00"), obj1, hx("FFFF"), obj2, hx("00"))}, sum(obj1, obj2)},
		{"nothing", TransactionData{}, sum()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.td.Hash()
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestTransactionDataHashMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp string
	}{
		{"tag without length", "9F27"},
		{"truncated tag", "9F"},
		{"tag of four bytes", "DF818181 01 00"},
		{"value past the end", "9F2702 40"},
		{"indefinite length", "9F2780 40"},
		{"length of five bytes", "9F2785 0000000001 40"},
		{"truncated long length", "9F2782 01"},
		{"huge length", "9F2783 FFFFFF 00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := TransactionData{Response: hx(tc.resp)}.Hash()
			require.ErrorIs(t, err, ErrTLV)
		})
	}
}

func TestFDDAData(t *testing.T) {
	got, err := FDDAData(hx("01020304"), hx("000000001000"), hx("0901"), hx("01A1B2C3D40000"))
	require.NoError(t, err)
	require.Equal(t, hx("01020304 000000001000 0901 01A1B2C3D40000"), got)
	_, err = FDDAData(hx("010203"), hx("000000001000"), hx("0901"), nil)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = FDDAData(hx("01020304"), hx("0000001000"), hx("0901"), nil)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = FDDAData(hx("01020304"), hx("000000001000"), hx("09"), nil)
	require.ErrorIs(t, err, ErrInvalid)
}

// TestFDDARoundTrip signs and verifies fDDA (C-3) the way a card and a
// kernel do: the card signs over the terminal's UN, amount and currency and
// its own card authentication related data.
func TestFDDARoundTrip(t *testing.T) {
	c := chainA(t)
	card := hx("01 5E2F1A0B 0000")
	tdd, err := FDDAData(hx("11223344"), hx("000000030000"), hx("0901"), card)
	require.NoError(t, err)
	sdad, err := c.icc.SignDDA(hx("5E2F"), tdd)
	require.NoError(t, err)
	d, err := VerifyDDA(c.icc.PublicKey(), sdad, tdd)
	require.NoError(t, err)
	require.Equal(t, hx("5E2F"), d.Number)

	other, err := FDDAData(hx("11223344"), hx("000000030001"), hx("0901"), card)
	require.NoError(t, err)
	_, err = VerifyDDA(c.icc.PublicKey(), sdad, other)
	require.ErrorIs(t, err, ErrHash)
}
