package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

// authorise is the read-modify-write an authorisation does, cut down: the
// ATC must be above the high-water mark and the cryptogram fresh (R-G4),
// the amount must fit the open-to-buy; an approval holds the amount and
// raises the mark. Every attempt is logged and counted on the account
// (Posted + 1, read then written back whole), so that a lost update shows.
func authorise(db *store.DB, atc uint16, amount int64) (bool, error) {
	var approved bool
	err := db.Update(ctx, func(tx *store.Tx) error {
		approved = false
		reason := ""
		hw, seen, err := tx.ATC(ctx, "card:c1")
		if err != nil {
			return err
		}
		acct, err := tx.Account(ctx, "a1")
		if err != nil {
			return err
		}
		ac := []byte(fmt.Sprintf("AC%06d", atc))
		switch {
		case seen && atc <= hw:
			reason = "atc_replay"
		case acct.OpenToBuy() < amount:
			reason = "insufficient_funds"
		default:
			fresh, err := tx.UseCryptogram(ctx, "card:c1", atc, ac, t0)
			if err != nil {
				return err
			}
			if !fresh {
				reason = "cryptogram_replay"
				break
			}
			if err := tx.AddHold(ctx, store.Hold{Key: fmt.Sprintf("0100/%06d", atc), AccountID: "a1", Cred: "card:c1",
				Amount: amount, Currency: 901, CreatedAt: t0}); err != nil {
				return err
			}
			if err := tx.RaiseATC(ctx, "card:c1", atc, t0); err != nil {
				return err
			}
			if err := tx.Audit(ctx, store.AuditEvent{At: t0, Actor: "test", Action: "approved", Subject: fmt.Sprint(atc)}); err != nil {
				return err
			}
			approved = true
		}
		// Read again: the hold changed Held.
		if acct, err = tx.Account(ctx, "a1"); err != nil {
			return err
		}
		acct.Posted++
		if err := tx.PutAccount(ctx, acct); err != nil {
			return err
		}
		code := "00"
		if !approved {
			code = "05"
		}
		_, err = tx.LogAuth(ctx, store.AuthRecord{At: t0, MTI: "0100", Cred: "card:c1", Amount: amount, Currency: 901,
			ATC: int(atc), ResponseCode: code, Reason: reason})
		return err
	})
	return approved, err
}

// Two store handles on one database, as two issuer host processes share
// it: authorisations race on both, every ATC presented twice (once
// replayed, likely on the other handle). No ATC or cryptogram gets through
// twice, approved ATCs only go up, no update is lost, the holds never
// exceed the limit and the audit chain holds (R-G4).
func TestTwoInstancesRace(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		h1, h2 := e.mustOpen(t, target), e.mustOpen(t, target)
		seedCard(t, h1) // limit 100000
		const (
			atcs    = 60
			amount  = 3000 // 33 approvals fit the limit
			workers = 4    // per handle
		)
		jobs := make(chan uint16)
		go func() {
			for a := uint16(1); a <= atcs; a++ {
				jobs <- a
				jobs <- a
			}
			close(jobs)
		}()
		var (
			mu       sync.Mutex
			approved = map[uint16]int{}
			errs     []error
			wg       sync.WaitGroup
		)
		for w := range 2 * workers {
			db := []*store.DB{h1, h2}[w%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for a := range jobs {
					ok, err := authorise(db, a, amount)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					if ok {
						approved[a]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		require.Empty(t, errs)
		var maxATC uint16
		for a, n := range approved {
			require.Equal(t, 1, n, "ATC %d approved %d times", a, n)
			maxATC = max(maxATC, a)
		}
		require.NotEmpty(t, approved)
		require.LessOrEqual(t, len(approved)*amount, 100000)

		require.NoError(t, h2.View(ctx, func(tx *store.Tx) error {
			acct, err := tx.Account(ctx, "a1")
			require.NoError(t, err)
			require.Equal(t, int64(2*atcs), acct.Posted, "every attempt counted: no lost update")
			require.Equal(t, int64(len(approved)*amount), acct.Held)
			require.GreaterOrEqual(t, acct.OpenToBuy(), int64(0))
			holds, err := tx.ActiveHolds(ctx, "a1")
			require.NoError(t, err)
			require.Len(t, holds, len(approved))
			hw, _, err := tx.ATC(ctx, "card:c1")
			require.NoError(t, err)
			require.Equal(t, maxATC, hw)

			log, err := tx.AuthLog(ctx, 0)
			require.NoError(t, err)
			require.Len(t, log, 2*atcs)
			last := -1
			for i, r := range log {
				require.Equal(t, int64(i+1), r.Seq)
				if r.ResponseCode == "00" {
					require.Greater(t, r.ATC, last, "approved ATCs only go up")
					last = r.ATC
				}
			}
			n, err := tx.VerifyAudit(ctx)
			require.NoError(t, err)
			require.Equal(t, len(approved), n)
			return nil
		}))
	})
}

// A writer on one handle holds every other handle's writers until it
// commits; the next writer then sees what it wrote. A reader is not held.
func TestWriterExclusion(t *testing.T) {
	e := postgresEngine
	target := e.fresh(t)
	h1, h2 := e.mustOpen(t, target), e.mustOpen(t, target)
	seedCard(t, h1)

	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- h1.Update(ctx, func(tx *store.Tx) error {
			if err := tx.AddHeld(ctx, "a1", 100); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside

	// A writer with a deadline gives up waiting.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := h2.Update(short, func(tx *store.Tx) error { return errors.New("must not run") })
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A reader is not held, and does not see the uncommitted hold.
	require.NoError(t, h2.View(ctx, func(tx *store.Tx) error {
		a, err := tx.Account(ctx, "a1")
		require.NoError(t, err)
		require.Zero(t, a.Held)
		return nil
	}))

	entered := make(chan int64, 1)
	second := make(chan error, 1)
	go func() {
		second <- h2.Update(ctx, func(tx *store.Tx) error {
			a, err := tx.Account(ctx, "a1")
			if err != nil {
				return err
			}
			entered <- a.Held
			return tx.AddHeld(ctx, "a1", 1)
		})
	}()
	select {
	case <-entered:
		t.Fatal("a second writer ran while the first held the database")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-first)
	require.Equal(t, int64(100), <-entered, "the second writer sees the first's commit")
	require.NoError(t, <-second)
	require.NoError(t, h1.View(ctx, func(tx *store.Tx) error {
		a, err := tx.Account(ctx, "a1")
		require.NoError(t, err)
		require.Equal(t, int64(101), a.Held)
		return nil
	}))
}

// Instances starting together on an empty database: the schema is made
// once, and every one of them opens it.
func TestConcurrentFirstStart(t *testing.T) {
	e := postgresEngine
	target := e.fresh(t)
	var wg sync.WaitGroup
	dbs := make([]*store.DB, 4)
	errs := make([]error, len(dbs))
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = store.OpenPostgres(ctx, target, store.PostgresOptions{MaxConns: 2, Cipher: storetest.Cipher()})
		}()
	}
	wg.Wait()
	for i, db := range dbs {
		require.NoError(t, errs[i])
		require.Equal(t, "postgres", db.Engine())
		require.Empty(t, db.Path())
		require.NoError(t, db.Close())
	}
	raw := e.raw(t, target)
	defer raw.Close()
	var n int
	require.NoError(t, raw.QueryRow(`SELECT COUNT(*) FROM pg_trigger WHERE tgname LIKE '%_no_%'`).Scan(&n))
	require.Equal(t, 6, n, "three triggers on each of audit and auth_log, once")
	require.NoError(t, raw.QueryRow(`SELECT COUNT(*) FROM meta`).Scan(&n))
	require.Equal(t, 2, n, "the schema version and the data keys' check values")
}
