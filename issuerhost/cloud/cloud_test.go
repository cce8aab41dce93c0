package cloud_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
)

var ctx = context.Background()

const device = "3520990017614823"

// R-C1: a lost phone's tokens and keys are suspended at once, and its taps
// are declined.
func TestReportLost(t *testing.T) {
	n := issuertest.New(t)
	e, err := authz.New(n.DB, n.HSM, authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Now: n.Clock.Now, Cloud: n.Cloud})
	require.NoError(t, err)
	d, err := e.Authorize(ctx, n.Request(issuertest.HCE, issuertest.Tap{Amount: 100, CDCVM: true}))
	require.NoError(t, err)
	require.Equal(t, authz.Approved, d.Reason)

	rep, err := cloud.ReportLost(ctx, n.DB, device, "cardholder called", n.Clock.Now())
	require.NoError(t, err)
	require.Equal(t, []string{issuertest.HCE}, rep.TokensSuspended)

	d, err = e.Authorize(ctx, n.Request(issuertest.HCE, issuertest.Tap{Amount: 100, CDCVM: true}))
	require.NoError(t, err)
	require.Equal(t, authz.TokenSuspended, d.Reason)
	require.Equal(t, "62", d.Code)

	// The other HCE phone is untouched.
	d, err = e.Authorize(ctx, n.Request(issuertest.HCEMC, issuertest.Tap{Amount: 100, CDCVM: true}))
	require.NoError(t, err)
	require.Equal(t, authz.Approved, d.Reason)

	_, err = cloud.ReportLost(ctx, n.DB, "0102030405060708", "", n.Clock.Now())
	require.ErrorIs(t, err, cloud.ErrDevice)
	_, err = cloud.ReportLost(ctx, n.DB, "not hex", "", n.Clock.Now())
	require.ErrorIs(t, err, cloud.ErrDevice)

	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		trail, err := tx.AuditTrail(ctx)
		require.NoError(t, err)
		var actions []string
		for _, e := range trail {
			if e.Actor == cloud.Actor {
				actions = append(actions, e.Action)
				if e.Action == "device.lost" {
					require.Contains(t, e.Detail, "R-C1")
				}
			}
		}
		require.Contains(t, actions, "device.lost")
		return nil
	}))
}
