package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/pgtest"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

// Errors of OpenPostgres name the database with its password masked.
func TestOpenPostgresErrors(t *testing.T) {
	_, err := store.OpenPostgres(ctx, "  ", storetest.PostgresOptions())
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = store.OpenPostgres(ctx, "postgres://h/d", store.PostgresOptions{MaxConns: -1})
	require.ErrorIs(t, err, store.ErrInvalid)

	_, err = store.OpenPostgres(ctx, "postgres://tapsim:Sup3rS3cret@h:notaport/d", storetest.PostgresOptions())
	require.ErrorIs(t, err, store.ErrInvalid)
	require.NotContains(t, err.Error(), "Sup3rS3cret")
	require.Contains(t, err.Error(), "xxxxx")

	// Nothing listens on this socket.
	dir := t.TempDir()
	for _, dsn := range []string{
		"postgres://tapsim:Sup3rS3cret@/issuer?host=" + dir + "&connect_timeout=2",
		"host=" + dir + " user=tapsim password=Sup3rS3cret dbname=issuer connect_timeout=2",
	} {
		_, err = store.OpenPostgres(ctx, dsn, storetest.PostgresOptions())
		require.ErrorIs(t, err, store.ErrUnavailable)
		require.NotContains(t, err.Error(), "Sup3rS3cret")
		require.Contains(t, err.Error(), filepath.Base(dir))
	}
	short, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-short.Done()
	_, err = store.OpenPostgres(short, "host="+dir+" password=Sup3rS3cret", storetest.PostgresOptions())
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotContains(t, err.Error(), "Sup3rS3cret")
}

// A server that asks for a password the store does not have: the error
// says so without the password given.
func TestOpenPostgresWrongPassword(t *testing.T) {
	s := pgtest.Need(t)
	raw := postgresEngine.raw(t, s.DSN("postgres"))
	defer raw.Close()
	// Trust authentication lets any password in; a role that cannot log
	// in is refused whatever it gives.
	_, err := raw.Exec(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nologin') THEN CREATE ROLE nologin NOLOGIN; END IF; END $$`)
	require.NoError(t, err)
	dsn := strings.Replace(s.URL("postgres"), "tapsim@", "nologin:Sup3rS3cret@", 1)
	_, err = store.OpenPostgres(ctx, dsn, storetest.PostgresOptions())
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorContains(t, err, "not permitted to log in")
	require.NotContains(t, err.Error(), "Sup3rS3cret")
}

// The schema on PostgreSQL: times and amounts are 64-bit, every table has
// its primary key, and the location names the database without secrets.
func TestPostgresSchema(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := postgresEngine.mustOpen(t, dsn+" password=Sup3rS3cret")
	require.Equal(t, "postgres", db.Engine())
	require.NotContains(t, db.Location(), "Sup3rS3cret")
	require.Contains(t, db.Location(), "password=xxxxx")

	raw := postgresEngine.raw(t, dsn)
	defer raw.Close()
	rows, err := raw.Query(`SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	require.NoError(t, err)
	defer rows.Close()
	tables := map[string]bool{}
	for rows.Next() {
		var table, col, typ string
		require.NoError(t, rows.Scan(&table, &col, &typ))
		tables[table] = true
		switch {
		case col == "at" || strings.HasSuffix(col, "_at") || col == "seq" || col == "instance_seq" ||
			col == "key_id" || col == "amount" || col == "credit_limit" || col == "posted" || col == "held" || col == "txn_limit":
			require.Equal(t, "bigint", typ, "%s.%s", table, col)
		case typ != "text" && typ != "integer":
			t.Errorf("%s.%s is %s", table, col, typ)
		}
	}
	require.NoError(t, rows.Err())
	require.Len(t, tables, 27)
	var n int
	require.NoError(t, raw.QueryRow(`SELECT COUNT(*) FROM information_schema.table_constraints
WHERE table_schema = current_schema() AND constraint_type = 'PRIMARY KEY'`).Scan(&n))
	require.Equal(t, len(tables), n)

	// The largest times and amounts go in and come back.
	far := time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC)
	update(t, db, func(tx *store.Tx) error {
		require.NoError(t, tx.PutAccount(ctx, store.Account{ID: "big", Currency: 901, CreditLimit: 1 << 62}))
		return tx.RaiseATC(ctx, "card:x", 0xFFFF, far)
	})
	require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
		a, err := tx.Account(ctx, "big")
		require.NoError(t, err)
		require.Equal(t, int64(1<<62), a.CreditLimit)
		hw, _, err := tx.ATC(ctx, "card:x")
		require.NoError(t, err)
		require.Equal(t, uint16(0xFFFF), hw)
		return nil
	}))
}
