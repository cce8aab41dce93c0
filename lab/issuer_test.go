package lab

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// The sample data agree with the card profiles: every chip card and token
// is in the store with its profile's CVN and master key, every PIN is
// 1234; an HCE phone's card comes from the cloud platform (R-S5b, R-S3f).
func TestIssuerSampleSeed(t *testing.T) {
	ctx := context.Background()
	r, err := OpenIssuer(ctx, t.TempDir(), "", nil)
	require.NoError(t, err)
	defer r.Close()
	created, seed, err := InitIssuer(ctx, r)
	require.NoError(t, err)
	require.True(t, created)

	zpk := keys.MustHex(keys.TDES, ZPK)
	zpkH, err := r.HSM.Lookup(issuerhost.DefaultKeys().ZPK)
	require.NoError(t, err)
	pvkH, err := r.HSM.Lookup(issuerhost.DefaultKeys().PVK)
	require.NoError(t, err)
	checkPIN := func(p string, pvki int, pvv string) {
		clear, err := pin.Encode(pin.Format0, SamplePIN, p, nil)
		require.NoError(t, err)
		block, err := pin.Encrypt(zpk, clear)
		require.NoError(t, err)
		require.NoError(t, r.HSM.VerifyPIN(zpkH, block, p, pvkH, pvki, pvv))
	}
	for _, c := range seed.Cards {
		checkPIN(c.PAN, c.PVKI, c.PVV)
		// Every sample cardholder can receive a one-time password (R-G3e);
		// the load cards serve load runs only.
		if !IsLoadCard(c.ID) {
			require.NotEmpty(t, c.Phone, c.ID)
			require.NotEmpty(t, c.Email, c.ID)
		}
	}
	// The card verification key checks the security code a cardholder
	// types into a wallet.
	_, err = issuerhost.SampleCVV2(r.HSM, seed.Cards[0].PAN, "2912")
	require.NoError(t, err)
	for _, k := range seed.Tokens {
		checkPIN(k.Number, k.PVKI, k.PVV)
	}

	for _, name := range cards.BuiltinNames() {
		p, err := cards.Builtin(name)
		require.NoError(t, err)
		if p.FormFactor == cards.FormHCEPhone {
			continue // its card comes from the cloud platform (EnrolIssuerSampleHCE)
		}
		apps := p.Apps
		if p.App != nil {
			apps = append(apps, *p.App)
		}
		for _, a := range apps {
			if a.CVN == "" {
				continue
			}
			require.NoError(t, r.DB.View(ctx, func(tx *store.Tx) error {
				cvn, imk := "", ""
				if c, err := tx.CardByPAN(ctx, a.PAN); err == nil {
					cvn, imk = c.CVN, c.IMKRef
				} else {
					k, err := tx.TokenByNumber(ctx, a.PAN)
					require.NoError(t, err, "profile %s", name)
					cvn, imk = k.CVN, k.IMKRef
					c, err := tx.Card(ctx, k.CardID)
					require.NoError(t, err)
					require.Equal(t, a.Token.FundingPAN, c.PAN, "token vault of %s", name)
				}
				require.Equal(t, a.CVN, cvn, name)
				h, err := r.HSM.Lookup(imk)
				require.NoError(t, err)
				require.Equal(t, keys.MustHex(keys.TDES, fmt.Sprintf("%X", []byte(a.IMK))).KCVHex(), h.KCV, name)
				return nil
			}))
		}
	}
}
