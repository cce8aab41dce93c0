package cloud

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

func TestVerifyLUKACRefusals(t *testing.T) {
	ki := mustKI(t, katKI)
	with := func(tag uint32, val string) cryptogram.Values {
		v := katTags(katVisaIAD)
		if val == "-" {
			delete(v, tag)
		} else {
			v[tag] = unhex(val)
		}
		return v
	}
	tests := []struct {
		name string
		mk   keys.Key
		api  uint16
		ki   string
		tags cryptogram.Values
		ac   string
		want error
	}{
		{"another key index expected", tdes(katMK), katAPI, "5123408", katTags(katVisaIAD), katVisaAC, ErrKeyIndex},
		{"key index altered in 9F10", tdes(katMK), katAPI, "5123408", with(0x9F10, "0AC10103A00000051234080000000000"), katVisaAC, ErrLUKMismatch},
		{"another account parameters index", tdes(katMK), katAPI + 1, katKI, katTags(katVisaIAD), katVisaAC, ErrLUKMismatch},
		{"another card's master key", tdes(katMKUMD), katAPI, katKI, katTags(katVisaIAD), katVisaAC, ErrLUKMismatch},
		{"another ATC", tdes(katMK), katAPI, katKI, with(0x9F36, "0043"), katVisaAC, ErrLUKMismatch},
		{"another amount", tdes(katMK), katAPI, katKI, with(0x9F02, "000000012501"), katVisaAC, ErrLUKMismatch},
		{"CVR altered", tdes(katMK), katAPI, katKI, with(0x9F10, "0AC10103A00001051234070000000000"), katVisaAC, ErrLUKMismatch},
		{"cryptogram altered", tdes(katMK), katAPI, katKI, katTags(katVisaIAD), "6326DB4510757A66", ErrLUKMismatch},
		{"cryptogram short", tdes(katMK), katAPI, katKI, katTags(katVisaIAD), "17D422BED7029F", ErrInput},
		{"mc-cloud IAD", tdes(katMK), katAPI, katKI, with(0x9F10, katMCIAD), katVisaAC, ErrIAD},
		{"Visa CVN 18 IAD", tdes(katMK), katAPI, katKI, with(0x9F10, "06011203A0B800"), katVisaAC, ErrIAD},
		{"no 9F10", tdes(katMK), katAPI, katKI, with(0x9F10, "-"), katVisaAC, cryptogram.ErrMissingTag},
		{"no 9F37", tdes(katMK), katAPI, katKI, with(0x9F37, "-"), katVisaAC, cryptogram.ErrMissingTag},
		{"AES master key", keys.MustHex(keys.AES, katMK), katAPI, katKI, katTags(katVisaIAD), katVisaAC, ErrKey},
		{"no master key", keys.Key{}, katAPI, katKI, katTags(katVisaIAD), katVisaAC, ErrKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyLUKAC(tc.mk, tc.api, mustKI(t, tc.ki), tc.tags, unhex(tc.ac))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if strings.Contains(strings.ToUpper(err.Error()), katLUK) || strings.Contains(err.Error(), katMK) {
				t.Fatalf("error shows a key: %v", err)
			}
		})
	}
	if err := VerifyLUKAC(tdes(katMK), katAPI, ki, katTags(katVisaIAD), unhex(katVisaAC)); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(ErrLUKMismatch, cryptogram.ErrMismatch) || !errors.Is(ErrUMDMismatch, cryptogram.ErrMismatch) || !errors.Is(ErrMDMismatch, cryptogram.ErrMismatch) {
		t.Fatal("mismatches must wrap cryptogram.ErrMismatch")
	}
}

func TestVerifyMCRefusals(t *testing.T) {
	salt := unhex(katSalt)
	with := func(tag uint32, val string) cryptogram.Values {
		v := katTags(katMCIAD)
		if val == "-" {
			delete(v, tag)
		} else {
			v[tag] = unhex(val)
		}
		return v
	}
	wrongPIN := func(pin string) string {
		md, umd, _ := SessionKeys(tdes(katMK), tdes(katMKUMD), 0x42)
		suk, _ := MakeSUK(umd, katPIN, salt, katTUR)
		k, err := UnlockSUK(suk, pin, salt, katTUR)
		if err != nil {
			t.Fatalf("PIN %q refused on the phone: %v", pin, err)
		}
		ac, _, err := GenerateMC(md, k, katTags(katMCIAD))
		if err != nil {
			t.Fatal(err)
		}
		return strings.ToUpper(string(hexOf(ac)))
	}
	tests := []struct {
		name    string
		mkMD    keys.Key
		mkUMD   keys.Key
		tags    cryptogram.Values
		ac      string
		want    error
		md, umd bool
	}{
		{"wrong PIN", tdes(katMK), tdes(katMKUMD), katTags(katMCIAD), katWrongAC, ErrUMDMismatch, true, false},
		{"empty PIN", tdes(katMK), tdes(katMKUMD), katTags(katMCIAD), wrongPIN(""), ErrUMDMismatch, true, false},
		{"PIN with a letter", tdes(katMK), tdes(katMKUMD), katTags(katMCIAD), wrongPIN("24a8"), ErrUMDMismatch, true, false},
		{"another UMD master key", tdes(katMK), tdes(katLUK), katTags(katMCIAD), katMCAC, ErrUMDMismatch, true, false},
		{"another MD master key", tdes(katLUK), tdes(katMKUMD), katTags(katMCIAD), katMCAC, ErrMDMismatch, false, false},
		{"another ATC", tdes(katMK), tdes(katMKUMD), with(0x9F36, "0043"), katMCAC, ErrMDMismatch, false, false},
		{"MD altered", tdes(katMK), tdes(katMKUMD), with(0x9F10, "0AC20103A000005505425E0000000000"), katMCAC, ErrMDMismatch, false, false},
		{"another amount", tdes(katMK), tdes(katMKUMD), with(0x9F02, "000000099999"), katMCAC, ErrMDMismatch, false, false},
		{"cryptogram altered", tdes(katMK), tdes(katMKUMD), katTags(katMCIAD), "124135779495827E", ErrUMDMismatch, true, false},
		{"cryptogram short", tdes(katMK), tdes(katMKUMD), katTags(katMCIAD), "75FA", ErrInput, false, false},
		{"visa-cloud IAD", tdes(katMK), tdes(katMKUMD), with(0x9F10, katVisaIAD), katMCAC, ErrIAD, false, false},
		{"no ATC", tdes(katMK), tdes(katMKUMD), with(0x9F36, "-"), katMCAC, cryptogram.ErrTagLength, false, false},
		{"AES key", tdes(katMK), keys.MustHex(keys.AES, katMKUMD), katTags(katMCIAD), katMCAC, ErrKey, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := VerifyMC(tc.mkMD, tc.mkUMD, tc.tags, unhex(tc.ac))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if v.MD != tc.md || v.UMD != tc.umd || v.CardholderVerified() {
				t.Fatalf("verdict %+v", v)
			}
		})
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return out
}

func TestSUKRefusals(t *testing.T) {
	_, umd, _ := SessionKeys(tdes(katMK), tdes(katMKUMD), 0x42)
	salt := unhex(katSalt)
	tests := []struct {
		name, pin, tur string
		salt           []byte
		key            keys.Key
		want           error
	}{
		{"PIN of 3 digits", "123", katTUR, salt, umd, ErrInput},
		{"PIN of 13 digits", "1234567890123", katTUR, salt, umd, ErrInput},
		{"PIN not digits", "12a4", katTUR, salt, umd, ErrInput},
		{"salt of 7 bytes", katPIN, katTUR, salt[:7], umd, ErrInput},
		{"salt of 65 bytes", katPIN, katTUR, make([]byte, 65), umd, ErrInput},
		{"no token reference", katPIN, "", salt, umd, ErrInput},
		{"token reference of 65 bytes", katPIN, strings.Repeat("A", 65), salt, umd, ErrInput},
		{"AES key", katPIN, katTUR, salt, keys.MustHex(keys.AES, katSKUMD), ErrKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := MakeSUK(tc.key, tc.pin, tc.salt, tc.tur); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Another salt or token reference unlocks another key, as a wrong PIN.
	suk, _ := MakeSUK(umd, katPIN, salt, katTUR)
	for _, k := range []func() (keys.Key, error){
		func() (keys.Key, error) { return UnlockSUK(suk, katPIN, unhex("0001020304050608"), katTUR) },
		func() (keys.Key, error) { return UnlockSUK(suk, katPIN, salt, katTUR+"0") },
	} {
		got, err := k()
		if err != nil || got.Equal(umd) {
			t.Fatalf("unlocked %v, %v", got, err)
		}
	}
}

func TestKeyIndexRefusals(t *testing.T) {
	for _, s := range []string{"", "512340", "51234071", "5A23407", "-123407", "5878400", " 512340 7"} {
		if _, err := ParseKeyIndex(s); !errors.Is(err, ErrKeyIndex) {
			t.Errorf("ParseKeyIndex(%q) = %v", s, err)
		}
	}
	for _, b := range []string{"", "051234", "0512340700", "15123407", "05A23407", "0512340A"} {
		if _, err := KeyIndexFromBCD(unhex(b)); !errors.Is(err, ErrKeyIndex) {
			t.Errorf("KeyIndexFromBCD(%s) = %v", b, err)
		}
	}
	if _, err := NewKeyIndex(time.Now(), 100); !errors.Is(err, ErrKeyIndex) {
		t.Errorf("counter 100: %v", err)
	}
	// Hour 8783 exists only in a leap year: 2024 has it, 2025 does not.
	ki := mustKI(t, "4878300")
	if _, err := ki.IssuedAt(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("2024 hour 8783: %v", err)
	}
	ki = mustKI(t, "5878300")
	if _, err := ki.IssuedAt(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrKeyIndex) {
		t.Errorf("2025 hour 8783: %v", err)
	}
	if _, err := DeriveLUK(tdes(katMK), 1, KeyIndex{Year: 10}); !errors.Is(err, ErrKeyIndex) {
		t.Errorf("DeriveLUK with year 10: %v", err)
	}
}

func TestValidity(t *testing.T) {
	ki := mustKI(t, katKI)
	issued := time.Date(2025, time.February, 21, 10, 0, 0, 0, time.UTC)
	multi := Validity{MaxTransactions: 3, TimeToLive: 48 * time.Hour}
	tests := []struct {
		name string
		v    Validity
		used int
		now  time.Time
		want error
	}{
		{"fresh key", DefaultValidity, 0, issued.Add(time.Minute), nil},
		{"key used twice", DefaultValidity, 1, issued.Add(time.Minute), ErrKeyUsedUp},
		{"third of three", multi, 2, issued.Add(47 * time.Hour), nil},
		{"fourth of three", multi, 3, issued.Add(time.Hour), ErrKeyUsedUp},
		{"last minute of its day", DefaultValidity, 0, issued.Add(24*time.Hour - time.Minute), nil},
		{"past its time", DefaultValidity, 0, issued.Add(24 * time.Hour), ErrKeyExpired},
		{"ten years on", DefaultValidity, 0, issued.AddDate(9, 0, 0), ErrKeyExpired},
		{"from the future", DefaultValidity, 0, issued.Add(-time.Minute), ErrKeyIndex},
		{"no count", Validity{TimeToLive: time.Hour}, 0, issued, ErrInput},
		{"no time", Validity{MaxTransactions: 1}, 0, issued, ErrInput},
		{"negative use", DefaultValidity, -1, issued, ErrInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.v.Check(ki, tc.used, tc.now); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestIADRoundTrip(t *testing.T) {
	for _, s := range []string{katVisaIAD, katMCIAD} {
		p, err := ParseIAD(unhex(s))
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "round trip", p.Bytes(), s)
	}
	for _, s := range []string{"", "0AC10103A000000512340700000000", "0BC10103A00000051234070000000000",
		"0AC10103A00000051234070000000001", "0AC30103A00000051234070000000000", "0AC10103A000000A1234070000000000",
		"0AC10103A00000051234070000000000" + "00"} {
		if _, err := ParseIAD(unhex(s)); !errors.Is(err, ErrIAD) {
			t.Errorf("ParseIAD(%s) = %v", s, err)
		}
	}
}
