package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
)

// The tables of the issuer's side of provisioning, on both engines:
// contacts, ID&V attempts (one per correlation ID), OTPs (single use),
// the message centre, the provisioning lock and token records.
func TestIDVTables(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.db(t)
		seedCard(t, db)
		t1 := t0.Add(time.Minute)
		update(t, db, func(tx *store.Tx) error {
			require.NoError(t, tx.PutCardContact(ctx, store.CardContact{CardID: "c1", Phone: "+886912345678",
				Email: "holder@example.test", IssuerApp: true, UpdatedAt: t0}))
			require.ErrorIs(t, tx.PutCardContact(ctx, store.CardContact{}), store.ErrInvalid)

			a := store.IDVAttempt{CorrelationID: "corr-1", CardID: "c1", RequestorID: "40010075001", DeviceID: "D1",
				Decision: "REQUIRE_ADDITIONAL_AUTHENTICATION", Reason: "low_device_score", Answer: `[{"id":"sms"}]`,
				RequestDigest: "ab", CreatedAt: t0, UpdatedAt: t0}
			require.NoError(t, tx.PutIDVAttempt(ctx, a))
			require.ErrorIs(t, tx.PutIDVAttempt(ctx, store.IDVAttempt{}), store.ErrInvalid)
			a.Verified, a.VerifiedBy, a.VerifiedAt, a.UpdatedAt = true, "otp", t1, t1
			require.NoError(t, tx.UpdateIDVAttempt(ctx, a))
			require.ErrorIs(t, tx.UpdateIDVAttempt(ctx, store.IDVAttempt{CorrelationID: "none"}), store.ErrNotFound)

			require.NoError(t, tx.PutOTP(ctx, store.OTP{CorrelationID: "corr-1", MethodID: "sms", Hash: "00ff", Sends: 2,
				IssuedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}))
			require.NoError(t, tx.UseOTP(ctx, "corr-1", t1))
			require.ErrorIs(t, tx.UseOTP(ctx, "corr-1", t1), store.ErrNotFound) // once only
			require.ErrorIs(t, tx.PutOTP(ctx, store.OTP{CorrelationID: "corr-1"}), store.ErrInvalid)

			for i, to := range []string{"+886912345678", "holder@example.test", "+886912345678"} {
				seq, err := tx.PostMessage(ctx, store.Message{At: t0, Recipient: to, Channel: "sms", Kind: "otp",
					Body: "message " + string(rune('a'+i))})
				require.NoError(t, err)
				require.Equal(t, int64(i+1), seq)
			}
			_, err := tx.PostMessage(ctx, store.Message{Body: "x"})
			require.ErrorIs(t, err, store.ErrInvalid)

			require.NoError(t, tx.PutProvisioning(ctx, store.Provisioning{CardID: "c1", Failures: 5, Locked: true,
				LockedAt: t1, LockReason: "idv_locked", UpdatedAt: t1}))
			require.ErrorIs(t, tx.PutProvisioning(ctx, store.Provisioning{CardID: "c1", Failures: -1}), store.ErrInvalid)

			require.NoError(t, tx.PutCardToken(ctx, store.CardToken{TokenRef: "TUR-1", CardID: "c1", CorrelationID: "corr-1",
				DeviceID: "D1", RequestorID: "40010075001", DownloadedAt: t1, FirstSeenAt: t1}))
			require.ErrorIs(t, tx.PutCardToken(ctx, store.CardToken{TokenRef: "TUR-2"}), store.ErrInvalid)
			return nil
		})
		// One attempt per correlation ID (a failed statement ends a
		// PostgreSQL transaction: on its own).
		require.ErrorIs(t, db.Update(ctx, func(tx *store.Tx) error {
			return tx.PutIDVAttempt(ctx, store.IDVAttempt{CorrelationID: "corr-1", Decision: "DECLINED"})
		}), store.ErrExists)
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			c, err := tx.CardContact(ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, store.CardContact{CardID: "c1", Phone: "+886912345678", Email: "holder@example.test",
				IssuerApp: true, UpdatedAt: t0}, c)
			_, err = tx.CardContact(ctx, "none")
			require.ErrorIs(t, err, store.ErrNotFound)

			a, err := tx.IDVAttempt(ctx, "corr-1")
			require.NoError(t, err)
			require.True(t, a.Verified)
			require.Equal(t, "otp", a.VerifiedBy)
			require.Equal(t, t1, a.VerifiedAt)
			require.Equal(t, `[{"id":"sms"}]`, a.Answer)
			_, err = tx.IDVAttempt(ctx, "corr-2")
			require.ErrorIs(t, err, store.ErrNotFound)
			n, err := tx.CountIDVAttempts(ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, 1, n)

			o, err := tx.OTP(ctx, "corr-1")
			require.NoError(t, err)
			require.Equal(t, t1, o.UsedAt)
			require.Equal(t, 2, o.Sends)
			require.Equal(t, t0.Add(5*time.Minute), o.ExpiresAt)

			in, err := tx.Inbox(ctx, "+886912345678", 0)
			require.NoError(t, err)
			require.Len(t, in, 2)
			require.Equal(t, "message a", in[0].Body)
			require.Equal(t, "message c", in[1].Body)
			last, err := tx.Inbox(ctx, "+886912345678", 1)
			require.NoError(t, err)
			require.Equal(t, []store.Message{in[1]}, last)

			p, err := tx.Provisioning(ctx, "c1")
			require.NoError(t, err)
			require.True(t, p.Locked)
			require.Equal(t, 5, p.Failures)
			p, err = tx.Provisioning(ctx, "other")
			require.NoError(t, err)
			require.Equal(t, store.Provisioning{CardID: "other"}, p)

			k, err := tx.CardToken(ctx, "TUR-1")
			require.NoError(t, err)
			require.Equal(t, t1, k.DownloadedAt)
			require.True(t, k.CreatedAt.IsZero())
			ks, err := tx.CardTokens(ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, []store.CardToken{k}, ks)
			_, err = tx.CardToken(ctx, "none")
			require.ErrorIs(t, err, store.ErrNotFound)
			return nil
		}))
	})
}

// A version 2 database (before the provisioning tables) is brought to
// the current version when opened, and keeps its data.
func TestSchemaUpgradeFrom2(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		seedCard(t, db)
		require.NoError(t, db.Close())

		raw := e.raw(t, target)
		for _, table := range []string{"card_contacts", "idv_attempts", "otps", "messages", "card_provisioning", "card_tokens",
			"tsp_tokens", "tsp_records", "tsp_tasks", "tsp_envelopes", "pan_references"} {
			_, err := raw.Exec(`DROP TABLE ` + table)
			require.NoError(t, err, table)
		}
		_, err := raw.Exec(`UPDATE meta SET v = '2' WHERE k = 'schema_version'`)
		require.NoError(t, err)

		db = e.mustOpen(t, target)
		var v string
		require.NoError(t, raw.QueryRow(`SELECT v FROM meta WHERE k = 'schema_version'`).Scan(&v))
		require.Equal(t, "7", v)
		require.NoError(t, raw.Close())
		update(t, db, func(tx *store.Tx) error {
			c, err := tx.Card(ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, "4761739001010010", c.PAN)
			return tx.PutCardContact(ctx, store.CardContact{CardID: "c1", Phone: "+886900000000"})
		})
	})
}
