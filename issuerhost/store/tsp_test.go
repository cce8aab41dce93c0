package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
)

// The token service's state survives closing the database: its bridge's
// rows by token and device, the card's PAN reference (given once), its
// records found by token and by device signing key, and the tasks it
// answered (the first answer kept).
func TestProvisioningTokenServiceState(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		seedCard(t, db)
		k := store.ServiceToken{TokenID: "k1", CorrelationID: "TS1", WalletAccount: "w1", DeviceID: "0A0B",
			StepUp: true, Awaiting: false, SuspendedBy: []string{"CARDHOLDER", "ISSUER"}, StatusAt: t0.Add(time.Second), CreatedAt: t0}
		update(t, db, func(tx *store.Tx) error {
			require.NoError(t, tx.PutServiceToken(ctx, k))
			require.ErrorIs(t, tx.PutServiceToken(ctx, store.ServiceToken{TokenID: "k1", SuspendedBy: []string{"A,B"}}), store.ErrInvalid)
			par, err := tx.PutPanReference(ctx, "c1", "FWSP1", t0)
			require.NoError(t, err)
			require.Equal(t, "FWSP1", par)
			par, err = tx.PutPanReference(ctx, "c1", "FWSP2", t0)
			require.NoError(t, err)
			require.Equal(t, "FWSP1", par, "a card keeps its reference")
			require.NoError(t, tx.PutServiceRecord(ctx, store.ServiceRecord{TokenRef: "k1", SignKID: "kid1", Body: `{"a":1}`, UpdatedAt: t0}))
			require.NoError(t, tx.PutServiceRecord(ctx, store.ServiceRecord{TokenRef: "k1", SignKID: "kid1", Body: `{"a":2}`, UpdatedAt: t0}))
			require.NoError(t, tx.PutServiceTask(ctx, store.ServiceTask{Key: "r/1", Fingerprint: "f1", Answer: "one", CreatedAt: t0}))
			return tx.PutServiceTask(ctx, store.ServiceTask{Key: "r/1", Fingerprint: "f2", Answer: "two", CreatedAt: t0})
		})
		require.NoError(t, db.Close())
		db = e.mustOpen(t, target)
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			got, err := tx.ServiceToken(ctx, "k1")
			require.NoError(t, err)
			require.Equal(t, k, got)
			ks, err := tx.ServiceTokensOfDevice(ctx, "0A0B")
			require.NoError(t, err)
			require.Equal(t, []store.ServiceToken{k}, ks)
			_, err = tx.ServiceToken(ctx, "k2")
			require.ErrorIs(t, err, store.ErrNotFound)
			par, err := tx.PanReference(ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, "FWSP1", par)
			r, err := tx.ServiceRecord(ctx, "k1")
			require.NoError(t, err)
			require.Equal(t, `{"a":2}`, r.Body)
			r, err = tx.ServiceRecordBySigner(ctx, "kid1")
			require.NoError(t, err)
			require.Equal(t, "k1", r.TokenRef)
			_, err = tx.ServiceRecordBySigner(ctx, "kid2")
			require.ErrorIs(t, err, store.ErrNotFound)
			task, err := tx.ServiceTask(ctx, "r/1")
			require.NoError(t, err)
			require.Equal(t, store.ServiceTask{Key: "r/1", Fingerprint: "f1", Answer: "one", CreatedAt: t0}, task)
			_, err = tx.ServiceTask(ctx, "r/2")
			require.ErrorIs(t, err, store.ErrNotFound)
			return nil
		}))
	})
}

// A version 3 database (before the token service's tables) is brought to
// the current version when opened.
func TestSchemaUpgradeFrom3(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		seedCard(t, db)
		require.NoError(t, db.Close())
		raw := e.raw(t, target)
		for _, table := range []string{"tsp_tokens", "tsp_records", "tsp_tasks", "tsp_envelopes", "pan_references"} {
			_, err := raw.Exec(`DROP TABLE ` + table)
			require.NoError(t, err, table)
		}
		_, err := raw.Exec(`UPDATE meta SET v = '3' WHERE k = 'schema_version'`)
		require.NoError(t, err)
		db = e.mustOpen(t, target)
		var v string
		require.NoError(t, raw.QueryRow(`SELECT v FROM meta WHERE k = 'schema_version'`).Scan(&v))
		require.Equal(t, "7", v)
		require.NoError(t, raw.Close())
		update(t, db, func(tx *store.Tx) error {
			return tx.PutServiceToken(ctx, store.ServiceToken{TokenID: "k1", CreatedAt: t0})
		})
	})
}

// An envelope ID is accepted once while it is valid, also after the
// database is opened again, and forgotten once past its time.
func TestProvisioningEnvelopeIDs(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		use := func(db *store.DB, id string, until, now time.Time) bool {
			t.Helper()
			var fresh bool
			update(t, db, func(tx *store.Tx) error {
				var err error
				fresh, err = tx.UseEnvelope(ctx, id, until, now)
				return err
			})
			return fresh
		}
		require.True(t, use(db, "j1", t0.Add(time.Minute), t0))
		require.False(t, use(db, "j1", t0.Add(time.Minute), t0.Add(time.Second)))
		require.True(t, use(db, "j0", t0, t0), "past its time: nothing to remember")
		require.True(t, use(db, "j0", t0, t0))
		require.NoError(t, db.Close())
		db = e.mustOpen(t, target)
		require.False(t, use(db, "j1", t0.Add(time.Minute), t0.Add(2*time.Second)))
		require.True(t, use(db, "j1", t0.Add(2*time.Minute), t0.Add(time.Minute)), "forgotten once past its time")
		require.NoError(t, db.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.UseEnvelope(ctx, "", t0, t0)
			require.ErrorIs(t, err, store.ErrInvalid)
			return nil
		}))
	})
}
