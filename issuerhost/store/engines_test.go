package store_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/pgtest"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

// The PostgreSQL tests share one private server, stopped at the end.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// engine is one database engine the store runs on.
type engine struct {
	name string
	// fresh makes a new empty database and returns where it is: a data
	// directory, or a connection string.
	fresh func(t testing.TB) string
	// open opens the store on what fresh returned.
	open func(t testing.TB, target string) (*store.DB, error)
	// raw opens the database behind the store's back.
	raw func(t testing.TB, target string) *sql.DB
	// dropAuditTrigger drops the trigger that refuses UPDATE on audit.
	dropAuditTrigger string
}

var sqliteEngine = engine{
	name:  "sqlite",
	fresh: func(t testing.TB) string { return t.TempDir() },
	open: func(_ testing.TB, dir string) (*store.DB, error) {
		return store.OpenDir(dir, storetest.Options())
	},
	raw: func(t testing.TB, dir string) *sql.DB {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName))
		require.NoError(t, err)
		return db
	},
	dropAuditTrigger: `DROP TRIGGER audit_no_update`,
}

var postgresEngine = engine{
	name:  "postgres",
	fresh: func(t testing.TB) string { return pgtest.NewDatabase(t) },
	open: func(_ testing.TB, dsn string) (*store.DB, error) {
		return store.OpenPostgres(ctx, dsn, storetest.PostgresOptions())
	},
	raw: func(t testing.TB, dsn string) *sql.DB {
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		return db
	},
	dropAuditTrigger: `DROP TRIGGER audit_no_update ON audit`,
}

var engines = []engine{sqliteEngine, postgresEngine}

// eachEngine runs fn as a subtest per engine.
func eachEngine(t *testing.T, fn func(t *testing.T, e engine)) {
	t.Helper()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, e) })
	}
}

// mustOpen opens the store on target, closed when the test ends.
func (e engine) mustOpen(t testing.TB, target string) *store.DB {
	t.Helper()
	db, err := e.open(t, target)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

// db opens the store on a fresh database.
func (e engine) db(t testing.TB) *store.DB {
	t.Helper()
	return e.mustOpen(t, e.fresh(t))
}
