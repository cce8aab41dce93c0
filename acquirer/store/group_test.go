package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Concurrent writers share commits: every line recorded and completed is
// there after a reopen, a write that fails keeps nothing, and a store
// closed refuses writes.
func TestGroupCommitConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := entry()
			e.TermSTAN = fmt.Sprintf("%06d", i)
			if i%10 == 0 {
				e.MaskedPAN = "4761739001010010" // refused before the writer
			}
			id, err := s.Record(ctx, e)
			if err == nil {
				err = s.Complete(ctx, id, Result{ResponseCode: "00", AuthCode: "A1", State: StateAnswered})
			}
			if err == nil && i%7 == 0 {
				err = s.Complete(ctx, id+100000, Result{ResponseCode: "00", State: StateAnswered})
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	want := 0
	for i, err := range errs {
		switch {
		case i%10 == 0:
			require.ErrorIs(t, err, ErrSensitive)
		case i%7 == 0:
			require.ErrorIs(t, err, ErrNotFound)
			want++
		default:
			require.NoError(t, err)
			want++
		}
	}
	require.NoError(t, s.Close())
	_, err = s.Record(ctx, entry())
	require.ErrorIs(t, err, ErrClosed)

	s, err = Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	lines, err := s.Since(ctx, t0)
	require.NoError(t, err)
	require.Len(t, lines, want)
	for _, l := range lines {
		require.Equal(t, StateAnswered, l.State)
		require.Equal(t, "00", l.ResponseCode)
	}
}

// Sighting skips the lines refused as duplicates and finds the last
// other one; Recent lists the newest lines, oldest first.
func TestSightingAndRecent(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	first := entry()
	id1, err := s.Record(ctx, first)
	require.NoError(t, err)
	dup := entry()
	dup.At = t0.Add(time.Minute)
	dup.ResponseCode, dup.State = "94", StateAnswered
	_, err = s.Record(ctx, dup)
	require.NoError(t, err)
	got, err := s.Sighting(ctx, "0100", first.TID, first.TermSTAN, first.TermDE7)
	require.NoError(t, err)
	require.Equal(t, id1, got.ID)
	again := entry()
	again.At = t0.Add(2 * time.Hour)
	id3, err := s.Record(ctx, again)
	require.NoError(t, err)
	got, err = s.Sighting(ctx, "0100", first.TID, first.TermSTAN, first.TermDE7)
	require.NoError(t, err)
	require.Equal(t, id3, got.ID)
	_, err = s.Sighting(ctx, "0400", first.TID, first.TermSTAN, first.TermDE7)
	require.ErrorIs(t, err, ErrNotFound)

	lines, err := s.Recent(ctx, t0, 2)
	require.NoError(t, err)
	require.Len(t, lines, 2)
	require.Equal(t, "94", lines[0].ResponseCode)
	require.Equal(t, id3, lines[1].ID)
	lines, err = s.Recent(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, lines, 1)
}

// CompleteLater does not wait for its commit, but a read sees it, a later
// write lands after it, and Close commits it.
func TestCompleteLater(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	id, err := s.Record(ctx, entry())
	require.NoError(t, err)
	done := make(chan error, 1)
	s.CompleteLater(ctx, id, Result{ResponseCode: "00", AuthCode: "A1", State: StateAnswered}, func(err error) { done <- err })
	require.NoError(t, s.Mark(ctx, id, StateReversed))
	require.NoError(t, <-done)
	e, err := s.Entry(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "00", e.ResponseCode)
	require.Equal(t, StateReversed, e.State, "the later Mark wins")

	id2, err := s.Record(ctx, entry())
	require.NoError(t, err)
	s.CompleteLater(ctx, id2, Result{ResponseCode: "05", State: StateAnswered}, nil)
	require.NoError(t, s.Close())
	s.CompleteLater(ctx, id2, Result{ResponseCode: "00", State: StateAnswered}, func(err error) { done <- err })
	require.ErrorIs(t, <-done, ErrClosed)

	s, err = Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	e, err = s.Entry(ctx, id2)
	require.NoError(t, err)
	require.Equal(t, "05", e.ResponseCode)
}

// A batch whose middle write fails after a statement of its own commits
// the other writes, and nothing of the failed one: the batch runs again
// with a savepoint per write. The same holds when the failed write and the
// one after it joined the batch while its first write ran.
func TestBatchWithFailedWrite(t *testing.T) {
	ctx := context.Background()
	broken := errors.New("broken write")
	for _, joined := range []bool{false, true} {
		t.Run(fmt.Sprintf("joined=%v", joined), func(t *testing.T) {
			s, _ := open(t)
			w := handWriter(t, s)
			runs := 0
			fails := &writeJob{ctx: ctx, fn: func(q querier) error {
				runs++
				if err := insertLine(ctx, "000002")(q); err != nil {
					return err
				}
				return broken
			}}
			third := &writeJob{ctx: ctx, fn: insertLine(ctx, "000003")}
			first := &writeJob{ctx: ctx, fn: insertLine(ctx, "000001")}
			batch := []*writeJob{first, fails, third}
			if joined {
				queued := false
				first.fn = func(q querier) error {
					if !queued { // the first run only, not the one under savepoints
						queued = true
						w.jobs <- fails
						w.jobs <- third
					}
					return insertLine(ctx, "000001")(q)
				}
				batch = batch[:1]
			}
			batch = w.commit(batch)
			require.Len(t, batch, 3)
			require.NoError(t, batch[0].err)
			require.ErrorIs(t, batch[1].err, broken)
			require.NoError(t, batch[2].err)
			require.Equal(t, 2, runs, "run once in the batch, once more under its savepoint")
			require.Equal(t, []string{"000001", "000003"}, committedSTANs(t, s))
			require.Empty(t, w.jobs)
		})
	}
}

// Writes queued while a batch's writes run join it, up to maxBatch, and
// share its commit: the one that joined runs in the first one's
// transaction (a reader does not see the first line yet), and those beyond
// maxBatch wait in the queue for the next batch.
func TestBatchJoins(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	w := handWriter(t, s)
	var seenByJoined []string
	joined := &writeJob{ctx: ctx, fn: func(q querier) error {
		seenByJoined = committedSTANs(t, s)
		return insertLine(ctx, "000002")(q)
	}}
	first := &writeJob{ctx: ctx, fn: func(q querier) error {
		w.jobs <- joined
		for i := 1; i < maxBatch+2; i++ {
			w.jobs <- &writeJob{ctx: ctx, fn: insertLine(ctx, fmt.Sprintf("%06d", i+2))}
		}
		return insertLine(ctx, "000001")(q)
	}}
	batch := w.commit([]*writeJob{first})
	require.Len(t, batch, maxBatch)
	for i, j := range batch {
		require.NoError(t, j.err, "write %d", i)
	}
	require.NotNil(t, seenByJoined, "the write that joined ran")
	require.Empty(t, seenByJoined, "the write that joined ran in the first one's transaction")
	got := committedSTANs(t, s)
	require.Len(t, got, maxBatch)
	require.Equal(t, "000001", got[0])
	require.Equal(t, fmt.Sprintf("%06d", maxBatch), got[maxBatch-1])
	require.Len(t, w.jobs, 3, "the writes beyond maxBatch wait")
}

// handWriter is a writer on a connection of s's database that does not
// run: the test calls its commit.
func handWriter(t *testing.T, s *SQL) *writer {
	t.Helper()
	conn, err := s.db.Conn(context.Background())
	require.NoError(t, err)
	w := newWriter(conn)
	t.Cleanup(w.release)
	return w
}

// committedSTANs lists the terminal STANs of the journal's lines as a
// reader of the committed journal sees them.
func committedSTANs(t *testing.T, s *SQL) []string {
	t.Helper()
	rows, err := s.db.QueryContext(context.Background(), `SELECT term_stan FROM journal ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	stans := []string{}
	for rows.Next() {
		var stan string
		require.NoError(t, rows.Scan(&stan))
		stans = append(stans, stan)
	}
	require.NoError(t, rows.Err())
	return stans
}

// insertLine is a write of a pending journal line of terminal STAN stan.
func insertLine(ctx context.Context, stan string) func(querier) error {
	return func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO journal (at_ms, mti, tid, mid, term_stan, term_de7, term_rrn,
		acq_stan, acq_de7, rrn, masked_pan, bin, issuer, amount, currency, response_code, auth_code, reason, state)
		VALUES (?, '0100', 'T0000001', '', ?, '', '', '', '', '', '', '', '', 0, '901', '', '', '', 'pending')`, ms(t0), stan)
		return err
	}
}

// A write no caller waits for (an outcome) waits for one that a caller
// waits for and shares its commit; with none coming it commits after
// laterWait; and a writer being stopped commits it at once.
func TestLaterWaitsForAWaitedWrite(t *testing.T) {
	ctx := context.Background()
	outcome := func(id int64) func(querier) error {
		return func(q querier) error {
			return complete(ctx, q, id, Result{ResponseCode: "00", AuthCode: "A1", State: StateAnswered})
		}
	}
	answered := func(t *testing.T, s *SQL, id int64) {
		t.Helper()
		e, err := s.Entry(ctx, id)
		require.NoError(t, err)
		require.Equal(t, StateAnswered, e.State)
	}
	// pending records a journal line and starts a writer that waits up
	// to wait for a waited write.
	pending := func(t *testing.T, wait time.Duration) (*SQL, *writer, int64) {
		t.Helper()
		s, _ := open(t)
		id, err := s.Record(ctx, entry())
		require.NoError(t, err)
		return s, runningWriter(t, s, wait), id
	}
	t.Run("shares the next waited write's commit", func(t *testing.T) {
		s, w, id := pending(t, time.Hour)
		committed := make(chan error, 1)
		w.later(ctx, outcome(id), func(err error) { committed <- err })
		select {
		case <-committed:
			t.Fatal("the outcome was committed alone")
		case <-time.After(50 * time.Millisecond):
		}
		require.NoError(t, w.do(ctx, insertLine(ctx, "000009")))
		select { // answered in the waited write's batch, before it
		case err := <-committed:
			require.NoError(t, err)
		default:
			t.Fatal("the outcome was not committed with the waited write")
		}
		answered(t, s, id)
	})
	t.Run("commits after laterWait", func(t *testing.T) {
		const wait = 20 * time.Millisecond
		s, w, id := pending(t, wait)
		committed := make(chan error, 1)
		start := time.Now()
		w.later(ctx, outcome(id), func(err error) { committed <- err })
		require.NoError(t, <-committed)
		require.GreaterOrEqual(t, time.Since(start), wait, "committed before laterWait")
		answered(t, s, id)
	})
	t.Run("a full batch commits at once", func(t *testing.T) {
		s, _ := open(t)
		w := runningWriter(t, s, time.Hour)
		committed := make(chan error, maxBatch)
		for i := range maxBatch {
			w.later(ctx, insertLine(ctx, fmt.Sprintf("%06d", i+1)), func(err error) { committed <- err })
		}
		for range maxBatch {
			select {
			case err := <-committed:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("a full batch of outcomes waited")
			}
		}
		require.Len(t, committedSTANs(t, s), maxBatch)
	})
	t.Run("stop commits it", func(t *testing.T) {
		s, w, id := pending(t, time.Hour)
		committed := make(chan error, 1)
		w.later(ctx, outcome(id), func(err error) { committed <- err })
		stopped := make(chan struct{})
		go func() { w.stop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("stop waited for laterWait")
		}
		require.NoError(t, <-committed)
		answered(t, s, id)
	})
}

// runningWriter is a writer on a connection of s's database that waits up
// to wait for a waited write, running until the test ends.
func runningWriter(t *testing.T, s *SQL, wait time.Duration) *writer {
	t.Helper()
	conn, err := s.db.Conn(context.Background())
	require.NoError(t, err)
	w := newWriter(conn)
	w.laterWait = wait
	go w.loop()
	t.Cleanup(w.stop)
	return w
}
