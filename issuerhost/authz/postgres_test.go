package authz_test

import (
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/pgtest"
)

// The PostgreSQL tests share one private server, stopped at the end.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Two issuer instances on one PostgreSQL database, each request read on
// one of them before any is written, and the write phases let go at once:
// the row locks of the write phases take them in turn, and exactly one of
// two requests of one cryptogram, of one ATC, is approved; an account's
// open-to-buy is never exceeded (R-G4).
func TestSplitTwoInstancesPostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	n := issuertest.NewPostgres(t, dsn)
	e1 := engine(t, n, authz.Policy{})
	e2, err := authz.New(issuertest.OpenPostgres(t, dsn), n.HSM,
		authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Now: n.Clock.Now, Rand: fixedRand{}, Cloud: n.Cloud})
	require.NoError(t, err)
	both := []*authz.Engine{e1, e2}

	sorted := func(ds []authz.Decision) []authz.Reason {
		r := reasons(ds)
		slices.Sort(r)
		return r
	}
	together := func(reqs ...authz.Request) []authz.Reason {
		g := newGate(e1, len(reqs))
		authz.SetBetweenPhases(e2, g.between)
		return sorted(g.runOn(t, both, reqs, true))
	}

	first := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 5})
	second := first
	second.STAN, second.RRN = n.NextSTAN(), "606810999999"
	require.Equal(t, []authz.Reason{authz.Approved, authz.ARQCReplayed}, together(first, second))

	a := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 7})
	b := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 2000, ATC: 7, UN: 0x12345678})
	require.Equal(t, []authz.Reason{authz.Approved, authz.ATCNotAhead}, together(a, b))

	// Two cards of acct-1, with NT$1,500.00 left to buy, each buying
	// NT$1,000.00.
	held := account(t, n, "acct-1").Held
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		a, err := tx.Account(ctx, "acct-1")
		require.NoError(t, err)
		a.CreditLimit = a.Posted + a.Held + 150_000
		return tx.PutAccount(ctx, a)
	}))
	c := n.Request(issuertest.Visa22, issuertest.Tap{Amount: 100_000})
	d := n.Request(issuertest.Visa10, issuertest.Tap{Amount: 100_000})
	require.Equal(t, []authz.Reason{authz.Approved, authz.InsufficientFunds}, together(c, d))
	require.Equal(t, held+100_000, account(t, n, "acct-1").Held)
}
