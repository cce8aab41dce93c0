package authz_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/pgtest"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

// reverseBeside runs rev on one engine and req on another at the same
// time and returns their decisions.
func reverseBeside(t *testing.T, re *authz.Engine, rev authz.Reversal, ae *authz.Engine, req authz.Request) (reversal, auth authz.Decision) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		errs [2]error
	)
	wg.Add(2)
	go func() { defer wg.Done(); reversal, errs[0] = re.Reverse(ctx, rev) }()
	go func() { defer wg.Done(); auth, errs[1] = ae.Authorize(ctx, req) }()
	wg.Wait()
	require.NoError(t, errs[0], "reversal")
	require.NoError(t, errs[1], "authorisation")
	return reversal, auth
}

// twoInstances seeds the sample issuer of n into a fresh PostgreSQL
// database and returns two engines on two store handles of it, as two
// issuer processes sharing one database.
func twoInstances(t *testing.T, srv *pgtest.Server, n *issuertest.Net) (*authz.Engine, *authz.Engine, *store.DB) {
	t.Helper()
	dsn := srv.DSN(srv.Database(t))
	open := func() *store.DB {
		db, err := store.OpenPostgres(ctx, dsn, storetest.PostgresOptions())
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		return db
	}
	h1, h2 := open(), open()
	require.NoError(t, issuerhost.Init(ctx, h1, n.HSM, n.Seed))
	mk := func(db *store.DB) *authz.Engine {
		e, err := authz.New(db, n.HSM, authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Now: n.Clock.Now, Rand: fixedRand{}})
		require.NoError(t, err)
		return e
	}
	return mk(h1), mk(h2), h1
}

func reversalOf(n *issuertest.Net, r authz.Request) authz.Reversal {
	return authz.Reversal{MTI: "0400", Original: r.Key(), PAN: r.PAN, Amount: r.Amount, Currency: r.Currency,
		RRN: r.RRN, STAN: n.NextSTAN(), TransmissionTime: "0315100100", AcquirerID: "12345", TerminalID: "T0000001"}
}

// holdsOf checks that the account's held amount is the sum of its active
// holds and returns it with the status of each hold named.
func holdsOf(t *testing.T, db *store.DB, acct string, keys ...string) (int64, []store.HoldStatus) {
	t.Helper()
	var held int64
	var sts []store.HoldStatus
	require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
		a, err := tx.Account(ctx, acct)
		require.NoError(t, err)
		active, err := tx.ActiveHolds(ctx, acct)
		require.NoError(t, err)
		var sum int64
		for _, h := range active {
			sum += h.Amount
		}
		require.Equal(t, sum, a.Held, "held amount is the active holds'")
		held = a.Held
		for _, k := range keys {
			h, err := tx.Hold(ctx, k)
			require.NoError(t, err)
			sts = append(sts, h.Status)
		}
		return nil
	}))
	return held, sts
}

// Reversals on PostgreSQL lock only the hold and the account they touch;
// raced from two instances against each other and against authorisations
// of the same account, each approval is released once and the account's
// held amount stays the sum of its active holds.
func TestReversalsAcrossInstances(t *testing.T) {
	srv := pgtest.New(t)
	const acct = "acct-1"
	const rounds = 12

	t.Run("two reversals of one approval", func(t *testing.T) {
		n := issuertest.New(t)
		e1, e2, db := twoInstances(t, srv, n)
		for i := range rounds {
			r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000 + int64(i)})
			require.Equal(t, authz.Approved, decide(t, e1, r).Reason)
			revs := []authz.Reversal{reversalOf(n, r), reversalOf(n, r)}
			got := make([]authz.Reason, 2)
			var wg sync.WaitGroup
			for j, e := range []*authz.Engine{e1, e2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := e.Reverse(ctx, revs[j])
					if err == nil {
						got[j] = d.Reason
					}
				}()
			}
			wg.Wait()
			require.ElementsMatch(t, []authz.Reason{authz.Reversed, authz.AlreadyReversed}, got, "round %d", i)
			held, sts := holdsOf(t, db, acct, r.Key())
			require.Zero(t, held, "round %d: released once", i)
			require.Equal(t, []store.HoldStatus{store.HoldReleased}, sts)
		}
	})

	t.Run("a reversal and an authorisation of one account", func(t *testing.T) {
		n := issuertest.New(t)
		e1, e2, db := twoInstances(t, srv, n)
		var keep []string
		var kept int64
		prev := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 500})
		require.Equal(t, authz.Approved, decide(t, e1, prev).Reason)
		for i := range rounds {
			next := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 600 + int64(i)})
			rev := reversalOf(n, prev)
			dr, da := reverseBeside(t, e2, rev, e1, next)
			require.Equal(t, authz.Reversed, dr.Reason, "round %d", i)
			require.Equal(t, authz.Approved, da.Reason, "round %d", i)
			if i%2 == 0 {
				keep, kept = append(keep, next.Key()), kept+next.Amount
				prev = n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 700 + int64(i)})
				require.Equal(t, authz.Approved, decide(t, e2, prev).Reason)
			} else {
				prev = next
			}
		}
		held, _ := holdsOf(t, db, acct, keep...)
		require.Equal(t, kept+prev.Amount, held, "the kept approvals and the last one")
	})

	t.Run("a reversal racing its own original", func(t *testing.T) {
		n := issuertest.New(t)
		e1, e2, db := twoInstances(t, srv, n)
		for i := range rounds {
			r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 800 + int64(i)})
			rev := reversalOf(n, r)
			dr, da := reverseBeside(t, e2, rev, e1, r)
			// Either the approval came first and the reversal released
			// it, or the reversal came first and the late original is
			// refused: nothing stays held either way.
			switch dr.Reason {
			case authz.Reversed:
				require.Equal(t, authz.Approved, da.Reason, "round %d", i)
			case authz.OriginalNotFound:
				require.Equal(t, authz.DuplicateTransmission, da.Reason, "round %d", i)
			default:
				t.Fatalf("round %d: reversal %s", i, dr.Reason)
			}
			held, _ := holdsOf(t, db, acct)
			require.Zero(t, held, fmt.Sprintf("round %d", i))
		}
	})
}
