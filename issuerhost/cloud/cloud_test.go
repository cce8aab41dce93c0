package cloud_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/keyblock"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
)

var ctx = context.Background()

const device = "3520990017614823"

func platform(t *testing.T, n *issuertest.Net) *cloud.Platform {
	t.Helper()
	p, err := cloud.New(n.DB, n.HSM, cloud.Config{KEK: n.Keys.KEK, Now: n.Clock.Now})
	require.NoError(t, err)
	return p
}

// The keys of a batch, opened with the transport key, are the EMV common
// session keys of their ATCs under the card's master key: what the phone
// computes its cryptograms with (R-S5b, R-S3f).
func TestIssueBatch(t *testing.T) {
	n := issuertest.New(t)
	p := platform(t, n)
	b, err := p.IssueBatch(ctx, issuertest.HCE, device, 4)
	require.NoError(t, err)
	require.Equal(t, uint16(6), b.FirstATC, "after the 5 keys the phone was made with")
	require.Len(t, b.Keys, 4)
	require.Equal(t, issuertest.Start.Add(30*24*3600e9), b.ExpiresAt)
	require.NotContains(t, b.String(), "block")

	ks, err := keyblock.OpenHCEKeys(keys.MustHex(keys.AES, issuertest.KEKHex), b.Keys)
	require.NoError(t, err)
	c := n.Cards[issuertest.HCE]
	for i, k := range ks {
		atc := uint16(6 + i)
		require.Equal(t, atc, k.ATC)
		want, err := cryptogram.SessionKey(cryptogram.SessionEMV, c.MK, []byte{byte(atc >> 8), byte(atc)}, nil)
		require.NoError(t, err)
		require.Equal(t, want.Bytes(), k.Key.Bytes())
	}

	// A wrong transport key opens nothing.
	_, err = keyblock.OpenHCEKeys(keys.MustHex(keys.AES, "00112233445566778899AABBCCDDEEFF"), b.Keys)
	require.Error(t, err)

	// The batch is recorded as issued to this phone.
	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		k, err := tx.HCEKey(ctx, issuertest.HCE, 9)
		require.NoError(t, err)
		require.Equal(t, "3520990017614823", k.DeviceID)
		require.Equal(t, store.KeyIssued, k.Status)
		return nil
	}))
	usable, err := p.UsableKeys(ctx, issuertest.HCE, device)
	require.NoError(t, err)
	require.Equal(t, 9, usable)

	// And a key of it pays.
	e, err := authz.New(n.DB, n.HSM, authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Now: n.Clock.Now})
	require.NoError(t, err)
	sk := ks[0].Key
	d, err := e.Authorize(ctx, n.Request(issuertest.HCE, issuertest.Tap{Amount: 100, CDCVM: true, ATC: 6, Key: &sk}))
	require.NoError(t, err)
	require.Equal(t, authz.Approved, d.Reason, d.String())
}

// A new batch starts after the highest ATC seen, too.
func TestBatchAfterHighWater(t *testing.T) {
	n := issuertest.New(t)
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.RaiseATC(ctx, "token:"+issuertest.HCE, 40, issuertest.Start)
	}))
	b, err := platform(t, n).IssueBatch(ctx, issuertest.HCE, device, 0)
	require.NoError(t, err)
	require.Equal(t, uint16(41), b.FirstATC)
	require.Len(t, b.Keys, 5, "the default batch size")
}

func TestIssueBatchRefusals(t *testing.T) {
	n := issuertest.New(t)
	p := platform(t, n)
	_, err := p.IssueBatch(ctx, issuertest.HCE, "0102030405060708", 1)
	require.ErrorIs(t, err, cloud.ErrDevice, "not registered")
	_, err = p.IssueBatch(ctx, issuertest.Wallet, device, 1)
	require.ErrorIs(t, err, cloud.ErrNotHCE)
	_, err = p.IssueBatch(ctx, issuertest.HCE, device, cloud.MaxBatch+1)
	require.ErrorIs(t, err, cloud.ErrBatch)
	_, err = p.IssueBatch(ctx, issuertest.HCE, "xyz", 1)
	require.ErrorIs(t, err, cloud.ErrDevice)
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.SetTokenStatus(ctx, issuertest.HCE, store.TokenSuspended, issuertest.Start)
	}))
	_, err = p.IssueBatch(ctx, issuertest.HCE, device, 1)
	require.ErrorIs(t, err, cloud.ErrToken)
}

// R-S3d, R-S5d: one account, several phones, each bound by its device ID.
func TestRegister(t *testing.T) {
	n := issuertest.New(t)
	p := platform(t, n)
	require.NoError(t, p.Register(ctx, issuertest.HCE, "a1b2c3d4"))
	require.NoError(t, p.Register(ctx, issuertest.HCE, "A1B2C3D4"), "again: nothing changes")
	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		ds, err := tx.DevicesOfToken(ctx, issuertest.HCE)
		require.NoError(t, err)
		require.Len(t, ds, 2)
		require.Equal(t, "A1B2C3D400000000", ds[1].DeviceID)
		return nil
	}))
	require.ErrorIs(t, p.Register(ctx, issuertest.Wallet, "a1b2c3d4"), cloud.ErrNotHCE)
	require.ErrorIs(t, p.Register(ctx, "nope", "a1b2c3d4"), store.ErrNotFound)
	require.ErrorIs(t, p.Register(ctx, issuertest.HCE, "0011223344556677889900"), cloud.ErrDevice)
}

func TestReplenish(t *testing.T) {
	n := issuertest.New(t)
	p := platform(t, n)
	_, issued, err := p.Replenish(ctx, issuertest.HCE, device)
	require.NoError(t, err)
	require.False(t, issued, "5 keys left")
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		for atc := uint16(1); atc <= 4; atc++ {
			if err := tx.UseKey(ctx, issuertest.HCE, atc, issuertest.Start); err != nil {
				return err
			}
		}
		return nil
	}))
	b, issued, err := p.Replenish(ctx, issuertest.HCE, device)
	require.NoError(t, err)
	require.True(t, issued, "1 key left: the low-water mark")
	require.Equal(t, uint16(6), b.FirstATC)
	usable, err := p.UsableKeys(ctx, issuertest.HCE, device)
	require.NoError(t, err)
	require.Equal(t, 6, usable)
}

// R-C1: a lost phone's tokens and keys are suspended at once, and its taps
// are declined.
func TestReportLost(t *testing.T) {
	n := issuertest.New(t)
	p := platform(t, n)
	e, err := authz.New(n.DB, n.HSM, authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Now: n.Clock.Now})
	require.NoError(t, err)
	d, err := e.Authorize(ctx, n.Request(issuertest.HCE, issuertest.Tap{Amount: 100, CDCVM: true}))
	require.NoError(t, err)
	require.Equal(t, authz.Approved, d.Reason)

	rep, err := p.ReportLost(ctx, device, "cardholder called")
	require.NoError(t, err)
	require.Equal(t, []string{issuertest.HCE}, rep.TokensSuspended)
	require.Equal(t, 4, rep.KeysVoided)

	d, err = e.Authorize(ctx, n.Request(issuertest.HCE, issuertest.Tap{Amount: 100, CDCVM: true}))
	require.NoError(t, err)
	require.Equal(t, authz.TokenSuspended, d.Reason)
	require.Equal(t, "62", d.Code)

	// The other HCE phone is untouched.
	d, err = e.Authorize(ctx, n.Request(issuertest.HCEMC, issuertest.Tap{Amount: 100, CDCVM: true}))
	require.NoError(t, err)
	require.Equal(t, authz.Approved, d.Reason)

	_, err = p.IssueBatch(ctx, issuertest.HCE, device, 1)
	require.ErrorIs(t, err, cloud.ErrToken)
	require.ErrorIs(t, p.Register(ctx, issuertest.HCEMC, device), cloud.ErrDevice, "a lost phone is not registered again")
	_, err = p.ReportLost(ctx, "0102030405060708", "")
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
