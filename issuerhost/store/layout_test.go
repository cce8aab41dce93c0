package store_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
)

// sqliteObjects returns the SQL of the tables and indexes of the SQLite
// database in dir, by name.
func sqliteObjects(t *testing.T, dir string) map[string]string {
	t.Helper()
	raw := sqliteEngine.raw(t, dir)
	defer raw.Close()
	rows, err := raw.Query(`SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type IN ('table', 'index')`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, q string
		require.NoError(t, rows.Scan(&name, &q))
		out[name] = q
	}
	require.NoError(t, rows.Err())
	return out
}

// tapAndReplay authorises ATCs 1 to 3, each approved, then replays the
// ATCs replayed, each declined, and checks the log (one line per tap,
// numbered from 1) and the audit chain (one entry per approval).
func tapAndReplay(t *testing.T, db *store.DB, replayed ...uint16) {
	t.Helper()
	for atc := uint16(1); atc <= 3; atc++ {
		approved, err := authorise(db, atc, 100)
		require.NoError(t, err)
		require.True(t, approved)
	}
	for _, atc := range replayed {
		approved, err := authorise(db, atc, 100)
		require.NoError(t, err)
		require.False(t, approved, "a replayed ATC")
	}
	require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
		log, err := tx.AuthLog(ctx, 0)
		require.NoError(t, err)
		require.Len(t, log, 3+len(replayed))
		for i, r := range log {
			require.EqualValues(t, i+1, r.Seq)
		}
		n, err := tx.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		return nil
	}))
}

// A new SQLite database numbers the log and the audit trail by their rowid
// and keeps the rows an authorisation adds by a key of its own in that
// key's b-tree, without the per-instance indexes only PostgreSQL uses: an
// authorisation writes fewer b-trees. What the store does is the same.
func TestSQLiteLayout(t *testing.T) {
	dir := sqliteEngine.fresh(t)
	db := sqliteEngine.mustOpen(t, dir)
	seedCard(t, db)
	tapAndReplay(t, db, 3)
	objs := sqliteObjects(t, dir)
	for _, table := range []string{"auth_log", "audit"} {
		require.Contains(t, objs[table], "INTEGER PRIMARY KEY", table)
		require.NotContains(t, objs, table+"_instance")
	}
	for _, table := range []string{"used_cryptograms", "holds", "atc_state"} {
		require.True(t, strings.HasSuffix(objs[table], "WITHOUT ROWID"), "%s: %s", table, objs[table])
	}
}

// A SQLite database made with the earlier layout (the log and audit trail
// keyed by a BIGINT beside their rowid, with per-instance indexes, and
// rowid tables for holds, used cryptograms and ATC marks) keeps its tables
// and works as a new one does; the per-instance indexes, unused on SQLite,
// are dropped.
func TestSQLiteEarlierLayout(t *testing.T) {
	dir := sqliteEngine.fresh(t)
	db := sqliteEngine.mustOpen(t, dir)
	require.NoError(t, db.Close())
	raw := sqliteEngine.raw(t, dir)
	for _, q := range []string{
		`DROP TABLE auth_log`, `DROP TABLE audit`, `DROP TABLE used_cryptograms`, `DROP TABLE holds`, `DROP TABLE atc_state`,
		`CREATE TABLE auth_log (seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, mti TEXT NOT NULL, stan TEXT NOT NULL,
rrn TEXT NOT NULL, terminal_id TEXT NOT NULL, merchant_id TEXT NOT NULL, masked_pan TEXT NOT NULL, cred TEXT NOT NULL,
amount BIGINT NOT NULL, currency INTEGER NOT NULL, entry_mode TEXT NOT NULL, cvm TEXT NOT NULL, atc INTEGER NOT NULL,
response_code TEXT NOT NULL, reason TEXT NOT NULL, auth_code TEXT NOT NULL, orig_key TEXT NOT NULL,
instance TEXT NOT NULL DEFAULT '', instance_seq BIGINT NOT NULL DEFAULT 0)`,
		`CREATE TABLE audit (seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
subject TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
instance TEXT NOT NULL DEFAULT '', instance_seq BIGINT NOT NULL DEFAULT 0)`,
		`CREATE TABLE used_cryptograms (digest TEXT PRIMARY KEY, cred TEXT NOT NULL, atc INTEGER NOT NULL, used_at BIGINT NOT NULL)`,
		`CREATE TABLE holds (orig_key TEXT PRIMARY KEY, account_id TEXT NOT NULL, cred TEXT NOT NULL, masked_pan TEXT NOT NULL,
amount BIGINT NOT NULL, currency INTEGER NOT NULL, auth_code TEXT NOT NULL, rrn TEXT NOT NULL, status TEXT NOT NULL,
created_at BIGINT NOT NULL, released_at BIGINT NOT NULL, release_ref TEXT NOT NULL)`,
		`CREATE TABLE atc_state (cred TEXT PRIMARY KEY, high_water INTEGER NOT NULL, updated_at BIGINT NOT NULL)`,
		`CREATE INDEX auth_log_instance ON auth_log (instance, instance_seq)`,
		`CREATE INDEX audit_instance ON audit (instance, instance_seq)`,
	} {
		_, err := raw.Exec(q)
		require.NoError(t, err, q)
	}
	require.NoError(t, raw.Close())

	db = sqliteEngine.mustOpen(t, dir)
	seedCard(t, db)
	tapAndReplay(t, db, 3, 2)
	objs := sqliteObjects(t, dir)
	require.Contains(t, objs["auth_log"], "seq BIGINT PRIMARY KEY", "the table is kept as it was")
	require.False(t, strings.HasSuffix(objs["holds"], "WITHOUT ROWID"))
	require.NotContains(t, objs, "auth_log_instance")
	require.NotContains(t, objs, "audit_instance")
}
