package soft_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/hsm"
)

// encPIN makes a format 0 PIN block under a clear TDES key, as a PIN pad
// with a static key does.
func encPIN(t testing.TB, keyHex, p, pan string) []byte {
	t.Helper()
	c, err := pin.Encode(pin.Format0, p, pan, nil)
	require.NoError(t, err)
	b, err := pin.Encrypt(keys.MustHex(keys.TDES, keyHex), c)
	require.NoError(t, err)
	return b
}

// decPIN reads a block under a clear ZPK: format 0 for TDES, 4 for AES.
func decPIN(t testing.TB, k keys.Key, block []byte, pan string) string {
	t.Helper()
	if k.Alg() == keys.AES {
		p, err := pin.DecipherFormat4(k, block, pan)
		require.NoError(t, err)
		return p
	}
	c, err := pin.Decrypt(k, block)
	require.NoError(t, err)
	f, err := pin.DetectFormat(c)
	require.NoError(t, err)
	require.Equal(t, pin.Format0, f)
	p, err := pin.Decode(pin.Format0, c, pan)
	require.NoError(t, err)
	return p
}

const (
	x924BDK = "0123456789ABCDEFFEDCBA9876543210"
	x924PAN = "4012345678909"
	zpkHex  = "89ABCDEF0123456776543210FEDCBA98"
	aesZPK  = "2B7E151628AED2A6ABF7158809CF4F3C"
)

// ANSI X9.24-1:2009 annex A: the PIN 1234 of PAN 4012345678909, enciphered
// by the PIN pad under the DUKPT PIN keys of its first transactions, comes
// out of the module under the zone PIN key as the format 0 block of the
// same PIN, and nowhere in clear.
func TestTranslatePINDUKPTKnownAnswers(t *testing.T) {
	f := newHSM(t, "")
	bdk := mustImport(t, f.hsm, "bdk", hsm.UsageBDK, keys.TDES, x924BDK)
	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	vectors := []struct{ ksn, block string }{
		{"FFFF9876543210E00001", "1B9C1845EB993A7A"},
		{"FFFF9876543210E00002", "10A01C8D02C69107"},
		{"FFFF9876543210E00003", "18DC07B94797B466"},
		{"FFFF9876543210E00010", "D5D9638559EF53D6"},
		{"FFFF9876543210E00015", "72105C22EBC791E6"},
		{"FFFF9876543210EFF800", "33365F5CC6F23C35"},
		{"FFFF9876543210F00000", "73EC88AD0AC5830E"},
	}
	want := encPIN(t, zpkHex, "1234", x924PAN) // format 0 has no random fill
	for _, v := range vectors {
		t.Run(v.ksn, func(t *testing.T) {
			out, err := f.hsm.TranslatePINDUKPT(bdk, h(t, v.ksn), h(t, v.block), zpk, x924PAN)
			require.NoError(t, err)
			require.Equal(t, hx(want), hx(out))
			require.Equal(t, "1234", decPIN(t, keys.MustHex(keys.TDES, zpkHex), out, x924PAN))
		})
	}
}

// The same, step by step: the module's result equals deriving the PIN key
// by hand (IPEK, transaction key, PIN variant) and re-enciphering.
func TestTranslatePINDUKPTSteps(t *testing.T) {
	f := newHSM(t, "")
	bdk := mustImport(t, f.hsm, "bdk", hsm.UsageBDK, keys.TDES, x924BDK)
	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	ksn := h(t, "FFFF9876543210E00001")
	ipek, err := dukpt.DeriveIPEK(keys.MustHex(keys.TDES, x924BDK), ksn)
	require.NoError(t, err)
	require.Equal(t, "6AC292FAA1315B4D858AB3A3D7D5933A", hx(ipek.Bytes()))
	tk, err := dukpt.DeriveKey(ipek, ksn)
	require.NoError(t, err)
	require.Equal(t, "042666B49184CFA368DE9628D0397BC9", hx(tk.Bytes()))
	pk, err := dukpt.PINKey(tk)
	require.NoError(t, err)
	c, err := pin.Decrypt(pk, h(t, "1B9C1845EB993A7A"))
	require.NoError(t, err)
	require.Equal(t, "041274EDCBA9876F", hx(c)) // the annex's clear format 0 block
	want, err := pin.Encrypt(keys.MustHex(keys.TDES, zpkHex), c)
	require.NoError(t, err)
	got, err := f.hsm.TranslatePINDUKPT(bdk, ksn, h(t, "1B9C1845EB993A7A"), zpk, x924PAN)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// ANSI X9.24-3:2017 AES DUKPT: format 4 PIN blocks of the supplement's
// AES-128 BDK, translated to a TDES ZPK (format 0) and to an AES ZPK
// (format 4).
func TestTranslatePINDUKPTAES(t *testing.T) {
	f := newHSM(t, "")
	bdk := mustImport(t, f.hsm, "aes-bdk", hsm.UsageBDK, keys.AES, "FEDCBA9876543210F1F1F1F1F1F1F1F1")
	tz := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	az := mustImport(t, f.hsm, "aes-zpk", hsm.UsageZPK, keys.AES, aesZPK)
	const pan = "4111111111111111"
	blocks := []string{
		"A912150391AB65A67E52883D81CE2D15",
		"52A00503BD34BA1383F6A7EE9FE2547F",
		"A5A27E82B43A9A866A93D7ABE89CEF93",
	}
	for i, b := range blocks {
		ksn := h(t, "1234567890123456 0000000"+string(rune('1'+i)))
		out, err := f.hsm.TranslatePINDUKPT(bdk, ksn, h(t, b), tz, pan)
		require.NoError(t, err)
		require.Len(t, out, 8)
		require.Equal(t, "1234", decPIN(t, keys.MustHex(keys.TDES, zpkHex), out, pan))
		out, err = f.hsm.TranslatePINDUKPT(bdk, ksn, h(t, b), az, pan)
		require.NoError(t, err)
		require.Len(t, out, 16)
		require.Equal(t, "1234", decPIN(t, keys.MustHex(keys.AES, aesZPK), out, pan))
	}
}

func TestTranslatePINDUKPTRefusals(t *testing.T) {
	f := newHSM(t, "")
	bdk := mustImport(t, f.hsm, "bdk", hsm.UsageBDK, keys.TDES, x924BDK)
	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	aesBDK := mustImport(t, f.hsm, "aes-bdk", hsm.UsageBDK, keys.AES, "FEDCBA9876543210F1F1F1F1F1F1F1F1")
	otherBDK := mustImport(t, f.hsm, "other-bdk", hsm.UsageBDK, keys.TDES, "FEDCBA98765432100123456789ABCDEF")
	ksn := h(t, "FFFF9876543210E00001")
	block := h(t, "1B9C1845EB993A7A")
	tests := []struct {
		name   string
		bdk    hsm.Handle
		ksn    []byte
		block  []byte
		zpk    hsm.Handle
		pan    string
		target error
	}{
		{"ZPK used as BDK", zpk, ksn, block, zpk, x924PAN, hsm.ErrUsage},
		{"BDK used as ZPK", bdk, ksn, block, bdk, x924PAN, hsm.ErrUsage},
		{"short KSN", bdk, ksn[:9], block, zpk, x924PAN, hsm.ErrInput},
		{"AES KSN for a TDES BDK", bdk, h(t, "123456789012345600000001"), block, zpk, x924PAN, hsm.ErrInput},
		{"TDES KSN for an AES BDK", aesBDK, ksn, block, zpk, x924PAN, hsm.ErrInput},
		{"counter zero", bdk, h(t, "FFFF9876543210E00000"), block, zpk, x924PAN, hsm.ErrInput},
		{"short block", bdk, ksn, block[:7], zpk, x924PAN, hsm.ErrPINBlock},
		{"another terminal's key", otherBDK, ksn, block, zpk, x924PAN, hsm.ErrPINBlock},
		{"bad PAN", bdk, ksn, block, zpk, "40123", hsm.ErrInput},
		{"unknown key", hsm.Handle{ID: "nope"}, ksn, block, zpk, x924PAN, hsm.ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.hsm.TranslatePINDUKPT(tc.bdk, tc.ksn, tc.block, tc.zpk, tc.pan)
			require.ErrorIs(t, err, tc.target)
			require.Nil(t, out)
			require.NotContains(t, err.Error(), "1B9C1845")
			require.NotContains(t, err.Error(), x924PAN)
		})
	}
	var ue *hsm.UsageError
	_, err := f.hsm.TranslatePINDUKPT(zpk, ksn, block, zpk, x924PAN)
	require.ErrorAs(t, err, &ue)
	require.Equal(t, hsm.UsageZPK, ue.Have)
	require.Equal(t, []hsm.Usage{hsm.UsageBDK}, ue.Want)
	require.Equal(t, "translate-pin-dukpt", ue.Op)
}

// A static terminal PIN key: formats 0, 1 and 3 in, format 0 (TDES ZPK)
// or 4 (AES ZPK) out; format 2, for offline use only, is refused.
func TestTranslatePIN(t *testing.T) {
	f := newHSM(t, "")
	tpkHex := "0123456789ABCDEFFEDCBA9876543210"
	tpk := mustImport(t, f.hsm, "tpk", hsm.UsageTPK, keys.TDES, tpkHex)
	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	az := mustImport(t, f.hsm, "aes-zpk", hsm.UsageZPK, keys.AES, aesZPK)
	const pan = "5544332211009966"
	fill := bytes.Repeat([]byte{0xAB, 0x3C}, 8)
	for _, fm := range []pin.Format{pin.Format0, pin.Format1, pin.Format3} {
		c, err := pin.Encode(fm, "987654", pan, bytes.NewReader(fill))
		require.NoError(t, err)
		blk, err := pin.Encrypt(keys.MustHex(keys.TDES, tpkHex), c)
		require.NoError(t, err)
		out, err := f.hsm.TranslatePIN(tpk, blk, zpk, pan)
		require.NoError(t, err, fm.String())
		require.Equal(t, "987654", decPIN(t, keys.MustHex(keys.TDES, zpkHex), out, pan))
		out, err = f.hsm.TranslatePIN(tpk, blk, az, pan)
		require.NoError(t, err)
		require.Equal(t, "987654", decPIN(t, keys.MustHex(keys.AES, aesZPK), out, pan))
	}
	c, err := pin.Encode(pin.Format2, "987654", pan, nil)
	require.NoError(t, err)
	blk, err := pin.Encrypt(keys.MustHex(keys.TDES, tpkHex), c)
	require.NoError(t, err)
	_, err = f.hsm.TranslatePIN(tpk, blk, zpk, pan)
	require.ErrorIs(t, err, hsm.ErrPINBlock)
	// ZPK to ZPK is a translation between zones; a TPK is never a target.
	_, err = f.hsm.TranslatePIN(zpk, encPIN(t, zpkHex, "1234", pan), az, pan)
	require.NoError(t, err)
	_, err = f.hsm.TranslatePIN(zpk, encPIN(t, zpkHex, "1234", pan), tpk, pan)
	require.ErrorIs(t, err, hsm.ErrUsage)
}

// R-G3: the issuer checks the PIN against the Visa PVV inside the module.
// Published values: PVK 5CA64B3C22BEC347CA7E6609904BAAED, PAN
// 4564320000980369, PVKI 1, PIN 2205 -> PVV 3856, PIN 0654 -> PVV 0885.
func TestVerifyPIN(t *testing.T) {
	f := newHSM(t, "")
	pvk := mustImport(t, f.hsm, "pvk", hsm.UsagePVK, keys.TDES, "5CA64B3C22BEC347CA7E6609904BAAED")
	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	az := mustImport(t, f.hsm, "aes-zpk", hsm.UsageZPK, keys.AES, aesZPK)
	const pan = "4564320000980369"

	for pinDigits, want := range map[string]string{"2205": "3856", "0654": "0885"} {
		got, err := f.hsm.GeneratePVV(pvk, pan, pinDigits, 1)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}

	require.NoError(t, f.hsm.VerifyPIN(zpk, encPIN(t, zpkHex, "2205", pan), pan, pvk, 1, "3856"))
	require.NoError(t, f.hsm.VerifyPIN(zpk, encPIN(t, zpkHex, "0654", pan), pan, pvk, 1, "0885"))
	err := f.hsm.VerifyPIN(zpk, encPIN(t, zpkHex, "2206", pan), pan, pvk, 1, "3856")
	require.ErrorIs(t, err, hsm.ErrPIN)
	require.NotContains(t, err.Error(), "2206")
	require.NotContains(t, err.Error(), "3856")
	require.ErrorIs(t, f.hsm.VerifyPIN(zpk, encPIN(t, zpkHex, "2205", pan), pan, pvk, 2, "3856"), hsm.ErrPIN)

	// Format 4 under an AES ZPK.
	b4, err := pin.EncipherFormat4(keys.MustHex(keys.AES, aesZPK), "2205", pan, bytes.NewReader(make([]byte, 8)))
	require.NoError(t, err)
	require.NoError(t, f.hsm.VerifyPIN(az, b4, pan, pvk, 1, "3856"))

	// A block made for another card does not verify (and never decodes to
	// the right PIN): format 0 binds the PIN to the PAN.
	other := encPIN(t, zpkHex, "2205", "4564320000980377")
	err = f.hsm.VerifyPIN(zpk, other, pan, pvk, 1, "3856")
	require.ErrorIs(t, err, hsm.ErrPINBlock)

	tests := []struct {
		name   string
		zpk    hsm.Handle
		block  []byte
		pvk    hsm.Handle
		pvki   int
		ref    string
		target error
	}{
		{"PVK as ZPK", pvk, encPIN(t, zpkHex, "2205", pan), pvk, 1, "3856", hsm.ErrUsage},
		{"ZPK as PVK", zpk, encPIN(t, zpkHex, "2205", pan), zpk, 1, "3856", hsm.ErrUsage},
		{"garbage block", zpk, h(t, "0000000000000000"), pvk, 1, "3856", hsm.ErrPINBlock},
		{"short reference", zpk, encPIN(t, zpkHex, "2205", pan), pvk, 1, "385", hsm.ErrInput},
		{"PVKI out of range", zpk, encPIN(t, zpkHex, "2205", pan), pvk, 12, "3856", hsm.ErrInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, f.hsm.VerifyPIN(tc.zpk, tc.block, pan, tc.pvk, tc.pvki, tc.ref), tc.target)
		})
	}
	_, err = f.hsm.GeneratePVV(zpk, pan, "2205", 1)
	require.ErrorIs(t, err, hsm.ErrUsage)
	_, err = f.hsm.GeneratePVV(pvk, pan, "22", 1)
	require.ErrorIs(t, err, hsm.ErrInput)
}

// R-G5g: the clear PIN of the X9.24 annex goes through DUKPT translation
// at the acquirer and verification at the issuer without leaving either
// module; the acquirer only ever holds blocks enciphered under keys it
// cannot see.
func TestDUKPTToVerify(t *testing.T) {
	acq := newHSM(t, "")
	iss := newHSM(t, "")
	bdk := mustImport(t, acq.hsm, "bdk", hsm.UsageBDK, keys.TDES, x924BDK)
	zpkA := mustImport(t, acq.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	zpkI := mustImport(t, iss.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	pvk := mustImport(t, iss.hsm, "pvk", hsm.UsagePVK, keys.TDES, "5CA64B3C22BEC347CA7E6609904BAAED")
	ref, err := iss.hsm.GeneratePVV(pvk, x924PAN, "1234", 1)
	require.NoError(t, err)
	zb, err := acq.hsm.TranslatePINDUKPT(bdk, h(t, "FFFF9876543210E00001"), h(t, "1B9C1845EB993A7A"), zpkA, x924PAN)
	require.NoError(t, err)
	require.NoError(t, iss.hsm.VerifyPIN(zpkI, zb, x924PAN, pvk, 1, ref))
	require.NotEqual(t, hx(zb), "041274EDCBA9876F")
	require.NotEqual(t, hx(zb), "1B9C1845EB993A7A")
	require.Len(t, zb, 8)
}
