package lab

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
)

// R-M7, R-S3d, R-S3f, R-S5c: an issuer run on its own enrols its sample
// HCE phones with its own cloud platform when it makes its data: the
// phone's storage in the data directory (0600) holds the emulated card and
// its keys wrapped for the device, never the funding card's number; the
// platform's public keys are published beside it; a second run changes
// nothing.
func TestEnrolIssuerSampleHCE(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	r, err := OpenIssuer(ctx, dir, "", nil)
	require.NoError(t, err)
	defer r.Close()
	_, _, err = InitIssuer(ctx, r)
	require.NoError(t, err)
	pub, err := PublishCloudKeys(r, dir)
	require.NoError(t, err)
	got, err := ReadCloudKeys(dir)
	require.NoError(t, err)
	require.True(t, pub.Sign.Equal(got.Sign))

	lines, err := EnrolIssuerSampleHCE(ctx, r, dir, IssuerHCEOptions{Rand: newSeededRand(51)})
	require.NoError(t, err)
	require.Len(t, lines, 2)
	for _, name := range SampleHCEProfiles {
		b, err := os.ReadFile(HCEPhoneFile(dir, name))
		require.NoError(t, err)
		p, err := cards.Builtin(name)
		require.NoError(t, err)
		require.NotContains(t, string(b), p.App.Token.FundingPAN, "the funding card stays at the platform (R-S5c)")
		require.NotContains(t, string(b), p.App.PAN, "the cloud account number is sealed in the phone's storage")
		st, err := os.Stat(HCEPhoneFile(dir, name))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
		hp, err := OpenIssuerHCEPhone(dir, name, time.Now, nil)
		require.NoError(t, err)
		require.Equal(t, 5, hp.Card.KeysLeft())
		ph, ok := cards.Phone(hp.Phone)
		require.True(t, ok)
		require.NoError(t, ph.Unlock("5791"))
	}
	again, err := EnrolIssuerSampleHCE(ctx, r, dir, IssuerHCEOptions{})
	require.NoError(t, err)
	require.Empty(t, again, "phones already enrolled are left alone")

	_, err = OpenIssuerHCEPhone(t.TempDir(), SampleHCEProfile, nil, nil)
	require.ErrorIs(t, err, ErrNoHCEPhone)
	_, err = OpenIssuerHCEPhone(dir, "visa-plastic", nil, nil)
	require.Error(t, err)
}
