package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// One batch: each function keeps its writes or, when it fails, none of
// them, and the others' are committed together.
func TestGroupWriterBatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := OpenDir(dir, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, raw.Close()) })
	conn, err := raw.Conn(ctx)
	require.NoError(t, err)
	g := newGroupWriter(conn, sqliteDialect)
	t.Cleanup(g.release)

	put := func(id string, fail error) func(*Tx) error {
		return func(tx *Tx) error {
			if err := tx.PutAccount(ctx, Account{ID: id, Currency: 901}); err != nil {
				return err
			}
			return fail
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	boom := errors.New("boom")
	jobs := []*writeJob{
		{ctx: ctx, fn: put("a1", nil)},
		{ctx: ctx, fn: put("a2", boom)},
		{ctx: ctx, fn: put("a3", nil)},
		{ctx: canceled, fn: put("a4", nil)},
		{ctx: ctx, fn: func(tx *Tx) error { // a statement that fails: the row exists
			if err := put("a5", nil)(tx); err != nil {
				return err
			}
			_, err := tx.exec(ctx, `INSERT INTO meta (k, v) VALUES ('schema_version', 'x')`)
			return err
		}},
		{ctx: ctx, fn: put("a6", nil)},
	}
	g.commit(jobs)
	want := []error{nil, boom, nil, context.Canceled, ErrExists, nil}
	for i, j := range jobs {
		if want[i] == nil {
			require.NoError(t, j.err, "job %d", i)
		} else {
			require.ErrorIs(t, j.err, want[i], "job %d", i)
		}
	}
	require.NoError(t, db.View(ctx, func(tx *Tx) error {
		for _, id := range []string{"a1", "a3", "a6"} {
			_, err := tx.Account(ctx, id)
			require.NoError(t, err, id)
		}
		for _, id := range []string{"a2", "a4", "a5"} {
			_, err := tx.Account(ctx, id)
			require.ErrorIs(t, err, ErrNotFound, id)
		}
		return nil
	}))
}

// Many concurrent writers: every success is kept, every failure leaves
// nothing, and Close waits for the writes queued before it.
func TestGroupWriterConcurrent(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDir(t.TempDir(), Options{})
	require.NoError(t, err)
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Update(ctx, func(tx *Tx) error {
				if err := tx.PutAccount(ctx, Account{ID: fmt.Sprintf("a%d", i), Currency: 901}); err != nil {
					return err
				}
				if i%3 == 0 {
					return ErrInvalid
				}
				return nil
			})
		}()
	}
	wg.Wait()
	require.NoError(t, db.View(ctx, func(tx *Tx) error {
		for i := range n {
			_, err := tx.Account(ctx, fmt.Sprintf("a%d", i))
			if i%3 == 0 {
				require.ErrorIs(t, errs[i], ErrInvalid)
				require.ErrorIs(t, err, ErrNotFound)
			} else {
				require.NoError(t, errs[i])
				require.NoError(t, err)
			}
		}
		return nil
	}))
	require.NoError(t, db.Close())
	require.ErrorIs(t, db.Update(ctx, func(*Tx) error { return nil }), ErrClosed)
}

// A batch whose transaction is lost under a job that logged a line and an
// audit entry (its RELEASE then fails) keeps neither, and the writer does
// not number the next ones after the lost ones: the log has no gap and the
// audit chain holds.
func TestGroupWriterForgetsWhatItLost(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDir(t.TempDir(), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	at := time.Unix(1_700_000_000, 0)
	line := func(tx *Tx, stan string) (int64, error) {
		if err := tx.Audit(ctx, AuditEvent{At: at, Actor: "test", Action: stan}); err != nil {
			return 0, err
		}
		return tx.LogAuth(ctx, AuthRecord{At: at, MTI: "0100", STAN: stan, ResponseCode: "00"})
	}
	logLine := func(stan string) int64 {
		var seq int64
		require.NoError(t, db.Update(ctx, func(tx *Tx) error {
			var err error
			seq, err = line(tx, stan)
			return err
		}))
		return seq
	}
	require.EqualValues(t, 1, logLine("000001"))
	require.EqualValues(t, 2, logLine("000002"))
	err = db.Update(ctx, func(tx *Tx) error {
		seq, err := line(tx, "lost")
		require.NoError(t, err)
		require.EqualValues(t, 3, seq)
		_, err = tx.q.ExecContext(ctx, "ROLLBACK") // the transaction ends under the job
		return err
	})
	require.ErrorContains(t, err, "rolled back")
	require.EqualValues(t, 3, logLine("000003"), "the lost number is taken again")
	require.NoError(t, db.View(ctx, func(tx *Tx) error {
		log, err := tx.AuthLog(ctx, 0)
		require.NoError(t, err)
		var stans []string
		for _, r := range log {
			stans = append(stans, r.STAN)
		}
		require.Equal(t, []string{"000001", "000002", "000003"}, stans)
		n, err := tx.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		return nil
	}))
}

// A function that panics in the SQLite writer does not stop it: its
// writes are rolled back, the other functions of its batch are kept, and
// the panic goes on in its caller, as it would without a writer.
func TestGroupWriterPanic(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDir(t.TempDir(), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	put := func(id string) func(*Tx) error {
		return func(tx *Tx) error { return tx.PutAccount(ctx, Account{ID: id, Currency: 901}) }
	}
	at := time.Unix(1_700_000_000, 0)
	logged := func(id string) func(*Tx) error {
		return func(tx *Tx) error {
			if err := put(id)(tx); err != nil {
				return err
			}
			if err := tx.Audit(ctx, AuditEvent{At: at, Actor: "test", Action: id}); err != nil {
				return err
			}
			_, err := tx.LogAuth(ctx, AuthRecord{At: at, MTI: "0100", STAN: id, ResponseCode: "00"})
			return err
		}
	}
	require.NoError(t, db.Update(ctx, logged("a1")))
	boom := errors.New("boom")
	func() {
		defer func() {
			p, ok := recover().(*PanicError)
			require.True(t, ok, "Update panics with a *PanicError")
			require.ErrorIs(t, p, boom)
			require.Contains(t, p.Error(), "TestGroupWriterPanic", "with the stack where the function panicked")
		}()
		_ = db.Update(ctx, func(tx *Tx) error {
			if err := logged("a2")(tx); err != nil {
				return err
			}
			panic(boom)
		})
	}()
	require.NoError(t, db.Update(ctx, logged("a3")), "the writer goes on")

	// In one batch, or one after the other: the others' writes are kept.
	jobs := []*writeJob{
		{ctx: ctx, fn: put("b1")},
		{ctx: ctx, fn: func(tx *Tx) error {
			if err := put("b2")(tx); err != nil {
				return err
			}
			panic("bang")
		}},
		{ctx: ctx, fn: put("b3")},
	}
	for _, j := range jobs {
		j.c, j.done = db.cipher, make(chan error, 1)
		db.writer.jobs <- j
	}
	for _, j := range jobs {
		<-j.done
	}
	require.NoError(t, jobs[0].err)
	require.ErrorIs(t, jobs[1].err, errPanicked)
	require.Equal(t, "bang", jobs[1].panicked.Value)
	require.NoError(t, jobs[2].err)
	require.NoError(t, db.View(ctx, func(tx *Tx) error {
		for _, id := range []string{"a1", "a3", "b1", "b3"} {
			_, err := tx.Account(ctx, id)
			require.NoError(t, err, id)
		}
		for _, id := range []string{"a2", "b2"} {
			_, err := tx.Account(ctx, id)
			require.ErrorIs(t, err, ErrNotFound, id)
		}
		log, err := tx.AuthLog(ctx, 0)
		require.NoError(t, err)
		require.Len(t, log, 2)
		for i, want := range []string{"a1", "a3"} {
			require.Equal(t, want, log[i].STAN)
			require.EqualValues(t, i+1, log[i].Seq, "no number lost to the panic")
		}
		n, err := tx.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		return nil
	}))
}
