package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
)

func update(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	require.NoError(t, db.Update(ctx, fn))
}

func seedCard(t *testing.T, db *store.DB) {
	t.Helper()
	update(t, db, func(tx *store.Tx) error {
		require.NoError(t, tx.PutAccount(ctx, store.Account{ID: "a1", Currency: 901, CreditLimit: 100000}))
		require.NoError(t, tx.PutCard(ctx, store.Card{ID: "c1", PAN: "4761739001010010", PSN: "01", AccountID: "a1",
			Expiry: "2912", CVN: "visa18", IMKRef: "imk", PVKI: 1, PVV: "1234", FormFactor: "plastic", CreatedAt: t0}))
		return tx.PutToken(ctx, store.Token{ID: "k1", Number: "4895370012340011", CardID: "c1", Expiry: "2812",
			Domain: "mobile", CVN: "visa18", IMKRef: "imk", FormFactor: "hce-phone", DeviceBound: true, CreatedAt: t0, StatusAt: t0})
	})
}

func TestCardsAndTokens(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.db(t)
		seedCard(t, db)
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			c, err := tx.CardByPAN(ctx, "4761739001010010")
			require.NoError(t, err)
			require.Equal(t, "c1", c.ID)
			require.Equal(t, store.CardActive, c.Status)
			require.Equal(t, t0, c.CreatedAt)
			require.NotContains(t, c.String(), "9001010")
			require.NotContains(t, c.GoString(), "9001010")

			_, err = tx.CardByPAN(ctx, "4761739001010028")
			require.ErrorIs(t, err, store.ErrNotFound)
			require.NotContains(t, err.Error(), "9001010")

			k, err := tx.TokenByNumber(ctx, "4895370012340011")
			require.NoError(t, err)
			require.Equal(t, "c1", k.CardID)
			require.True(t, k.DeviceBound)
			require.Equal(t, store.TokenActive, k.Status)
			ks, err := tx.TokensOfCard(ctx, "c1")
			require.NoError(t, err)
			require.Len(t, ks, 1)
			return nil
		}))
		update(t, db, func(tx *store.Tx) error {
			require.NoError(t, tx.SetTokenStatus(ctx, "k1", store.TokenSuspended, t0))
			require.ErrorIs(t, tx.SetTokenStatus(ctx, "k1", "frozen", t0), store.ErrInvalid)
			require.ErrorIs(t, tx.SetTokenStatus(ctx, "nope", store.TokenActive, t0), store.ErrNotFound)
			require.NoError(t, tx.SetCardStatus(ctx, "c1", store.CardLost))
			require.NoError(t, tx.SetPINState(ctx, "c1", 5, true))
			require.ErrorIs(t, tx.SetPINState(ctx, "c1", -1, false), store.ErrInvalid)
			require.ErrorIs(t, tx.PutCard(ctx, store.Card{ID: "c2"}), store.ErrInvalid)
			return nil
		})
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			k, _ := tx.Token(ctx, "k1")
			require.Equal(t, store.TokenSuspended, k.Status)
			c, _ := tx.Card(ctx, "c1")
			require.Equal(t, store.CardLost, c.Status)
			require.True(t, c.PINLocked)
			require.Equal(t, 5, c.PINFailures)
			return nil
		}))
	})
}

// CredentialByNumber finds a token with its funding card and account, or
// a card with its account, the token first (a number that is both is the
// token), in every kind of transaction (UpdateRows locks what it reads).
func TestCredentialByNumber(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.db(t)
		seedCard(t, db)
		update(t, db, func(tx *store.Tx) error {
			require.NoError(t, tx.PutAccount(ctx, store.Account{ID: "a2", Currency: 978, CreditLimit: 500, Posted: 20,
				Held: 30, TxnLimit: 400, Status: store.AccountClosed}))
			// A card whose PAN is also token k1's number: the token wins.
			return tx.PutCard(ctx, store.Card{ID: "c9", PAN: "4895370012340011", AccountID: "a2", Expiry: "3001",
				CVN: "mc21", IMKRef: "imk9", PVKI: 2, PVV: "9876", FormFactor: "plastic", CreatedAt: t0})
		})
		update(t, db, func(tx *store.Tx) error {
			require.NoError(t, tx.SetPINState(ctx, "c1", 2, false))
			return tx.PutCard(ctx, store.Card{ID: "c2", PAN: "5413330089020011", AccountID: "a2", Expiry: "3002",
				PSN: "03", CVN: "mc21", IMKRef: "imk2", PVKI: 3, PVV: "4321", FormFactor: "se-phone", CreatedAt: t0})
		})
		a1 := store.Account{ID: "a1", Currency: 901, CreditLimit: 100000, Status: store.AccountActive}
		a2 := store.Account{ID: "a2", Currency: 978, CreditLimit: 500, Posted: 20, Held: 30, TxnLimit: 400,
			Status: store.AccountClosed}
		for name, run := range map[string]func(context.Context, func(*store.Tx) error) error{
			"view": db.View, "update": db.Update, "update rows": db.UpdateRows,
		} {
			t.Run(name, func(t *testing.T) {
				require.NoError(t, run(ctx, func(tx *store.Tx) error {
					cr, err := tx.CredentialByNumber(ctx, "4895370012340011")
					require.NoError(t, err)
					require.NotNil(t, cr.Token)
					want, err := tx.Token(ctx, "k1")
					require.NoError(t, err)
					require.Equal(t, want, *cr.Token)
					require.Equal(t, "c1", cr.Card.ID)
					require.Equal(t, "4761739001010010", cr.Card.PAN)
					require.Equal(t, 2, cr.Card.PINFailures)
					require.Equal(t, a1, cr.Account)

					cr, err = tx.CredentialByNumber(ctx, "5413330089020011")
					require.NoError(t, err)
					require.Nil(t, cr.Token)
					want2, err := tx.Card(ctx, "c2")
					require.NoError(t, err)
					require.Equal(t, want2, cr.Card)
					require.Equal(t, store.Card{ID: "c2", PAN: "5413330089020011", PSN: "03", AccountID: "a2",
						Expiry: "3002", CVN: "mc21", IMKRef: "imk2", PVKI: 3, PVV: "4321", Status: store.CardActive,
						FormFactor: "se-phone", CreatedAt: t0}, cr.Card)
					require.Equal(t, a2, cr.Account)

					_, err = tx.CredentialByNumber(ctx, "4761739001010028")
					require.ErrorIs(t, err, store.ErrNotFound)
					require.NotContains(t, err.Error(), "9001010")
					return nil
				}))
			})
		}
	})
}

func TestReadOnlyView(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.db(t)
		err := db.View(ctx, func(tx *store.Tx) error {
			return tx.PutAccount(ctx, store.Account{ID: "a", Currency: 901})
		})
		require.ErrorIs(t, err, store.ErrInvalid)
	})
}

func TestRollback(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.db(t)
		err := db.Update(ctx, func(tx *store.Tx) error {
			require.NoError(t, tx.PutAccount(ctx, store.Account{ID: "a", Currency: 901}))
			return store.ErrInvalid
		})
		require.ErrorIs(t, err, store.ErrInvalid)
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			_, err := tx.Account(ctx, "a")
			require.ErrorIs(t, err, store.ErrNotFound)
			return nil
		}))
	})
}

// R-G4: the high-water mark never goes back; a cryptogram is fresh once.
func TestReplayState(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.db(t)
		update(t, db, func(tx *store.Tx) error {
			_, seen, err := tx.ATC(ctx, "card:c1")
			require.NoError(t, err)
			require.False(t, seen)
			for _, atc := range []uint16{5, 3, 9, 9, 7} {
				require.NoError(t, tx.RaiseATC(ctx, "card:c1", atc, t0))
			}
			hw, seen, err := tx.ATC(ctx, "card:c1")
			require.NoError(t, err)
			require.True(t, seen)
			require.Equal(t, uint16(9), hw)

			ac := []byte{1, 2, 3, 4, 5, 6, 7, 8}
			fresh, err := tx.UseCryptogram(ctx, "card:c1", 9, ac, t0)
			require.NoError(t, err)
			require.True(t, fresh)
			fresh, err = tx.UseCryptogram(ctx, "card:c1", 9, ac, t0)
			require.NoError(t, err)
			require.False(t, fresh)
			fresh, err = tx.UseCryptogram(ctx, "card:c2", 9, ac, t0)
			require.NoError(t, err)
			require.True(t, fresh, "another card's cryptogram")
			_, err = tx.UseCryptogram(ctx, "card:c1", 9, nil, t0)
			require.ErrorIs(t, err, store.ErrInvalid)
			return nil
		})
	})
}

// R-S5b: single-use keys are issued once per ATC and used once.
func TestHCEKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.db(t)
		seedCard(t, db)
		exp := t0.Add(time.Hour)
		update(t, db, func(tx *store.Tx) error {
			require.NoError(t, tx.PutDevice(ctx, store.Device{DeviceID: "D1", TokenID: "k1", RegisteredAt: t0, StatusAt: t0}))
			require.NoError(t, tx.IssueKeys(ctx, "k1", "D1", 1, 5, t0, exp))
			require.ErrorIs(t, tx.IssueKeys(ctx, "k1", "D2", 5, 2, t0, exp), store.ErrExists)
			require.ErrorIs(t, tx.IssueKeys(ctx, "k1", "D1", 0xFFFF, 2, t0, exp), store.ErrInvalid)

			usable, hi, ok, err := tx.KeyCounts(ctx, "k1", "D1", t0)
			require.NoError(t, err)
			require.Equal(t, 5, usable)
			require.True(t, ok)
			require.Equal(t, uint16(5), hi)

			require.NoError(t, tx.UseKey(ctx, "k1", 2, t0))
			require.ErrorIs(t, tx.UseKey(ctx, "k1", 2, t0), store.ErrNotFound)
			require.ErrorIs(t, tx.UseKey(ctx, "k1", 6, t0), store.ErrNotFound)
			k, err := tx.HCEKey(ctx, "k1", 2)
			require.NoError(t, err)
			require.Equal(t, store.KeyUsed, k.Status)
			require.Equal(t, "D1", k.DeviceID)
			require.Equal(t, exp, k.ExpiresAt)

			usable, _, _, err = tx.KeyCounts(ctx, "k1", "D1", t0)
			require.NoError(t, err)
			require.Equal(t, 4, usable)
			usable, _, _, err = tx.KeyCounts(ctx, "k1", "D1", exp)
			require.NoError(t, err)
			require.Zero(t, usable, "expired")

			n, err := tx.VoidDeviceKeys(ctx, "D1", t0)
			require.NoError(t, err)
			require.Equal(t, 4, n)
			k, _ = tx.HCEKey(ctx, "k1", 3)
			require.Equal(t, store.KeyVoid, k.Status)
			k, _ = tx.HCEKey(ctx, "k1", 2)
			require.Equal(t, store.KeyUsed, k.Status, "a used key stays used")

			n, err = tx.SetDeviceStatus(ctx, "D1", store.DeviceLost, t0)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			d, err := tx.Device(ctx, "D1", "k1")
			require.NoError(t, err)
			require.Equal(t, store.DeviceLost, d.Status)
			return nil
		})
	})
}

func TestHolds(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.db(t)
		seedCard(t, db)
		update(t, db, func(tx *store.Tx) error {
			require.NoError(t, tx.AddHold(ctx, store.Hold{Key: "h1", AccountID: "a1", Amount: 30000, Currency: 901, CreatedAt: t0}))
			require.ErrorIs(t, tx.AddHold(ctx, store.Hold{Key: "h1", AccountID: "a1", Amount: 1}), store.ErrExists)
			a, _ := tx.Account(ctx, "a1")
			require.Equal(t, int64(30000), a.Held)
			require.Equal(t, int64(70000), a.OpenToBuy())

			released, err := tx.ReleaseHold(ctx, "h1", t0, "r1")
			require.NoError(t, err)
			require.True(t, released)
			released, err = tx.ReleaseHold(ctx, "h1", t0, "r2")
			require.NoError(t, err)
			require.False(t, released)
			a, _ = tx.Account(ctx, "a1")
			require.Zero(t, a.Held)
			h, _ := tx.Hold(ctx, "h1")
			require.Equal(t, "r1", h.ReleaseRef)

			require.NoError(t, tx.AddHold(ctx, store.Hold{Key: "h2", Status: store.HoldReversed, CreatedAt: t0}))
			released, err = tx.ReleaseHold(ctx, "h2", t0, "r3")
			require.NoError(t, err)
			require.False(t, released)
			_, err = tx.ReleaseHold(ctx, "h3", t0, "r4")
			require.ErrorIs(t, err, store.ErrNotFound)
			return nil
		})
	})
}

// R-S4d: the authorisation log and audit trail are append-only and
// chained; a change behind the store's back is found.
func TestAuditTrail(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		update(t, db, func(tx *store.Tx) error {
			for i, a := range []string{"one", "two", "three"} {
				require.NoError(t, tx.Audit(ctx, store.AuditEvent{At: t0.Add(time.Duration(i) * time.Second), Actor: "test", Action: a, Subject: "s"}))
			}
			require.ErrorIs(t, tx.Audit(ctx, store.AuditEvent{Actor: "test"}), store.ErrInvalid)
			seq, err := tx.LogAuth(ctx, store.AuthRecord{At: t0, MTI: "0100", MaskedPAN: "476173******0010", ResponseCode: "00", ATC: 1})
			require.NoError(t, err)
			require.Equal(t, int64(1), seq)
			return nil
		})
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			n, err := tx.VerifyAudit(ctx)
			require.NoError(t, err)
			require.Equal(t, 3, n)
			trail, err := tx.AuditTrail(ctx)
			require.NoError(t, err)
			require.Equal(t, trail[0].Hash, trail[1].Prev)
			return nil
		}))
		// The store refuses to change or remove an entry of either log.
		for _, q := range []string{
			`UPDATE audit SET detail = 'x'`,
			`DELETE FROM audit WHERE seq = 3`,
			`UPDATE auth_log SET response_code = '05'`,
			`DELETE FROM auth_log`,
		} {
			err := db.Update(ctx, func(tx *store.Tx) error { return store.ExecRaw(ctx, tx, q) })
			require.ErrorContains(t, err, "append-only", q)
		}
		if e.name == "postgres" {
			for _, q := range []string{`TRUNCATE audit`, `TRUNCATE auth_log`} {
				err := db.Update(ctx, func(tx *store.Tx) error { return store.ExecRaw(ctx, tx, q) })
				require.ErrorContains(t, err, "append-only", q)
			}
		}
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			n, err := tx.VerifyAudit(ctx)
			require.NoError(t, err)
			require.Equal(t, 3, n)
			log, err := tx.AuthLog(ctx, 0)
			require.NoError(t, err)
			require.Len(t, log, 1)
			require.Equal(t, "00", log[0].ResponseCode)
			return nil
		}))
		require.NoError(t, db.Close())

		// Behind its back (trigger dropped), the chain shows the change.
		raw := e.raw(t, target)
		_, err := raw.Exec(e.dropAuditTrigger)
		require.NoError(t, err)
		_, err = raw.Exec(`UPDATE audit SET detail = 'forged' WHERE seq = 2`)
		require.NoError(t, err)
		require.NoError(t, raw.Close())

		db = e.mustOpen(t, target) // the migration puts the trigger back
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			n, err := tx.VerifyAudit(ctx)
			require.ErrorIs(t, err, store.ErrAuditBroken)
			require.Equal(t, 1, n)
			return nil
		}))
		err = db.Update(ctx, func(tx *store.Tx) error { return store.ExecRaw(ctx, tx, `UPDATE audit SET detail = 'x'`) })
		require.ErrorContains(t, err, "append-only")
	})
}

func TestPersistence(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		seedCard(t, db)
		update(t, db, func(tx *store.Tx) error {
			require.NoError(t, tx.SetMeta(ctx, "seeded_at", "now"))
			require.ErrorIs(t, tx.SetMeta(ctx, "schema_version", "9"), store.ErrInvalid)
			return tx.RaiseATC(ctx, "token:k1", 42, t0)
		})
		require.NoError(t, db.Close())
		require.NoError(t, db.Close(), "a second close is harmless")
		require.ErrorIs(t, db.Update(ctx, func(*store.Tx) error { return nil }), store.ErrClosed)
		require.ErrorIs(t, db.View(ctx, func(*store.Tx) error { return nil }), store.ErrClosed)

		db = e.mustOpen(t, target) // opening again (migrations again) keeps the data
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			hw, _, err := tx.ATC(ctx, "token:k1")
			require.NoError(t, err)
			require.Equal(t, uint16(42), hw)
			v, ok, err := tx.Meta(ctx, "seeded_at")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "now", v)
			c, err := tx.Card(ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, t0, c.CreatedAt)
			return nil
		}))

		// A schema this build does not know is refused.
		raw := e.raw(t, target)
		_, err := raw.Exec(`UPDATE meta SET v = '99' WHERE k = 'schema_version'`)
		require.NoError(t, err)
		require.NoError(t, raw.Close())
		require.NoError(t, db.Close())
		_, err = e.open(t, target)
		require.ErrorIs(t, err, store.ErrInvalid)
	})
}

func TestSQLiteOptions(t *testing.T) {
	dir := t.TempDir()
	db, err := store.OpenDir(dir, store.Options{Synchronous: "normal"})
	require.NoError(t, err)
	require.Equal(t, "sqlite", db.Engine())
	require.Equal(t, filepath.Join(dir, store.FileName), db.Path())
	require.Equal(t, db.Path(), db.Location())
	require.NoError(t, db.Close())
	_, err = store.OpenDir(dir, store.Options{Synchronous: "sometimes"})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = store.OpenDir("", storetest.Options())
	require.ErrorIs(t, err, store.ErrInvalid)
}

// A unique key taken twice is ErrExists on both engines, and the error
// does not quote the duplicate value.
func TestUniqueViolation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.db(t)
		seedCard(t, db)
		err := db.Update(ctx, func(tx *store.Tx) error {
			return tx.PutCard(ctx, store.Card{ID: "c2", PAN: "4761739001010010", AccountID: "a1", Expiry: "2912"})
		})
		require.ErrorIs(t, err, store.ErrExists)
		require.NotContains(t, err.Error(), "9001010")
		err = db.Update(ctx, func(tx *store.Tx) error {
			return tx.PutToken(ctx, store.Token{ID: "k2", Number: "4895370012340011", CardID: "c1", Expiry: "2812"})
		})
		require.ErrorIs(t, err, store.ErrExists)
		require.NotContains(t, err.Error(), "0012340")
		// Nothing of the failed transactions was kept.
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			_, err := tx.Card(ctx, "c2")
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = tx.Token(ctx, "k2")
			require.ErrorIs(t, err, store.ErrNotFound)
			return nil
		}))
	})
}
