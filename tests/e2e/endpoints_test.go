package e2e

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	istore "github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/pgtest"
)

// One acquirer routes the sample BINs to two issuer processes on one
// PostgreSQL database (--issuer ADDR,ADDR): the sales are spread over
// both, a replayed ATC or a used single-use key is refused whichever takes
// it, and when one process dies
// the other takes every sale.
func TestOneAcquirerTwoIssuerProcesses(t *testing.T) {
	srv := pgtest.New(t)
	dsn := srv.URL(srv.Database(t))
	dir := t.TempDir()
	issuer1 := start(t, "issuer", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "issuer1"), "--db", dsn)
	issuer2 := start(t, "issuer", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "issuer2"), "--db", dsn)
	acq := startLogged(t, "acquirer", "--listen", "127.0.0.1:0", "--issuer", issuer1.addr+","+issuer2.addr,
		"--data", filepath.Join(dir, "acquirer"), "--issuer-timeout", "3s")
	acq.waitLine(t, "issuer links signed on")
	acq.waitLine(t, "at "+issuer1.addr+", "+issuer2.addr)

	raw, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer raw.Close()
	instances := func() int {
		var n int
		require.NoError(t, raw.QueryRow(`SELECT count(DISTINCT instance) FROM auth_log`).Scan(&n))
		return n
	}

	holder := newCardholder().at(filepath.Join(dir, "issuer1"))
	term := newTerminal(t, acq.addr, holder.now)
	visa := holder.card(t, "visa-plastic", false)
	for range 4 {
		requireAnswer(t, term.sell(t, visa, 150000, "", ""), "00", "")
	}
	require.Equal(t, 2, instances(), "both issuer processes decided")
	// The card as it was before its first tap: an ATC seen before, refused
	// by whichever process takes it.
	for range 2 {
		requireAnswer(t, term.sell(t, holder.card(t, "visa-plastic", true), 120000, "", ""), "82", isospec.ReasonATCReplay)
	}

	// An HCE phone's single-use key, used through one process, presented
	// again (the phone restored from before the tap): refused, whichever
	// process takes it.
	requireAnswer(t, term.sell(t, holder.card(t, "hce-phone", false), 150000, "5791", ""), "00", "")
	for range 2 {
		requireAnswer(t, term.sell(t, holder.card(t, "hce-phone", true), 150000, "5791", ""), "82", isospec.ReasonHCEKeyUsed)
	}

	// The first process dies: its link drops, and the other takes every
	// sale.
	issuer1.kill()
	acq.waitLine(t, "issuer link dropped")
	for range 3 {
		requireAnswer(t, term.sell(t, visa, 150000, "", ""), "00", "")
	}

	ctx := context.Background()
	st, err := istore.OpenPostgres(ctx, dsn, istore.PostgresOptions{})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.View(ctx, func(tx *istore.Tx) error {
		a, err := tx.Account(ctx, "acct-visa-plastic")
		require.NoError(t, err)
		require.Equal(t, int64(7*150000), a.Held, "seven approvals on one account")
		holds, err := tx.ActiveHolds(ctx, a.ID)
		require.NoError(t, err)
		require.Len(t, holds, 7)
		_, err = tx.VerifyAudit(ctx)
		return err
	}))
}
