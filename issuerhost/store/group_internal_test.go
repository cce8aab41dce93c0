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
	g, raw := handGroupWriter(t)
	put := func(id string, fail error) func(*Tx) error { return putAccount(ctx, id, fail) }
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
	require.Len(t, g.commit(jobs), len(jobs))
	want := []error{nil, boom, nil, context.Canceled, ErrExists, nil}
	for i, j := range jobs {
		if want[i] == nil {
			require.NoError(t, j.err, "job %d", i)
		} else {
			require.ErrorIs(t, j.err, want[i], "job %d", i)
		}
	}
	for _, id := range []string{"a1", "a3", "a6"} {
		require.True(t, accountCommitted(t, raw, id), id)
	}
	for _, id := range []string{"a2", "a4", "a5"} {
		require.False(t, accountCommitted(t, raw, id), id)
	}
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

// Jobs queued while a batch's functions run join it, up to maxBatch, and
// share its commit: the one that joined runs in the first one's
// transaction (another connection does not see the first one's account
// yet), and those beyond maxBatch wait in the queue for the next batch.
func TestGroupWriterJoins(t *testing.T) {
	ctx := context.Background()
	g, raw := handGroupWriter(t)
	// The first job queues maxBatch+2 more; the first of them looks for
	// the first job's account from another connection.
	var firstSeen *bool
	second := &writeJob{ctx: ctx, fn: func(tx *Tx) error {
		s := accountCommitted(t, raw, "a")
		firstSeen = &s
		return tx.PutAccount(ctx, Account{ID: "b0", Currency: 901})
	}}
	first := &writeJob{ctx: ctx, fn: func(tx *Tx) error {
		g.jobs <- second
		for i := 1; i < maxBatch+2; i++ {
			g.jobs <- putAccountJob(ctx, fmt.Sprintf("b%d", i), nil)
		}
		return tx.PutAccount(ctx, Account{ID: "a", Currency: 901})
	}}

	batch := g.commit([]*writeJob{first})
	require.Len(t, batch, maxBatch)
	require.NotNil(t, firstSeen, "the job that joined ran")
	require.False(t, *firstSeen, "the job that joined ran in the first one's transaction")
	for i, j := range batch {
		require.NoError(t, j.err, "job %d", i)
	}
	require.True(t, accountCommitted(t, raw, "a"))
	require.True(t, accountCommitted(t, raw, fmt.Sprintf("b%d", maxBatch-2)), "the last job of the batch is committed")
	require.False(t, accountCommitted(t, raw, fmt.Sprintf("b%d", maxBatch-1)), "the first job beyond maxBatch waits")
	require.Len(t, g.jobs, 3)
}

// Jobs that joined a batch share its fate: one of them failing is rolled
// back alone, and when one loses the transaction, every job of the batch,
// those that joined before and after it too, gets an error and keeps
// nothing.
func TestGroupWriterJoinersFail(t *testing.T) {
	ctx := context.Background()
	g, raw := handGroupWriter(t)
	boom := errors.New("boom")
	first := &writeJob{ctx: ctx, fn: func(tx *Tx) error {
		g.jobs <- putAccountJob(ctx, "a2", boom)
		g.jobs <- putAccountJob(ctx, "a3", nil)
		return tx.PutAccount(ctx, Account{ID: "a1", Currency: 901})
	}}
	batch := g.commit([]*writeJob{first})
	require.Len(t, batch, 3)
	require.NoError(t, batch[0].err)
	require.ErrorIs(t, batch[1].err, boom)
	require.NoError(t, batch[2].err)
	require.True(t, accountCommitted(t, raw, "a1"))
	require.False(t, accountCommitted(t, raw, "a2"))
	require.True(t, accountCommitted(t, raw, "a3"))

	lose := &writeJob{ctx: ctx, fn: func(tx *Tx) error {
		if err := tx.PutAccount(ctx, Account{ID: "b3", Currency: 901}); err != nil {
			return err
		}
		_, err := tx.q.ExecContext(ctx, "ROLLBACK") // the transaction ends under the job
		return err
	}}
	first = &writeJob{ctx: ctx, fn: func(tx *Tx) error {
		g.jobs <- putAccountJob(ctx, "b2", nil)
		g.jobs <- lose
		g.jobs <- putAccountJob(ctx, "b4", nil)
		return tx.PutAccount(ctx, Account{ID: "b1", Currency: 901})
	}}
	batch = g.commit([]*writeJob{first})
	require.Len(t, batch, 4)
	for i, j := range batch {
		require.ErrorContains(t, j.err, "rolled back", "job %d", i)
	}
	for _, id := range []string{"b1", "b2", "b3", "b4"} {
		require.False(t, accountCommitted(t, raw, id), id)
	}
	require.Empty(t, g.jobs)
}

// handGroupWriter is a writer on its own connection to a new store that
// does not run: the test calls its commit. raw reads what is committed.
func handGroupWriter(t *testing.T) (*groupWriter, *sql.DB) {
	t.Helper()
	dir := t.TempDir()
	db, err := OpenDir(dir, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	// The writer's connection has the store's pragmas.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+
		"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)&_pragma=synchronous(FULL)")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, raw.Close()) })
	conn, err := raw.Conn(context.Background())
	require.NoError(t, err)
	g := newGroupWriter(conn, sqliteDialect)
	t.Cleanup(g.release)
	return g, raw
}

// putAccount writes account id, then returns fail.
func putAccount(ctx context.Context, id string, fail error) func(*Tx) error {
	return func(tx *Tx) error {
		if err := tx.PutAccount(ctx, Account{ID: id, Currency: 901}); err != nil {
			return err
		}
		return fail
	}
}

// putAccountJob is a job of putAccount.
func putAccountJob(ctx context.Context, id string, fail error) *writeJob {
	return &writeJob{ctx: ctx, fn: putAccount(ctx, id, fail)}
}

// accountCommitted tells whether a reader of the committed state sees
// account id.
func accountCommitted(t *testing.T, raw *sql.DB, id string) bool {
	t.Helper()
	var n int
	require.NoError(t, raw.QueryRowContext(context.Background(), `SELECT count(*) FROM accounts WHERE id = ?`, id).Scan(&n))
	return n == 1
}
