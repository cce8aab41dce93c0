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
