package cryptogram_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// sampleIAD is a plausible 9F10 for each CVN of the table.
var sampleIAD = map[string]string{
	"visa10": "06010A03A06010",
	"visa18": "06011203A0B800",
	"visa22": "1F2201A000000000" + strings.Repeat("00", 24),
	"mc16":   "0110A04000000000 1234 0000000000000000",
	"mc17":   "0111A04000000000 1234 0001000200030004",
	"mc20":   "0114A04000000000 1234",
	"mc21":   "0115A04000000000 1234 0100020003000400",
	"aes":    "0FA601A000000000 0000000000000001 0F" + strings.Repeat("00", 15),
}

// txTags is a transaction's data: the minimum set plus 9F10 for cvn.
func txTags(cvn string) cryptogram.Values {
	return cryptogram.Values{
		0x9F02: h("000000004000"),
		0x9F03: h("000000000000"),
		0x9F1A: h("0158"),
		0x95:   h("8000048000"),
		0x5F2A: h("0901"),
		0x9A:   h("250314"),
		0x9C:   h("00"),
		0x9F37: h("52BF4585"),
		0x82:   h("1980"),
		0x9F36: h("001C"),
		0x9F10: h(sampleIAD[cvn]),
	}
}

var (
	tdesIMK = keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	aesIMK  = keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F")
)

// iccMK derives the card's master key for c from the sample issuer key.
func iccMK(t testing.TB, c *cryptogram.CVN) keys.Key {
	t.Helper()
	imk := tdesIMK
	if c.Alg == keys.AES {
		imk = aesIMK
	}
	mk, err := c.DeriveMK(imk, "4761739001010010", "01")
	require.NoError(t, err)
	return mk
}

func TestTableNamesAndLookup(t *testing.T) {
	require.Equal(t, []string{"aes", "mc16", "mc17", "mc20", "mc21", "visa10", "visa18", "visa22"}, cryptogram.Names())
	ids := map[string]byte{"visa10": 0x0A, "visa18": 0x12, "visa22": 0x22, "mc16": 0x10, "mc17": 0x11, "mc20": 0x14, "mc21": 0x15, "aes": 0xA6}
	for name, id := range ids {
		c, err := cryptogram.Lookup(strings.ToUpper(name))
		require.NoError(t, err)
		require.Equal(t, id, c.ID)
		require.Equal(t, name, c.Name)
		require.NotEmpty(t, c.Summary)
		require.Contains(t, c.String(), name)
	}
	_, err := cryptogram.Lookup("visa17")
	require.ErrorIs(t, err, cryptogram.ErrUnknownCVN)
	require.Contains(t, err.Error(), "visa10")
	_, err = cryptogram.ByID(cryptogram.SchemeVisa, 0x10)
	require.ErrorIs(t, err, cryptogram.ErrUnknownCVN)
	require.Len(t, cryptogram.CVNs(), 8)
}

// The rules of each entry, as the product owner's table states them.
func TestTableRules(t *testing.T) {
	type rule struct {
		alg     keys.Alg
		session cryptogram.SessionMethod
		pad     mac.Padding
		compose cryptogram.Composition
		arpc    cryptogram.ARPCMethod
		key     cryptogram.ARPCKey
	}
	want := map[string]rule{
		"visa10": {keys.TDES, cryptogram.SessionNone, mac.Method1, cryptogram.ComposeCVR, cryptogram.ARPC1, cryptogram.ARPCWithMK},
		"visa18": {keys.TDES, cryptogram.SessionEMV, mac.Method2, cryptogram.ComposeIAD, cryptogram.ARPC2, cryptogram.ARPCWithSessionKey},
		"visa22": {keys.TDES, cryptogram.SessionEMV, mac.Method2, cryptogram.ComposeIAD, cryptogram.ARPC2, cryptogram.ARPCWithSessionKey},
		"mc16":   {keys.TDES, cryptogram.SessionMastercard, mac.Method2, cryptogram.ComposeCVR, cryptogram.ARPC1, cryptogram.ARPCWithMK},
		"mc17":   {keys.TDES, cryptogram.SessionMastercard, mac.Method2, cryptogram.ComposeCVRCounters, cryptogram.ARPC1, cryptogram.ARPCWithMK},
		"mc20":   {keys.TDES, cryptogram.SessionEMV, mac.Method2, cryptogram.ComposeCVR, cryptogram.ARPC1, cryptogram.ARPCWithSessionKey},
		"mc21":   {keys.TDES, cryptogram.SessionEMV, mac.Method2, cryptogram.ComposeCVRCounters, cryptogram.ARPC1, cryptogram.ARPCWithSessionKey},
		"aes":    {keys.AES, cryptogram.SessionEMV, mac.Method2, cryptogram.ComposeIAD, cryptogram.ARPC2, cryptogram.ARPCWithSessionKey},
	}
	for name, w := range want {
		c, err := cryptogram.Lookup(name)
		require.NoError(t, err)
		require.Equal(t, w, rule{c.Alg, c.Session, c.Padding, c.Compose, c.ARPCMethod, c.ARPCKey}, name)
	}
	c, _ := cryptogram.Lookup("aes")
	require.Equal(t, cryptogram.OptionC, c.Option)
}

// Published cryptograms (pyemv's HSM-checked Visa tests): IMK 0123..3210,
// PAN 1234567890123456, PSN 00.
func TestVisaCrossCheck(t *testing.T) {
	tags := cryptogram.Values{
		0x9F02: h("000000004000"), 0x9F03: h("000000000000"), 0x9F1A: h("0124"),
		0x95: h("8000048000"), 0x5F2A: h("0124"), 0x9A: h("191105"), 0x9C: h("01"),
		0x9F37: h("52BF4585"), 0x82: h("1800"), 0x9F36: h("001C"),
	}
	t.Run("visa10", func(t *testing.T) {
		c, err := cryptogram.Lookup("visa10")
		require.NoError(t, err)
		mk, err := c.DeriveMK(tdesIMK, "1234567890123456", "00")
		require.NoError(t, err)
		require.Equal(t, "BAB0", mk.KCVHex()[:4])
		tags[0x9F10] = h("06010A03A06010")
		arqc, err := c.GenerateAC(mk, tags)
		require.NoError(t, err)
		require.Equal(t, "29CCA15AE665FA2E", hx(arqc))
		require.NoError(t, c.VerifyARQC(mk, tags, arqc))
		arpc, err := c.ARPC(mk, tags, arqc, h("3030"), nil)
		require.NoError(t, err)
		require.Equal(t, "28993816AFAE4AEB", hx(arpc))
	})
	t.Run("visa18", func(t *testing.T) {
		c, err := cryptogram.Lookup("visa18")
		require.NoError(t, err)
		mk, err := c.DeriveMK(tdesIMK, "1234567890123456", "00")
		require.NoError(t, err)
		tags[0x9F10] = h("06011203A0B800")
		sk, err := c.ACKey(mk, tags)
		require.NoError(t, err)
		require.Equal(t, "22C8", sk.KCVHex()[:4])
		arqc, err := c.GenerateAC(mk, tags)
		require.NoError(t, err)
		require.Equal(t, "7A788EA6B8A3E733", hx(arqc))
		require.NoError(t, c.VerifyARQC(mk, tags, arqc))
		arpc, err := c.ARPC(mk, tags, arqc, h("00000000"), nil)
		require.NoError(t, err)
		require.Equal(t, "9AF514C1", hx(arpc))
	})
}

// Data composition, step by step, for every CVN.
func TestDataComposition(t *testing.T) {
	minSet := "000000004000 000000000000 0158 8000048000 0901 250314 00 52BF4585 1980 001C"
	want := map[string]string{
		"visa10": minSet + "03A06010",
		"visa18": minSet + sampleIAD["visa18"],
		"visa22": minSet + sampleIAD["visa22"],
		"mc16":   minSet + "A04000000000",
		"mc17":   minSet + "A04000000000 0001000200030004",
		"mc20":   minSet + "A04000000000",
		"mc21":   minSet + "A04000000000 0100020003000400",
		"aes":    minSet + sampleIAD["aes"],
	}
	for _, c := range cryptogram.CVNs() {
		t.Run(c.Name, func(t *testing.T) {
			got, err := c.Data(txTags(c.Name))
			require.NoError(t, err)
			require.Equal(t, hx(h(want[c.Name])), hx(got))
		})
	}
}

// The cryptogram of each CVN, recomputed from its parts: the session key
// rule, the data composition, and the MAC with the entry's padding.
func TestGenerateACFromParts(t *testing.T) {
	for _, c := range cryptogram.CVNs() {
		t.Run(c.Name, func(t *testing.T) {
			tags := txTags(c.Name)
			mk := iccMK(t, c)
			var sk keys.Key
			var err error
			switch c.Session {
			case cryptogram.SessionNone:
				sk = mk
			case cryptogram.SessionEMV:
				r := make([]byte, mk.BlockSize())
				copy(r, tags[0x9F36])
				sk, err = cryptogram.DeriveSessionKey(mk, r)
			case cryptogram.SessionMastercard:
				sk, err = cryptogram.DeriveSessionKey(mk, append(append(append([]byte{}, tags[0x9F36]...), 0, 0), tags[0x9F37]...))
			}
			require.NoError(t, err)
			data, err := c.Data(tags)
			require.NoError(t, err)
			var want []byte
			if c.Alg == keys.AES {
				full, err := mac.CMAC(sk, data)
				require.NoError(t, err)
				want = full[:8]
			} else {
				want, err = mac.Alg3(sk, data, c.Padding)
				require.NoError(t, err)
			}
			got, err := c.GenerateAC(mk, tags)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

// Generate on the card, verify at the issuer, answer with an ARPC, check it
// on the card: for every CVN.
func TestRoundTrip(t *testing.T) {
	for _, c := range cryptogram.CVNs() {
		t.Run(c.Name, func(t *testing.T) {
			tags := txTags(c.Name)
			mk := iccMK(t, c)
			arqc, err := c.GenerateAC(mk, tags)
			require.NoError(t, err)
			require.Len(t, arqc, 8)
			require.NoError(t, c.VerifyARQC(mk, tags, arqc))

			// the issuer finds the same entry from 9F10 alone
			found, err := cryptogram.DetectCVN(tags[0x9F10])
			require.NoError(t, err)
			require.Same(t, c, found)

			resp, prop := h("3030"), []byte(nil)
			if c.ARPCMethod == cryptogram.ARPC2 {
				resp, prop = h("00800000"), h("A1B2")
			}
			arpc, err := c.ARPC(mk, tags, arqc, resp, prop)
			require.NoError(t, err)
			if c.ARPCMethod == cryptogram.ARPC1 {
				require.Len(t, arpc, 8)
			} else {
				require.Len(t, arpc, 4)
			}
			require.NoError(t, c.VerifyARPC(mk, tags, arqc, resp, prop, arpc))
			bad := append([]byte{}, arpc...)
			bad[0] ^= 1
			require.ErrorIs(t, c.VerifyARPC(mk, tags, arqc, resp, prop, bad), cryptogram.ErrMismatch)
			if c.ARPCMethod == cryptogram.ARPC1 {
				require.ErrorIs(t, c.VerifyARPC(mk, tags, arqc, h("3031"), prop, arpc), cryptogram.ErrMismatch)
			} else {
				require.ErrorIs(t, c.VerifyARPC(mk, tags, arqc, resp, h("A1B3"), arpc), cryptogram.ErrMismatch)
			}

			// another card's key does not verify
			other, err := c.DeriveMK(map[keys.Alg]keys.Key{keys.TDES: tdesIMK, keys.AES: aesIMK}[c.Alg], "4761739001010028", "01")
			require.NoError(t, err)
			require.ErrorIs(t, c.VerifyARQC(other, tags, arqc), cryptogram.ErrMismatch)
		})
	}
}

// The ARPC of each entry uses the key its rule names.
func TestARPCKeyRule(t *testing.T) {
	for _, c := range cryptogram.CVNs() {
		t.Run(c.Name, func(t *testing.T) {
			tags := txTags(c.Name)
			mk := iccMK(t, c)
			arqc, err := c.GenerateAC(mk, tags)
			require.NoError(t, err)
			k := mk
			if c.ARPCKey == cryptogram.ARPCWithSessionKey {
				k, err = c.ACKey(mk, tags)
				require.NoError(t, err)
			}
			resp := h("0000")
			if c.ARPCMethod == cryptogram.ARPC2 {
				resp = h("00000000")
			}
			want, err := cryptogram.ComputeARPC(c.ARPCMethod, k, arqc, resp, nil)
			require.NoError(t, err)
			got, err := c.ARPC(mk, tags, arqc, resp, nil)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

// Any flipped bit in any data element the cryptogram covers, or in the
// cryptogram itself, fails verification (R-G2 integrity, R-G4: the UN and
// ATC are covered, so an old cryptogram does not fit a new transaction).
func TestVerifyFailsOnFlippedBit(t *testing.T) {
	for _, c := range cryptogram.CVNs() {
		t.Run(c.Name, func(t *testing.T) {
			tags := txTags(c.Name)
			mk := iccMK(t, c)
			arqc, err := c.GenerateAC(mk, tags)
			require.NoError(t, err)

			flip := func(tag uint32, i int, bit byte) cryptogram.Values {
				out := cryptogram.Values{}
				for k, v := range tags {
					out[k] = append([]byte{}, v...)
				}
				out[tag][i] ^= bit
				return out
			}
			for _, tag := range cryptogram.MinimumDataSet() {
				for i := range tags[tag] {
					for b := 0; b < 8; b++ {
						err := c.VerifyARQC(mk, flip(tag, i, 1<<b), arqc)
						require.ErrorIs(t, err, cryptogram.ErrMismatch, "tag %s byte %d bit %d", cryptogram.TagName(tag), i, b)
					}
				}
			}
			// the bytes of 9F10 the CVN covers
			for _, i := range coveredIAD(t, c) {
				for b := 0; b < 8; b++ {
					require.Error(t, c.VerifyARQC(mk, flip(0x9F10, i, 1<<b), arqc), "9F10 byte %d bit %d", i, b)
				}
			}
			for i := range arqc {
				bad := append([]byte{}, arqc...)
				bad[i] ^= 0x80
				require.ErrorIs(t, c.VerifyARQC(mk, tags, bad), cryptogram.ErrMismatch)
			}
		})
	}
}

// coveredIAD lists the bytes of 9F10 that c's cryptogram input takes.
func coveredIAD(t *testing.T, c *cryptogram.CVN) []int {
	t.Helper()
	span := func(from, to int) []int {
		var out []int
		for i := from; i < to; i++ {
			out = append(out, i)
		}
		return out
	}
	switch {
	case c.Compose == cryptogram.ComposeIAD:
		return span(0, len(h(sampleIAD[c.Name])))
	case c.Scheme == cryptogram.SchemeVisa:
		return span(3, 7) // CVR with its length byte
	case c.Compose == cryptogram.ComposeCVRCounters:
		return append(span(2, 8), span(10, 18)...) // CVR, counters (not the DAC)
	default:
		return span(2, 8)
	}
}

// The card side and the issuer side run from the same table entry: the card
// finds its entry by name (its profile), the issuer by the 9F10 it receives
// and by scheme and byte; all three are one pointer. And an entry's rules
// drive both sides: a copy of an entry with one rule changed generates and
// verifies consistently, while the original entry refuses its cryptogram.
func TestCardAndIssuerShareTheEntry(t *testing.T) {
	for _, card := range cryptogram.CVNs() {
		t.Run(card.Name, func(t *testing.T) {
			tags := txTags(card.Name)
			byName, err := cryptogram.Lookup(card.Name)
			require.NoError(t, err)
			byIAD, err := cryptogram.DetectCVN(tags[0x9F10])
			require.NoError(t, err)
			byID, err := cryptogram.ByID(card.Scheme, card.ID)
			require.NoError(t, err)
			require.Same(t, byName, byIAD)
			require.Same(t, byName, byID)

			variant := *byName
			if variant.Alg == keys.TDES {
				variant.Padding = 3 - variant.Padding // method 1 <-> method 2
			} else {
				variant.Compose = cryptogram.ComposeCVR
			}
			mk := iccMK(t, byName)
			arqc, err := variant.GenerateAC(mk, tags)
			require.NoError(t, err)
			require.NoError(t, variant.VerifyARQC(mk, tags, arqc))
			require.ErrorIs(t, byIAD.VerifyARQC(mk, tags, arqc), cryptogram.ErrMismatch)
		})
	}
}

func TestCVNErrors(t *testing.T) {
	visa10, _ := cryptogram.Lookup("visa10")
	mc17, _ := cryptogram.Lookup("mc17")
	mc16, _ := cryptogram.Lookup("mc16")
	aes, _ := cryptogram.Lookup("aes")
	mk := iccMK(t, visa10)

	t.Run("missing tag names the tag", func(t *testing.T) {
		for _, tag := range append(cryptogram.MinimumDataSet(), 0x9F10) {
			tags := txTags("visa10")
			delete(tags, tag)
			_, err := visa10.GenerateAC(mk, tags)
			require.ErrorIs(t, err, cryptogram.ErrMissingTag)
			var te *cryptogram.TagError
			require.True(t, errors.As(err, &te))
			require.Equal(t, tag, te.Tag)
			require.Contains(t, err.Error(), cryptogram.TagName(tag))
		}
	})
	t.Run("wrong length names the tag", func(t *testing.T) {
		tags := txTags("visa10")
		tags[0x9F37] = h("010203")
		_, err := visa10.GenerateAC(mk, tags)
		require.ErrorIs(t, err, cryptogram.ErrTagLength)
		require.EqualError(t, err, "cryptogram: data element of wrong length 9F37: 3 bytes, want 4")
	})
	t.Run("nil source", func(t *testing.T) {
		_, err := visa10.Data(nil)
		require.ErrorIs(t, err, cryptogram.ErrMissingTag)
	})
	t.Run("9F10 of another CVN", func(t *testing.T) {
		tags := txTags("visa18")
		_, err := visa10.GenerateAC(mk, tags)
		require.ErrorIs(t, err, cryptogram.ErrCVNMismatch)
	})
	t.Run("counters missing for mc17", func(t *testing.T) {
		tags := txTags("mc17")
		tags[0x9F10] = h("0111A04000000000 1234")
		_, err := mc17.Data(tags)
		require.ErrorIs(t, err, cryptogram.ErrIAD)
	})
	t.Run("bad 9F10", func(t *testing.T) {
		tags := txTags("visa10")
		tags[0x9F10] = h("06010A")
		_, err := visa10.Data(tags)
		require.ErrorIs(t, err, cryptogram.ErrIAD)
	})
	t.Run("wrong key algorithm", func(t *testing.T) {
		_, err := aes.GenerateAC(mk, txTags("aes"))
		require.ErrorIs(t, err, cryptogram.ErrKey)
		_, err = aes.DeriveMK(tdesIMK, "4761739001010010", "01")
		require.ErrorIs(t, err, cryptogram.ErrKey)
		_, err = visa10.GenerateAC(keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567"), txTags("visa10"))
		require.ErrorIs(t, err, cryptogram.ErrKey)
		_, err = mc16.ARPC(keys.Key{}, txTags("mc16"), h("0102030405060708"), h("0000"), nil)
		require.ErrorIs(t, err, cryptogram.ErrKey)
	})
	t.Run("ARQC of wrong length", func(t *testing.T) {
		require.ErrorIs(t, visa10.VerifyARQC(mk, txTags("visa10"), h("01020304")), cryptogram.ErrLength)
	})
	t.Run("ARPC inputs", func(t *testing.T) {
		_, err := visa10.ARPC(mk, txTags("visa10"), h("0102030405060708"), h("00000000"), nil)
		require.ErrorIs(t, err, cryptogram.ErrLength)
		_, err = visa10.ARPC(mk, txTags("visa10"), h("0102030405060708"), h("0000"), h("01"))
		require.ErrorIs(t, err, cryptogram.ErrLength)
	})
	t.Run("errors show no key or PAN", func(t *testing.T) {
		_, err := visa10.DeriveMK(aesIMK, "4761739001010010", "01")
		require.Error(t, err)
		require.NotContains(t, err.Error(), "0001020304")
		require.NotContains(t, err.Error(), "4761739001010010")
		require.NotContains(t, fmt.Sprint(mk), hx(mk.Bytes()))
	})
}
