package testca

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tapsim/tapsim/emv/oda"
)

// capkEntry is one item of capk.yaml.
type capkEntry struct {
	RID      string `yaml:"rid"`
	Index    string `yaml:"index"`
	Modulus  string `yaml:"modulus"`
	Exponent string `yaml:"exponent"`
	Checksum string `yaml:"checksum"`
}

// capk.yaml holds exactly the public halves of the embedded CA keys.
func TestCAPKFileMatchesEmbeddedKeys(t *testing.T) {
	var file struct {
		Keys []capkEntry `yaml:"keys"`
	}
	require.NoError(t, yaml.Unmarshal(CAPKFile(), &file))
	entries := file.Keys
	pubs, err := CAPublicKeys()
	require.NoError(t, err)
	require.Len(t, entries, len(pubs))
	for i, e := range entries {
		want := pubs[i]
		rid, err := hex.DecodeString(e.RID)
		require.NoError(t, err)
		require.Equal(t, oda.TestRID[:], rid)
		idx, err := strconv.ParseUint(e.Index, 16, 8)
		require.NoError(t, err)
		require.Equal(t, want.Index, byte(idx))
		mod, err := hex.DecodeString(e.Modulus)
		require.NoError(t, err)
		require.Equal(t, want.Modulus, mod)
		exp, err := hex.DecodeString(e.Exponent)
		require.NoError(t, err)
		require.Equal(t, want.Exponent, exp)
		sum, err := hex.DecodeString(e.Checksum)
		require.NoError(t, err)
		require.NoError(t, want.VerifyChecksum(sum))
		require.NoError(t, want.Validate())
	}
	require.Equal(t, string(MarshalCAPK(pubs)), string(CAPKFile()), "capk.yaml is what MarshalCAPK writes")
}

func TestCAKeys(t *testing.T) {
	require.Equal(t, []byte{1, 2}, CAIndexes())
	for _, tt := range []struct {
		index byte
		bits  int
	}{{CAIndex1408, 1408}, {CAIndex1984, 1984}} {
		ca, err := CA(tt.index)
		require.NoError(t, err)
		pub := ca.PublicKey()
		require.Equal(t, oda.TestRID, pub.RID)
		require.Equal(t, tt.index, pub.Index)
		require.Equal(t, tt.bits, pub.Key().Bits())
		require.Equal(t, []byte{3}, pub.Exponent)
	}
	_, err := CA(0x03)
	require.ErrorIs(t, err, ErrUnknownKey)
	_, err = IssuerKey("icc-a")
	require.ErrorIs(t, err, ErrUnknownKey)
	_, err = ICCKey("nope")
	require.ErrorIs(t, err, ErrUnknownKey)
}

// The whole chain verifies with emv/oda as a terminal would verify it: CA
// public key -> issuer certificate -> ICC certificate -> dynamic signature.
func TestChainVerifies(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	pan := "4761739001010010"
	static := []byte("static data to be authenticated")
	pubs, err := CAPublicKeys()
	require.NoError(t, err)
	for _, c := range []struct {
		ca     byte
		issuer string
		icc    string
	}{
		{CAIndex1408, "issuer-a", "icc-a"},
		{CAIndex1408, "issuer-b", "icc-b"},
		{CAIndex1984, "issuer-a", "icc-c"},
		{CAIndex1984, "issuer-b", "icc-d"},
	} {
		t.Run(fmt.Sprintf("%02X/%s/%s", c.ca, c.issuer, c.icc), func(t *testing.T) {
			is, err := Issuer(c.ca, c.issuer, oda.IssuerTemplate{IssuerID: "476173", Expiry: oda.Date{Year: 2030, Month: 12}, Serial: [3]byte{0, 0, 1}})
			require.NoError(t, err)
			icc, err := ICC(is, c.icc, oda.ICCTemplate{PAN: pan, Expiry: oda.Date{Year: 2029, Month: 6}, Serial: [3]byte{0, 0, 2}, StaticData: static})
			require.NoError(t, err)

			capk := pubs[c.ca-1]
			ipk, err := oda.RecoverIssuerPublicKey(capk, is.Certificate, pan, now)
			require.NoError(t, err)
			require.True(t, ipk.PublicKey.Equal(is.PublicKey()))
			cpk, err := oda.RecoverICCPublicKey(ipk.PublicKey, icc.Certificate, pan, static, now)
			require.NoError(t, err)
			require.True(t, cpk.PublicKey.Equal(icc.PublicKey()))

			sdad, err := icc.SignDDA([]byte{0x00, 0x07}, []byte{1, 2, 3, 4})
			require.NoError(t, err)
			d, err := oda.VerifyDDA(cpk.PublicKey, sdad, []byte{1, 2, 3, 4})
			require.NoError(t, err)
			require.Equal(t, []byte{0x00, 0x07}, d.Number)

			// A tampered certificate no longer recovers.
			_, err = oda.RecoverIssuerPublicKey(capk, Tamper(is.Certificate), pan, now)
			require.Error(t, err)
			_, err = oda.RecoverICCPublicKey(ipk.PublicKey, Tamper(icc.Certificate), pan, static, now)
			require.Error(t, err)
		})
	}
}

func TestTamperCopies(t *testing.T) {
	c := oda.Certificate{Data: []byte{1, 2, 3, 4}, Remainder: []byte{5}, Exponent: []byte{3}}
	x := Tamper(c)
	require.Equal(t, []byte{1, 2, 3, 4}, c.Data, "input unchanged")
	require.NotEqual(t, c.Data, x.Data)
	require.Equal(t, c.Remainder, x.Remainder)
	require.Empty(t, Tamper(oda.Certificate{}).Data)
}

func TestKeyNames(t *testing.T) {
	for _, n := range IssuerKeyNames() {
		_, err := IssuerKey(n)
		require.NoError(t, err)
	}
	for _, n := range ICCKeyNames() {
		_, err := ICCKey(n)
		require.NoError(t, err)
	}
}
