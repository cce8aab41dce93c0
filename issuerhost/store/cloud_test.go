package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
)

// The cloud platform's records and audit trail and the issuer's key
// ledger survive closing the database (R-S5b, R-C1, R-S5e).
func TestCloudState(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		update(t, db, func(tx *store.Tx) error {
			require.ErrorIs(t, tx.PutCloudRecord(ctx, store.CloudRecord{Kind: "card"}), store.ErrInvalid)
			require.NoError(t, tx.PutCloudRecord(ctx, store.CloudRecord{Kind: "card", ID: "c1", Body: `{"a":1}`, UpdatedAt: t0}))
			require.NoError(t, tx.PutCloudRecord(ctx, store.CloudRecord{Kind: "card", ID: "c1", Body: `{"a":2}`, UpdatedAt: t0}))
			require.NoError(t, tx.PutCloudRecord(ctx, store.CloudRecord{Kind: "pending", ID: "r1", Body: `{}`, UpdatedAt: t0}))
			require.NoError(t, tx.DeleteCloudRecord(ctx, "pending", "r1"))
			require.NoError(t, tx.AppendCloudAudit(ctx, t0, `{"n":1}`))
			require.NoError(t, tx.AppendCloudAudit(ctx, t0, `{"n":2}`))
			require.NoError(t, tx.PutCloudKey(ctx, store.CloudKey{Kind: "luk", CardRef: "c1", KeyID: 0xFFFFFFFF, DeviceID: "d1", API: 1, IssuedAt: t0}))
			require.NoError(t, tx.PutCloudKey(ctx, store.CloudKey{Kind: "luk", CardRef: "c1", KeyID: 0xFFFFFFFF, DeviceID: "d1", API: 1, IssuedAt: t0, Used: 1}))
			require.ErrorIs(t, tx.PutCloudKey(ctx, store.CloudKey{Kind: "luk", CardRef: "c1"}), store.ErrInvalid)
			return tx.PutCloudDevice(ctx, store.CloudDevice{CardRef: "c1", DeviceID: "d1", Suspended: true, PINFailures: 3, UpdatedAt: t0})
		})
		require.NoError(t, db.Close())
		db = e.mustOpen(t, target)
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			rs, err := tx.CloudRecords(ctx)
			require.NoError(t, err)
			require.Equal(t, []store.CloudRecord{{Kind: "card", ID: "c1", Body: `{"a":2}`, UpdatedAt: t0}}, rs)
			a, err := tx.CloudAudit(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{`{"n":1}`, `{"n":2}`}, a)
			ks, err := tx.CloudKeys(ctx)
			require.NoError(t, err)
			require.Equal(t, []store.CloudKey{{Kind: "luk", CardRef: "c1", KeyID: 0xFFFFFFFF, DeviceID: "d1", API: 1, IssuedAt: t0, Used: 1}}, ks)
			ds, err := tx.CloudDevices(ctx)
			require.NoError(t, err)
			require.Equal(t, []store.CloudDevice{{CardRef: "c1", DeviceID: "d1", Suspended: true, PINFailures: 3, UpdatedAt: t0}}, ds)
			return nil
		}))
	})
}

// One key's and one phone's row read back in a transaction; absent ones
// are ErrNotFound.
func TestCloudKeyAndDeviceRead(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.mustOpen(t, e.fresh(t))
		update(t, db, func(tx *store.Tx) error {
			require.NoError(t, tx.PutCloudKey(ctx, store.CloudKey{Kind: "suk", CardRef: "c1", KeyID: 7, DeviceID: "d1", IssuedAt: t0, Used: 1}))
			return tx.PutCloudDevice(ctx, store.CloudDevice{CardRef: "c1", DeviceID: "d1", Suspended: true, PINFailures: 2, UpdatedAt: t0})
		})
		update(t, db, func(tx *store.Tx) error {
			k, err := tx.CloudKey(ctx, "suk", "c1", 7)
			require.NoError(t, err)
			require.Equal(t, "d1", k.DeviceID)
			require.Equal(t, 1, k.Used)
			require.True(t, t0.Equal(k.IssuedAt))
			_, err = tx.CloudKey(ctx, "luk", "c1", 7)
			require.ErrorIs(t, err, store.ErrNotFound)
			d, err := tx.CloudDevice(ctx, "c1", "d1")
			require.NoError(t, err)
			require.True(t, d.Suspended)
			require.Equal(t, 2, d.PINFailures)
			_, err = tx.CloudDevice(ctx, "c1", "d2")
			require.ErrorIs(t, err, store.ErrNotFound)
			return nil
		})
	})
}
