package authz_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/issuerhost/authz"
)

// layout is where the parts of 9F10 sit in a CVN's layout, with a device
// binding: offsets of one CVR byte, one counter byte (-1: none) and the
// binding's 'D1'.
type layout struct {
	iad                []byte
	cvr, counter, bind int
}

func iadWithBinding(cvn *cryptogram.CVN) layout {
	dev := []byte{0xD1, 0x35, 0x20, 0x99, 0x00, 0x17, 0x61, 0x48, 0x23}
	switch {
	case cvn.Scheme == cryptogram.SchemeVisa && cvn.ID == 0x22:
		iad := make([]byte, 32)
		iad[0], iad[1], iad[2], iad[3] = 0x1F, cvn.ID, 0x01, 0x20
		copy(iad[8:], dev)
		return layout{iad, 5, -1, 8}
	case cvn.Scheme == cryptogram.SchemeVisa:
		idd := make([]byte, 15)
		copy(idd, dev)
		iad := append([]byte{0x06, 0x01, cvn.ID, 0x03, 0x20, 0x00, 0x00, 0x0F}, idd...)
		return layout{iad, 6, -1, 8}
	case cvn.Scheme == cryptogram.SchemeMastercard:
		iad := append([]byte{0x01, cvn.ID, 0x20, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 8)...)
		iad = append(iad, dev...)
		return layout{iad, 7, 12, 18}
	}
	idd := make([]byte, 15)
	copy(idd, dev)
	iad := append([]byte{0x0F, cvn.ID, 0x01, 0x20, 0, 0, 0, 0}, make([]byte, 8)...)
	iad = append(append(iad, 0x0F), idd...)
	return layout{iad, 5, 10, 17}
}

// The coverage table (authz.Covered, COVERAGE.md) is what the
// cryptograms do: changing any covered field breaks a genuine cryptogram
// of that CVN, changing a part of 9F10 the table leaves out does not. This
// is why the engine trusts the covered fields once the ARQC verified, and
// takes the others as claims only (R-G2, R-S5d).
func TestCoveredIsWhatTheCryptogramCovers(t *testing.T) {
	for _, cvn := range cryptogram.CVNs() {
		t.Run(cvn.Name, func(t *testing.T) {
			covered, err := authz.Covered(cvn.Name)
			require.NoError(t, err)
			mk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
			if cvn.Alg == keys.AES {
				mk = keys.MustHex(keys.AES, "00112233445566778899AABBCCDDEEFF")
			}
			lay := iadWithBinding(cvn)
			tags := cryptogram.Values{
				0x9F02: {0, 0, 0, 0x15, 0, 0}, 0x9F03: make([]byte, 6), 0x9F1A: {0x01, 0x58}, 0x95: make([]byte, 5),
				0x5F2A: {0x09, 0x01}, 0x9A: {0x26, 0x03, 0x15}, 0x9C: {0x00}, 0x9F37: {1, 2, 3, 4}, 0x82: {0x20, 0x00},
				0x9F36: {0x00, 0x07}, 0x9F10: lay.iad,
			}
			ac, err := cvn.GenerateAC(mk, tags)
			require.NoError(t, err)
			require.NotEmpty(t, authz.DeviceFromIAD(lay.iad, cvn.Scheme), "the binding is where the engine reads it")

			verifies := func(tag uint32, mutate func(v []byte)) bool {
				t.Helper()
				c := cryptogram.Values{}
				for k, v := range tags {
					c[k] = bytes.Clone(v)
				}
				mutate(c[tag])
				return cvn.VerifyARQC(mk, c, ac) == nil
			}
			require.True(t, verifies(0x9F02, func([]byte) {}), "genuine")

			for _, tag := range cryptogram.MinimumDataSet() {
				require.Contains(t, covered, authz.TagField(tag))
				require.False(t, verifies(tag, func(v []byte) { v[len(v)-1] ^= 0x01 }), "%X is covered", tag)
			}
			require.Contains(t, covered, authz.FieldCVR, "every CVN covers the CVR")
			require.False(t, verifies(0x9F10, func(v []byte) { v[lay.cvr] ^= 0x01 }), "CVR (with its CDCVM flag)")

			if lay.counter >= 0 {
				want := authz.Covers(cvn.Name, authz.FieldCounters)
				require.Equal(t, want, !verifies(0x9F10, func(v []byte) { v[lay.counter] ^= 0x01 }), "counters covered: %v", want)
			}
			want := authz.Covers(cvn.Name, authz.FieldDeviceBinding)
			require.Equal(t, want, !verifies(0x9F10, func(v []byte) { v[lay.bind+3] ^= 0x01 }), "device binding covered: %v", want)
			require.Equal(t, want, authz.Covers(cvn.Name, authz.FieldIAD), "the binding is covered only with the whole of 9F10")
		})
	}
	_, err := authz.Covered("visa99")
	require.Error(t, err)
	require.False(t, authz.Covers("visa99", "9F02"))
	for _, f := range authz.Advisory() {
		for _, cvn := range cryptogram.Names() {
			require.False(t, authz.Covers(cvn, f), "%s is advisory, yet %s covers it", f, cvn)
		}
	}
}

// The table as documented, CVN by CVN.
func TestCoveredTable(t *testing.T) {
	for _, tc := range []struct {
		cvn                      string
		whole, counters, binding bool
	}{
		{"visa10", false, false, false},
		{"visa18", true, false, true},
		{"visa22", true, false, true},
		{"mc16", false, false, false},
		{"mc17", false, true, false},
		{"mc20", false, false, false},
		{"mc21", false, true, false},
		{"aes", true, true, true},
	} {
		require.True(t, authz.Covers(tc.cvn, authz.FieldCVR), tc.cvn)
		require.Equal(t, tc.whole, authz.Covers(tc.cvn, authz.FieldIAD), tc.cvn)
		require.Equal(t, tc.counters, authz.Covers(tc.cvn, authz.FieldCounters), tc.cvn)
		require.Equal(t, tc.binding, authz.Covers(tc.cvn, authz.FieldDeviceBinding), tc.cvn)
		for _, tag := range []uint32{0x9F02, 0x5F2A, 0x9C, 0x9A} {
			require.True(t, authz.Covers(tc.cvn, authz.TagField(tag)), "%s %X", tc.cvn, tag)
		}
		for _, f := range []authz.Field{authz.FieldCVMResults, authz.FieldCTQ, authz.FieldTokenRequestor, authz.FieldPrivateDevice, authz.FieldPrivateCDCVM} {
			require.False(t, authz.Covers(tc.cvn, f), "%s %s", tc.cvn, f)
		}
	}
}
