package kernel_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/kerneltest"
)

var visaRID = [5]byte{0xA0, 0, 0, 0, 0x03}

func TestLookupCAKey(t *testing.T) {
	p, err := kerneltest.NewPKI("476173")
	require.NoError(t, err)
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	cfg := kernel.DefaultConfig()
	cfg.CAPublicKeys = p.CAPublicKeys()

	k, err := cfg.LookupCAKey(oda.TestRID, kerneltest.CAIndex, now)
	require.NoError(t, err)
	require.Equal(t, oda.TestRID, k.RID)

	// A scheme RID without its own key falls back to the test CA...
	k, err = cfg.LookupCAKey(visaRID, kerneltest.CAIndex, now)
	require.NoError(t, err)
	require.Equal(t, oda.TestRID, k.RID)
	// ...but not for an index the test CA does not have, which is
	// reported under the card's RID, never the test CA's...
	_, err = cfg.LookupCAKey(visaRID, 0x92, now)
	require.ErrorIs(t, err, oda.ErrUnknownCA)
	require.Contains(t, err.Error(), "A000000003/92")
	require.NotContains(t, err.Error(), "F000000001")
	// ...and not at all when the terminal does not accept the test CA.
	cfg.AcceptTestCA = false
	_, err = cfg.LookupCAKey(visaRID, kerneltest.CAIndex, now)
	require.ErrorIs(t, err, oda.ErrUnknownCA)
	require.Contains(t, err.Error(), "A000000003/01")

	// An expired CA key is refused.
	cfg.AcceptTestCA = true
	cfg.CAPublicKeys[0].Expiry = now.AddDate(0, 0, -1)
	_, err = cfg.LookupCAKey(oda.TestRID, kerneltest.CAIndex, now)
	require.ErrorIs(t, err, oda.ErrExpired)
}

// TestRecoverICCKey walks the chain of a test card: CA key, issuer
// certificate, ICC certificate over the static data.
func TestRecoverICCKey(t *testing.T) {
	const pan = "4761739001010119"
	p, err := kerneltest.NewPKI("476173")
	require.NoError(t, err)
	static := []byte{0x5A, 0x08, 0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19, 0x20, 0x00}
	icc, err := p.ICC(pan, static)
	require.NoError(t, err)
	card := tlv.Map{
		0x5A:   {0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19},
		0x8F:   {kerneltest.CAIndex},
		0x90:   p.Issuer.Certificate.Data,
		0x92:   p.Issuer.Certificate.Remainder,
		0x9F32: p.Issuer.Certificate.Exponent,
		0x9F46: icc.Certificate.Data,
		0x9F47: icc.Certificate.Exponent,
		0x9F48: icc.Certificate.Remainder,
	}
	cfg := kernel.DefaultConfig()
	cfg.CAPublicKeys = p.CAPublicKeys()
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	aid := []byte{0xA0, 0, 0, 0, 0x03, 0x10, 0x10}

	got, err := kernel.RecoverICCKey(&cfg, aid, card, static, now)
	require.NoError(t, err)
	require.True(t, got.PublicKey.Equal(icc.PublicKey()))

	// Other static data: the ICC certificate's hash does not match.
	_, err = kernel.RecoverICCKey(&cfg, aid, card, append([]byte{0}, static...), now)
	require.ErrorIs(t, err, oda.ErrHash)

	// A flipped byte in the issuer certificate.
	bad := tlv.Map{}
	for k, v := range card {
		bad[k] = v
	}
	cert := append([]byte(nil), card[0x90]...)
	cert[10] ^= 0x01
	bad[0x90] = cert
	_, err = kernel.RecoverICCKey(&cfg, aid, bad, static, now)
	require.Error(t, err)

	// Another PAN than the one certified.
	bad[0x90] = card[0x90]
	bad[0x5A] = []byte{0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x27}
	_, err = kernel.RecoverICCKey(&cfg, aid, bad, static, now)
	require.ErrorIs(t, err, oda.ErrPAN)

	// Missing data.
	for _, tag := range []tlv.Tag{0x8F, 0x90, 0x9F32, 0x9F46, 0x9F47, 0x5A} {
		m := tlv.Map{}
		for k, v := range card {
			if k != tag {
				m[k] = v
			}
		}
		_, err := kernel.RecoverICCKey(&cfg, aid, m, static, now)
		require.ErrorIs(t, err, kernel.ErrODAData, "without %s", tag)
	}
	_, err = kernel.RecoverICCKey(&cfg, aid[:3], card, static, now)
	require.ErrorIs(t, err, kernel.ErrODAData, "AID too short")

	// No CA key at all.
	cfg.CAPublicKeys = nil
	_, err = kernel.RecoverICCKey(&cfg, aid, card, static, now)
	require.ErrorIs(t, err, oda.ErrUnknownCA)
}
