package store

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func open(t *testing.T) (*SQL, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func entry() Entry {
	return Entry{
		At: t0, MTI: "0100", TID: "T0000001", MID: "M00000000000001",
		TermSTAN: "000123", TermDE7: "0314092653", TermRRN: "",
		MaskedPAN: "476173******0010", BIN: "476173", Issuer: "issuer",
		Amount: 150000, Currency: "901",
	}
}

// An original reversed before its answer came stays reversed when the
// answer is written; the answer's code is kept.
func TestReversedStaysReversed(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	id, err := s.Record(ctx, entry())
	require.NoError(t, err)
	require.NoError(t, s.Mark(ctx, id, StateReversed))
	require.NoError(t, s.Complete(ctx, id, Result{ResponseCode: "00", AuthCode: "A1B2C3", State: StateAnswered}))
	e, err := s.Entry(ctx, id)
	require.NoError(t, err)
	require.Equal(t, StateReversed, e.State)
	require.Equal(t, "00", e.ResponseCode)
}

func TestJournal(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	id, err := s.Record(ctx, entry())
	require.NoError(t, err)
	require.Positive(t, id)

	e, err := s.Entry(ctx, id)
	require.NoError(t, err)
	require.Equal(t, StatePending, e.State)
	require.Equal(t, t0, e.At)
	require.Equal(t, "476173******0010", e.MaskedPAN)

	require.NoError(t, s.Stamp(ctx, id, "000001", "0314092654", "607309000001"))
	require.NoError(t, s.Complete(ctx, id, Result{ResponseCode: "00", AuthCode: "A1B2C3", State: StateAnswered}))

	o, err := s.Original(ctx, "0100", "T0000001", "000123", "0314092653")
	require.NoError(t, err)
	require.Equal(t, id, o.ID)
	require.Equal(t, "000001", o.AcqSTAN)
	require.Equal(t, "0314092654", o.AcqDE7)
	require.Equal(t, "607309000001", o.RRN)
	require.Equal(t, "00", o.ResponseCode)
	require.Equal(t, "A1B2C3", o.AuthCode)
	require.Equal(t, StateAnswered, o.State)

	_, err = s.Original(ctx, "0400", "T0000001", "000123", "0314092653")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.Original(ctx, "0100", "T0000002", "000123", "0314092653")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, s.Complete(ctx, 999, Result{}), ErrNotFound)
	require.ErrorIs(t, s.Stamp(ctx, 999, "", "", ""), ErrNotFound)

	e2 := entry()
	e2.At = t0.Add(time.Minute)
	e2.TermSTAN = "000124"
	_, err = s.Record(ctx, e2)
	require.NoError(t, err)
	all, err := s.Since(ctx, t0)
	require.NoError(t, err)
	require.Len(t, all, 2)
	later, err := s.Since(ctx, t0.Add(time.Second))
	require.NoError(t, err)
	require.Len(t, later, 1)
	require.Equal(t, "000124", later[0].TermSTAN)
}

// R-G5g: the acquirer's store refuses an unmasked PAN.
func TestRefusesSensitive(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	e := entry()
	e.MaskedPAN = "4761739001010010"
	_, err := s.Record(ctx, e)
	require.ErrorIs(t, err, ErrSensitive)
	require.NotContains(t, err.Error(), "4761739001010010")

	e = entry()
	e.BIN = "4761739001010010"
	_, err = s.Record(ctx, e)
	require.ErrorIs(t, err, ErrSensitive)

	a := advice(0)
	a.MaskedPAN = "4761739001010010"
	_, err = s.Enqueue(ctx, a, Result{})
	require.ErrorIs(t, err, ErrSensitive)
	a = advice(0)
	a.BIN = ""
	_, err = s.Enqueue(ctx, a, Result{})
	require.ErrorIs(t, err, ErrSensitive)
	a = advice(0)
	a.DE90 = "0100"
	_, err = s.Enqueue(ctx, a, Result{})
	require.ErrorIs(t, err, ErrInvalid)
}

func advice(journalID int64) Advice {
	return Advice{
		JournalID: journalID, CreatedAt: t0, BIN: "476173",
		DE90: "010000000103140926540000012345600000000000", STAN: "000002", ProcessingCode: "000000",
		RRN: "607309000001",
		TID: "T0000001", MID: "M00000000000001", Amount: 150000, Currency: "901",
		MaskedPAN: "476173******0010", ReasonCode: "91",
	}
}

func TestAdviceQueue(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	jid, err := s.Record(ctx, entry())
	require.NoError(t, err)

	id, err := s.Enqueue(ctx, advice(jid), Result{ResponseCode: "91", Reason: "issuer-timeout", State: StateTimedOut})
	require.NoError(t, err)
	e, err := s.Entry(ctx, jid)
	require.NoError(t, err)
	require.Equal(t, StateTimedOut, e.State, "journal line completed in the same transaction")
	require.Equal(t, "91", e.ResponseCode)

	n, err := s.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	due, err := s.Due(ctx, t0, 0, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, id, due[0].ID)
	require.Equal(t, 0, due[0].Attempts)
	require.Equal(t, "000002", due[0].STAN)
	require.Equal(t, "000000", due[0].ProcessingCode)
	require.Equal(t, "010000000103140926540000012345600000000000", due[0].DE90)
	require.Equal(t, "607309000001", due[0].RRN)
	require.Equal(t, int64(150000), due[0].Amount)

	a, err := s.Attempted(ctx, id, t0.Add(5*time.Second))
	require.NoError(t, err)
	require.Equal(t, 1, a.Attempts)
	require.Equal(t, t0.Add(5*time.Second), a.NextAt)

	due, err = s.Due(ctx, t0.Add(4*time.Second), 0, 10)
	require.NoError(t, err)
	require.Empty(t, due, "not due before next")
	due, err = s.Due(ctx, t0.Add(5*time.Second), 0, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)

	got, err := s.AdviceFor(ctx, jid)
	require.NoError(t, err)
	require.Equal(t, id, got.ID)
	_, err = s.AdviceFor(ctx, jid+100)
	require.ErrorIs(t, err, ErrNotFound)

	require.NoError(t, s.Acknowledge(ctx, id, "00", t0.Add(6*time.Second)))
	due, err = s.Due(ctx, t0.Add(time.Hour), 0, 10)
	require.NoError(t, err)
	require.Empty(t, due)
	n, err = s.Pending(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	got, err = s.AdviceFor(ctx, jid)
	require.NoError(t, err)
	require.True(t, got.Done)
	require.Equal(t, "00", got.AckCode)
	require.Equal(t, t0.Add(6*time.Second), got.AckedAt)

	_, err = s.Attempted(ctx, id, t0)
	require.ErrorIs(t, err, ErrNotFound, "a delivered advice is not sent again")
	require.ErrorIs(t, s.Acknowledge(ctx, 999, "00", t0), ErrNotFound)
}

// An advice for a reversal keeps the original's outcome and only marks it.
func TestEnqueueMarksOnly(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	jid, err := s.Record(ctx, entry())
	require.NoError(t, err)
	require.NoError(t, s.Complete(ctx, jid, Result{ResponseCode: "00", AuthCode: "123456", State: StateAnswered}))
	_, err = s.Enqueue(ctx, advice(jid), Result{State: StateReversed})
	require.NoError(t, err)
	e, err := s.Entry(ctx, jid)
	require.NoError(t, err)
	require.Equal(t, StateReversed, e.State)
	require.Equal(t, "00", e.ResponseCode)
	require.Equal(t, "123456", e.AuthCode)

	require.NoError(t, s.Mark(ctx, jid, StateAnswered))
	e, err = s.Entry(ctx, jid)
	require.NoError(t, err)
	require.Equal(t, StateAnswered, e.State)
	require.ErrorIs(t, s.Mark(ctx, 999, StateAnswered), ErrNotFound)
}

func TestEnqueueUnknownJournalRollsBack(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	_, err := s.Enqueue(ctx, advice(42), Result{State: StateTimedOut})
	require.ErrorIs(t, err, ErrNotFound)
	n, err := s.Pending(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "the advice insert was rolled back")
}

// Nothing is lost across a restart: the queue and counters are read back
// from the file.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	id, err := s.Enqueue(ctx, advice(0), Result{})
	require.NoError(t, err)
	_, err = s.Attempted(ctx, id, t0)
	require.NoError(t, err)
	first, err := s.Reserve(ctx, "stan", 100)
	require.NoError(t, err)
	require.EqualValues(t, 1, first)
	require.NoError(t, s.Close())

	s, err = Open(dir)
	require.NoError(t, err)
	defer s.Close()
	due, err := s.Due(ctx, t0, 0, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, 1, due[0].Attempts)
	next, err := s.Reserve(ctx, "stan", 100)
	require.NoError(t, err)
	require.EqualValues(t, 101, next)

	fi, err := os.Stat(filepath.Join(dir, FileName))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// From the first open on, the database and its -wal and -shm files are
// private (0600) whatever the umask, and the directory made for them 0700.
func TestFilesPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acq")
	s, err := Open(dir)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Reserve(context.Background(), "stan", 1)
	require.NoError(t, err)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}
}

func TestReserveConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				v, err := s.Reserve(ctx, "stan", 10)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[v] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, 80, "every block distinct")
	for v := range seen {
		require.Equal(t, int64(1), v%10, "blocks start at 1, 11, 21, ...")
	}
	_, err := s.Reserve(ctx, "stan", 0)
	require.Error(t, err)
}

func TestClosed(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.Record(context.Background(), entry())
	require.ErrorIs(t, err, ErrClosed)
}
