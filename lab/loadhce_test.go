package lab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// Load HCE phones: each enrols on its own card account with the world's
// cloud platform, taps with its holder verified, and replenishes through
// the platform whenever its keys run low.
func TestLoadHCEPhone(t *testing.T) {
	ctx := context.Background()
	clk := wiretest.NewClock(time.Now())
	n, err := Start(ctx, Options{Dir: t.TempDir(), Rand: newSeededRand(31), Clock: clk.Now, IssuerTimeout: testIssuerTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	cl := n.Cloud()
	for _, name := range LoadHCEProfiles() {
		var phones []*LoadHCEPhone
		for i := range 2 {
			p, err := n.LoadHCEPhone(ctx, name, i)
			require.NoError(t, err, name)
			phones = append(phones, p)
		}
		require.NotEqual(t, phones[0].Masked, phones[1].Masked)
		for k := range 12 {
			for _, p := range phones {
				clk.Advance(sampleReplenishInterval)
				require.NoError(t, p.Ready(ctx))
				code, why, err := cl.Tap(ctx, p.Phone, "", 100100)
				require.NoError(t, err)
				require.Equal(t, isospec.RCApproved, code, "%s tap %d: %s", name, k+1, why)
			}
		}
	}
	_, err = n.LoadHCEPhone(ctx, "visa-plastic", 0)
	require.ErrorIs(t, err, ErrHCEProfile)
}
