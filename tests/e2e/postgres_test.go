package e2e

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	istore "github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/pgtest"
)

// Two issuer host processes on one PostgreSQL database, each behind its
// own acquirer: what one approves, the other knows at once. A card's ATC
// approved on the first is refused as a replay on the second, and an HCE
// key used on the first is refused on the second (R-G4, R-S5b); the
// administrative commands work on the shared database.
func TestTwoIssuersOnePostgres(t *testing.T) {
	srv := pgtest.New(t)
	dsn := srv.URL(srv.Database(t))
	dir := t.TempDir()

	issuer1 := start(t, "issuer", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "issuer1"), "--db", dsn)
	require.Contains(t, strings.Join(issuer1.output(), "\n"), "sample data created")
	issuer2 := start(t, "issuer", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "issuer2"), "--db", dsn)
	require.NotContains(t, strings.Join(issuer2.output(), "\n"), "sample data created", "made once, by the first")
	// Two acquiring institutions (the issuer keys a transaction by
	// acquirer, STAN and transmission time, and both count STANs from 1).
	acq1 := start(t, "acquirer", "--listen", "127.0.0.1:0", "--issuer", issuer1.addr,
		"--data", filepath.Join(dir, "acquirer1"), "--issuer-timeout", "3s")
	acq2 := start(t, "acquirer", "--listen", "127.0.0.1:0", "--issuer", issuer2.addr,
		"--data", filepath.Join(dir, "acquirer2"), "--issuer-timeout", "3s", "--acquirer-id", "400002")
	acq1.waitLine(t, "issuer links signed on")
	acq2.waitLine(t, "issuer links signed on")

	holder := newCardholder().at(filepath.Join(dir, "issuer1"))
	term1 := newTerminal(t, acq1.addr, holder.now)
	term2 := newTerminal(t, acq2.addr, holder.now)

	visa := holder.card(t, "visa-plastic", false)
	requireAnswer(t, term1.sell(t, visa, 150000, "", ""), "00", "")
	// The same card as it was before that tap (ATC 1 again), on the other
	// instance: the very same cryptogram (same amount, same unpredictable
	// number) is a replay, and so is a new cryptogram at that ATC.
	requireAnswer(t, term2.sell(t, holder.card(t, "visa-plastic", true), 150000, "", ""), "82", isospec.ReasonCryptogramReplay)
	requireAnswer(t, term2.sell(t, holder.card(t, "visa-plastic", true), 120000, "", ""), "82", isospec.ReasonATCReplay)
	// The card going on is served by the second instance, whose keystore
	// got the sample keys: its ARQC verifies and the ARPC is there.
	res := term2.sell(t, visa, 150000, "", "")
	requireAnswer(t, res, "00", "")
	require.NotEmpty(t, res.IssuerUpdate.AuthenticationData)

	// An HCE key used through the second, presented again to the first.
	requireAnswer(t, term2.sell(t, holder.card(t, "hce-phone", false), 150000, "5791", ""), "00", "")
	requireAnswer(t, term1.sell(t, holder.card(t, "hce-phone", true), 150000, "5791", ""), "82", isospec.ReasonHCEKeyUsed)

	// A token suspended with the administrative command is declined by
	// both instances.
	out, err := run(t, "issuer", "suspend", "wallet-phone", "--db", dsn, "--data", filepath.Join(dir, "issuer1"))
	require.NoError(t, err, out)
	requireAnswer(t, term1.sell(t, holder.card(t, "wallet-phone", false), 350000, "2468", ""), "62", isospec.ReasonTokenSuspended)
	requireAnswer(t, term2.sell(t, holder.card(t, "wallet-phone", false), 350000, "2468", ""), "62", isospec.ReasonTokenSuspended)

	out, err = run(t, "issuer", "log", "--db", dsn, "-n", "10")
	require.NoError(t, err, out)
	require.Equal(t, 9, strings.Count(out, "\n"), "a header and eight authorisations:\n%s", out)
	require.NotContains(t, out, "4761739001010010")
	out, err = run(t, "issuer", "audit", "--db", dsn)
	require.NoError(t, err, out)
	require.Contains(t, out, "audit trail intact")
	out, err = run(t, "issuer", "init", "--db", dsn, "--data", filepath.Join(dir, "issuer3"))
	require.NoError(t, err, out)
	require.Contains(t, out, "already holds the issuer's data")

	// A database without issuer data, and a connection string that is
	// not PostgreSQL's, are usage errors; a password never shows.
	require.NoError(t, srv.CreateDatabase(context.Background(), "empty"))
	out, err = run(t, "issuer", "log", "--db", srv.URL("empty")+"&password=Sup3rS3cret")
	require.Error(t, err)
	require.Contains(t, out, "no issuer data")
	require.NotContains(t, out, "Sup3rS3cret")
	out, err = run(t, "issuer", "audit", "--db", "./not-a-dsn")
	require.Error(t, err)
	require.Contains(t, out, "want a PostgreSQL connection string")

	issuer1.stop()
	issuer2.stop()
	ctx := context.Background()
	st, err := istore.OpenPostgres(ctx, dsn, istore.PostgresOptions{})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.View(ctx, func(tx *istore.Tx) error {
		atc, _, err := tx.ATC(ctx, "card:visa-plastic")
		require.NoError(t, err)
		require.Equal(t, uint16(2), atc)
		requireCloudKeys(t, ctx, tx, "hce-phone", 1, 4)
		a, err := tx.Account(ctx, "acct-visa-plastic")
		require.NoError(t, err)
		require.Equal(t, int64(2*150000), a.Held, "both instances' holds on one account")
		n, err := tx.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Positive(t, n)
		return nil
	}))

	// At rest in the shared database: no PAN or token number in clear in
	// the card store or the token vault (the second instance read them
	// with the data keys the first put in the database, wrapped under the
	// KEK), and no clear key in the settings.
	raw, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer raw.Close()
	var dump string
	require.NoError(t, raw.QueryRow(`SELECT (SELECT string_agg(c::text, ' ') FROM cards c) || ' ' ||
(SELECT string_agg(k::text, ' ') FROM tokens k)`).Scan(&dump))
	require.Contains(t, dump, "visa-plastic")
	for _, p := range []string{"4761739001010010", "5413330089010012", "4895370012340011"} {
		require.NotContains(t, dump, p)
	}
	var wrapped string
	require.NoError(t, raw.QueryRow(`SELECT v FROM meta WHERE k = 'data_keys_wrapped'`).Scan(&wrapped))
	require.Len(t, strings.Split(wrapped, ":"), 2)
}
