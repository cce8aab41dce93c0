package lab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/hsm"
)

// R-S5a: the token service's, the issuer's and the HCE cloud platform's
// JOSE keys are key pairs in the issuer's security module, found again when the world starts again on
// the same data directory.
func TestProvisioningKeysInIssuerHSM(t *testing.T) {
	dir := t.TempDir()
	start := func() *Network {
		n, err := Start(context.Background(), Options{Dir: dir, IssuerTimeout: 500 * time.Millisecond})
		require.NoError(t, err)
		return n
	}
	n := start()
	p := n.Provisioning()
	require.True(t, p.tsp.InHSM())
	require.True(t, p.issuer.InHSM())
	kids := map[string]string{}
	for _, c := range []struct {
		label string
		usage hsm.Usage
	}{
		{TokenServiceKeys + "/sign", hsm.UsageECSign},
		{TokenServiceKeys + "/enc", hsm.UsageECDH},
		{IssuerPartyKeys + "/sign", hsm.UsageECSign},
		{IssuerPartyKeys + "/enc", hsm.UsageECDH},
		{CloudPartyKeys + "/sign", hsm.UsageECSign},
		{CloudPartyKeys + "/enc", hsm.UsageECDH},
	} {
		h, err := n.issuer.HSM.Lookup(c.label)
		require.NoError(t, err, c.label)
		require.Equal(t, c.usage, h.Usage)
		kids[c.label] = h.KCV
	}
	tspKeys := p.tsp.Public()
	require.NoError(t, n.Close())

	n = start()
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	again := n.Provisioning().tsp.Public()
	require.Equal(t, tspKeys.SignKID, again.SignKID)
	require.Equal(t, tspKeys.EncKID, again.EncKID)
	for label, kcv := range kids {
		h, err := n.issuer.HSM.Lookup(label)
		require.NoError(t, err)
		require.Equal(t, kcv, h.KCV)
	}
}
