package cloud

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

// Known answers of tapsim's cloud model. Each is computed twice: from
// steps_test.go's primitives and through the package; both must give the
// pinned value.
const (
	katIMK     = "0123456789ABCDEFFEDCBA9876543210" // issuer master key (visa-cloud) and IMK_MD (mc-cloud)
	katIMKUMD  = "FEDCBA9876543210F1E2D3C4B5A69788" // IMK_UMD (mc-cloud)
	katPAN     = "43219876543210987"                // the token, PSN 00
	katMK      = "9249345E0220CEBA0D20D6A2453BF407" // ICC MK (visa-cloud) and MK_MD (mc-cloud): EMV option A of katIMK, katPAN
	katMKUMD   = "5198E0086E1AA2B96D024958209E3213"
	katAPI     = 3
	katKI      = "5123407"
	katK2      = "C2A229D3E96415A77AA7E3805DCE9DAE"
	katLUK     = "468A76C840D0234C9E4F072CF2F1195E"
	katVisaAC  = "6326DB4510757A67"
	katVisaIAD = "0AC10103A00000051234070000000000"
	katSKMD    = "13B629FB31DC4F15E0AB92C4311534CB"
	katSKUMD   = "E03D20BF08835270A1ABC77C3EB0347F"
	katMD      = "5505425F"
	katMCAC    = "124135779495827F"
	katMCIAD   = "0AC20103A000005505425F0000000000"
	katPIN     = "2468"
	katSalt    = "0001020304050607"
	katTUR     = "DWSPMC000000000132d72d4fcb2f4136a0532d3093ff1a45"
	katMask    = "E54E0C639D5C0E2C102AC09C56B7339C"
	katSUK     = "05732CDC95DF5C5CB18107E0680707E3"
	katWrongAC = "0C7F8E772D2A5A58" // the phone's 9F26 with PIN 2469
)

// katMin is the minimum data set of the known-answer transaction.
const katMin = "000000012500 000000000000 0158 0000008000 0901 250314 00 0BADCAFE 1980 0042"

// katTags is the transaction with the given 9F10.
func katTags(iad string) cryptogram.Values {
	v := cryptogram.Values{
		0x9F02: unhex("000000012500"), 0x9F03: unhex("000000000000"), 0x9F1A: unhex("0158"),
		0x95: unhex("0000008000"), 0x5F2A: unhex("0901"), 0x9A: unhex("250314"), 0x9C: unhex("00"),
		0x9F37: unhex("0BADCAFE"), 0x82: unhex("1980"), 0x9F36: unhex("0042"),
	}
	if iad != "" {
		v[0x9F10] = unhex(iad)
	}
	return v
}

func tdes(s string) keys.Key { return keys.MustHex(keys.TDES, s) }

func mustKI(t *testing.T, s string) KeyIndex {
	t.Helper()
	ki, err := ParseKeyIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return ki
}

func eq(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if !bytes.Equal(got, unhex(want)) {
		t.Fatalf("%s = %X, want %s", what, got, want)
	}
}

func TestLUKKnownAnswer(t *testing.T) {
	// By the steps, from the issuer master key (EMV option A: PAN || PSN).
	mk := stepDiversify(unhex(katIMK), unhex("1987654321098700"))
	eq(t, "ICC MK (steps)", mk, katMK)
	k2 := stepDiversify(mk, unhex("0003 000000000000"))
	eq(t, "K2 (steps)", k2, katK2)
	luk := stepDiversify(k2, unhex("05123407 00000000"))
	eq(t, "LUK (steps)", luk, katLUK)
	iad := unhex("0A C1 01 03A00000 05123407 0000000000")
	eq(t, "visa-cloud AC (steps)", stepRetailMAC(luk, append(unhex(katMin), iad...)), katVisaAC)

	// Through the package.
	ki := mustKI(t, katKI)
	eq(t, "account info", AccountInfo(katAPI), "0003000000000000")
	eq(t, "key index info", KeyIndexInfo(ki), "0512340700000000")
	got, err := DeriveLUK(tdes(katMK), katAPI, ki)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "LUK", got.Bytes(), katLUK)
	eq(t, "visa IAD", VisaIAD(0x01, [4]byte{0x03, 0xA0}, ki), katVisaIAD)
	ac, err := GenerateLUKAC(got, katTags(katVisaIAD))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "visa-cloud AC", ac, katVisaAC)
	if err := VerifyLUKAC(tdes(katMK), katAPI, ki, katTags(katVisaIAD), unhex(katVisaAC)); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func TestMCKnownAnswer(t *testing.T) {
	// By the steps, from the issuer master keys (EMV option A).
	eq(t, "MK_UMD (steps)", stepDiversify(unhex(katIMKUMD), unhex("1987654321098700")), katMKUMD)
	skMD, skUMD := stepCSK(unhex(katMK), 0x0042), stepCSK(unhex(katMKUMD), 0x0042)
	eq(t, "SK_MD (steps)", skMD, katSKMD)
	eq(t, "SK_UMD (steps)", skUMD, katSKUMD)
	d := append(unhex(katMin), unhex("0A C2 01 03A00000")...)
	eq(t, "MD (steps)", stepRetailMAC(skMD, d)[:4], katMD)
	eq(t, "UMD AC (steps)", stepRetailMAC(skUMD, d), katMCAC)
	salt := unhex(katSalt)
	s := append(append(append([]byte("tapsim mc-cloud SUK v1"), byte(len(salt))), salt...), katTUR...)
	mask := stepPBKDF2([]byte(katPIN), s, PINKDFIterations, 16)
	eq(t, "PIN mask (steps)", mask, katMask)
	eq(t, "SUK (steps)", xor(skUMD, mask), katSUK)
	wrong := xor(unhex(katSUK), stepPBKDF2([]byte("2469"), s, PINKDFIterations, 16))
	eq(t, "wrong-PIN AC (steps)", stepRetailMAC(wrong, d), katWrongAC)

	// Through the package.
	md, umd, err := SessionKeys(tdes(katMK), tdes(katMKUMD), 0x0042)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "SK_MD", md.Bytes(), katSKMD)
	eq(t, "SK_UMD", umd.Bytes(), katSKUMD)
	m, err := PINMask(katPIN, salt, katTUR)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "PIN mask", m, katMask)
	suk, err := MakeSUK(umd, katPIN, salt, katTUR)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "SUK", suk.Bytes(), katSUK)
	unlocked, err := UnlockSUK(suk, katPIN, salt, katTUR)
	if err != nil {
		t.Fatal(err)
	}
	ac, iad, err := GenerateMC(md, unlocked, katTags("0AC20103A00000000000000000000000"))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "mc-cloud IAD", iad, katMCIAD)
	eq(t, "mc-cloud AC", ac, katMCAC)
	v, err := VerifyMC(tdes(katMK), tdes(katMKUMD), katTags(katMCIAD), ac)
	if err != nil || !v.CardholderVerified() {
		t.Fatalf("verify: %+v %v", v, err)
	}

	// A wrong PIN is no error on the phone: the cryptogram comes out, wrong.
	bad, err := UnlockSUK(suk, "2469", salt, katTUR)
	if err != nil {
		t.Fatalf("wrong PIN refused on the phone: %v", err)
	}
	ac, iad, err = GenerateMC(md, bad, katTags(katMCIAD))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "wrong-PIN AC", ac, katWrongAC)
	eq(t, "wrong-PIN IAD (MD still valid)", iad, katMCIAD)
	v, err = VerifyMC(tdes(katMK), tdes(katMKUMD), katTags(katMCIAD), ac)
	if !errors.Is(err, ErrUMDMismatch) || !v.MD || v.UMD || v.CardholderVerified() {
		t.Fatalf("wrong PIN: %+v %v", v, err)
	}
}

func TestKeyIndexKnownAnswer(t *testing.T) {
	at := time.Date(2025, time.February, 21, 10, 59, 0, 0, time.UTC) // 51 days + 10 hours = hour 1234
	ki, err := NewKeyIndex(at, 7)
	if err != nil {
		t.Fatal(err)
	}
	if ki.String() != katKI || ki.Uint32() != 5123407 {
		t.Fatalf("key index = %v (%d)", ki, ki.Uint32())
	}
	eq(t, "BCD", ki.BCD(), "05123407")
	back, err := KeyIndexFromBCD(ki.BCD())
	if err != nil || back != ki {
		t.Fatalf("from BCD = %v, %v", back, err)
	}
	issued, err := ki.IssuedAt(at.Add(100 * 24 * time.Hour))
	if err != nil || !issued.Equal(time.Date(2025, time.February, 21, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("issued at %v, %v", issued, err)
	}
	// Seen from 2034, year digit 5 is still 2025; from 2035 it is 2035,
	// whose hour 1234 is in the future early in January.
	if issued, _ := ki.IssuedAt(time.Date(2034, 12, 31, 0, 0, 0, 0, time.UTC)); issued.Year() != 2025 {
		t.Fatalf("from 2034: %v", issued)
	}
	if _, err := ki.IssuedAt(time.Date(2035, 1, 2, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrKeyIndex) {
		t.Fatalf("from January 2035: %v", err)
	}
}
