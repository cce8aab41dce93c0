package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
)

// UseCryptogramOnce records a cryptogram once, and not at all under the
// key of a hold; RaiseATCWithin raises the mark only ahead of it within
// the window.
func TestUseCryptogramOnceAndRaiseATCWithin(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		db := e.db(t)
		seedCard(t, db)
		ac := []byte{1, 2, 3, 4, 5, 6, 7, 8}
		update(t, db, func(tx *store.Tx) error {
			fresh, held, err := tx.UseCryptogramOnce(ctx, "key1", "card:c1", 5, ac, t0)
			require.NoError(t, err)
			require.True(t, fresh)
			require.False(t, held)
			fresh, held, err = tx.UseCryptogramOnce(ctx, "key2", "card:c1", 5, ac, t0)
			require.NoError(t, err)
			require.False(t, fresh, "a replay")
			require.False(t, held)
			used, err := tx.CryptogramUsed(ctx, "card:c1", 5, ac)
			require.NoError(t, err)
			require.True(t, used)

			require.NoError(t, tx.AddHold(ctx, store.Hold{Key: "key3", AccountID: "a1", Cred: "card:c1", Amount: 1, Currency: 901, CreatedAt: t0}))
			other := []byte{9, 9, 9, 9, 9, 9, 9, 9}
			fresh, held, err = tx.UseCryptogramOnce(ctx, "key3", "card:c1", 6, other, t0)
			require.NoError(t, err)
			require.False(t, fresh)
			require.True(t, held, "a hold under the key")
			used, err = tx.CryptogramUsed(ctx, "card:c1", 6, other)
			require.NoError(t, err)
			require.False(t, used, "nothing written under a hold's key")
			return nil
		})
		update(t, db, func(tx *store.Tx) error {
			for _, tc := range []struct {
				atc    uint16
				raised bool
				hw     uint16
				found  bool
			}{
				{0, false, 0, false},  // no mark: not ahead
				{11, false, 0, false}, // no mark: beyond the window of 10
				{10, true, 10, true},
				{10, false, 10, true}, // not ahead
				{9, false, 10, true},
				{21, false, 10, true}, // beyond the window
				{20, true, 20, true},
				{21, true, 21, true},
			} {
				raised, hw, found, err := tx.RaiseATCWithin(ctx, "card:c1", tc.atc, 10, t0)
				require.NoError(t, err)
				require.Equal(t, tc.raised, raised, "ATC %d", tc.atc)
				require.Equal(t, tc.hw, hw, "ATC %d", tc.atc)
				require.Equal(t, tc.found, found, "ATC %d", tc.atc)
				got, _, err := tx.ATC(ctx, "card:c1")
				require.NoError(t, err)
				require.Equal(t, tc.hw, got, "ATC %d", tc.atc)
			}
			return nil
		})
	})
}

// The SQLite writer numbers the authorisation log from what it wrote last:
// a line undone with its savepoint leaves no gap, and a line another
// process logged meanwhile is not overwritten; every line keeps the next
// number.
func TestLogNumbersOfTheWriter(t *testing.T) {
	dir := t.TempDir()
	a := sqliteEngine.mustOpen(t, dir)
	b := sqliteEngine.mustOpen(t, dir)
	logLine := func(db *store.DB, stan string) int64 {
		var seq int64
		update(t, db, func(tx *store.Tx) error {
			var err error
			seq, err = tx.LogAuth(ctx, store.AuthRecord{At: t0, MTI: "0100", STAN: stan, ResponseCode: "00"})
			return err
		})
		return seq
	}
	require.EqualValues(t, 1, logLine(a, "000001"))
	require.EqualValues(t, 2, logLine(a, "000002"))
	undone := errors.New("undone")
	require.ErrorIs(t, a.Update(ctx, func(tx *store.Tx) error {
		seq, err := tx.LogAuth(ctx, store.AuthRecord{At: t0, MTI: "0100", STAN: "999999", ResponseCode: "00"})
		require.NoError(t, err)
		require.EqualValues(t, 3, seq)
		return undone
	}), undone)
	require.EqualValues(t, 3, logLine(a, "000003"), "the undone number is taken again")
	require.EqualValues(t, 4, logLine(b, "000004"))
	require.EqualValues(t, 5, logLine(a, "000005"), "after the other process's line")
	require.EqualValues(t, 6, logLine(b, "000006"))
	require.EqualValues(t, 7, logLine(b, "000007"))
	require.EqualValues(t, 8, logLine(a, "000008"))
	require.NoError(t, a.View(ctx, func(tx *store.Tx) error {
		log, err := tx.AuthLog(ctx, 0)
		require.NoError(t, err)
		var got []string
		for i, r := range log {
			require.EqualValues(t, i+1, r.Seq)
			got = append(got, r.STAN)
		}
		require.Equal(t, []string{"000001", "000002", "000003", "000004", "000005", "000006", "000007", "000008"}, got)
		return nil
	}))
}

// The SQLite writer chains an audit entry to the last one it wrote
// without reading it; the chain holds when a request's writes are undone
// after its entry, and when another process on the same file writes
// entries between the writer's.
func TestAuditChainOfTheWriter(t *testing.T) {
	dir := t.TempDir()
	a := sqliteEngine.mustOpen(t, dir)
	b := sqliteEngine.mustOpen(t, dir)
	audit := func(db *store.DB, what string) {
		update(t, db, func(tx *store.Tx) error {
			return tx.Audit(ctx, store.AuditEvent{At: t0, Actor: "test", Action: what})
		})
	}
	audit(a, "a1")
	audit(a, "a2")
	undone := errors.New("undone")
	require.ErrorIs(t, a.Update(ctx, func(tx *store.Tx) error {
		require.NoError(t, tx.Audit(ctx, store.AuditEvent{At: t0, Actor: "test", Action: "undone"}))
		return undone
	}), undone)
	audit(a, "a3")
	audit(b, "b1")
	audit(a, "a4")
	audit(b, "b2")
	audit(b, "b3")
	audit(a, "a5")
	require.NoError(t, a.View(ctx, func(tx *store.Tx) error {
		n, err := tx.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Equal(t, 8, n)
		trail, err := tx.AuditTrail(ctx)
		require.NoError(t, err)
		var got []string
		for _, e := range trail {
			got = append(got, e.Action)
		}
		require.Equal(t, []string{"a1", "a2", "a3", "b1", "a4", "b2", "b3", "a5"}, got)
		return nil
	}))
}

// errPanic makes a test's transaction panic instead of failing.
var errPanic = errors.New("panic")

// An instance on PostgreSQL numbers its log lines and audit entries from
// the last ones its committed transactions wrote: a transaction undone
// (or whose function panicked) after it logged leaves no gap in the
// instance's stream, another
// instance's lines and entries do not disturb it, and every chain holds.
func TestStreamNumbersOfAnInstance(t *testing.T) {
	target := postgresEngine.fresh(t)
	a, b := postgresEngine.mustOpen(t, target), postgresEngine.mustOpen(t, target)
	line := func(db *store.DB, stan string, fail error) (int64, error) {
		// A transaction left open would hold the instance's lock: the
		// next one then fails at the deadline instead of hanging.
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		var seq int64
		err := db.Update(ctx, func(tx *store.Tx) error {
			if err := tx.Audit(ctx, store.AuditEvent{At: t0, Actor: "test", Action: stan}); err != nil {
				return err
			}
			var err error
			if seq, err = tx.LogAuth(ctx, store.AuthRecord{At: t0, MTI: "0100", STAN: stan, ResponseCode: "00"}); err != nil {
				return err
			}
			if fail == errPanic {
				panic(fail)
			}
			return fail
		})
		return seq, err
	}
	undone := errors.New("undone")
	seqs := map[string]int64{} // what LogAuth returned, by STAN
	for _, step := range []struct {
		db   *store.DB
		stan string
		fail error
	}{
		{a, "a1", nil}, {a, "a2", nil}, {b, "b1", nil}, {a, "lost", undone}, {a, "a3", nil}, {b, "b2", nil}, {a, "a4", nil},
	} {
		seq, err := line(step.db, step.stan, step.fail)
		require.ErrorIs(t, err, step.fail, step.stan)
		seqs[step.stan] = seq
	}
	require.Panics(t, func() { _, _ = line(a, "panicked", errPanic) }, "a handler that panics after logging")
	seq, err := line(a, "a5", nil)
	require.NoError(t, err)
	seqs["a5"] = seq
	require.NoError(t, a.View(ctx, func(tx *store.Tx) error {
		log, err := tx.AuthLog(ctx, 0)
		require.NoError(t, err)
		streams := map[string][]string{}
		for _, r := range log {
			require.EqualValues(t, len(streams[r.Instance])+1, r.InstanceSeq, "line %s of its instance", r.STAN)
			require.Equal(t, seqs[r.STAN], r.Seq, "the number LogAuth gave line %s", r.STAN)
			streams[r.Instance] = append(streams[r.Instance], r.STAN)
		}
		require.Equal(t, []string{"a1", "a2", "a3", "a4", "a5"}, streams[a.Instance()])
		require.Equal(t, []string{"b1", "b2"}, streams[b.Instance()])
		n, err := tx.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Equal(t, 7, n)
		return nil
	}))
}
