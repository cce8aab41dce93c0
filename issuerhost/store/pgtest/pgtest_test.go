package pgtest_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// The shared server: a private cluster on a UNIX socket, not running as
// root, each test with a database of its own.
func TestSharedServer(t *testing.T) {
	start := time.Now()
	s := pgtest.Need(t)
	t.Logf("server up in %v", time.Since(start))
	require.True(t, s.Running())
	require.Same(t, s, pgtest.Need(t), "one server per binary")
	require.FileExists(t, s.Socket())

	start = time.Now()
	dsn := pgtest.NewDatabase(t)
	t.Logf("database created in %v", time.Since(start))
	db := open(t, dsn)
	var name, user string
	require.NoError(t, db.QueryRow(`SELECT current_database(), current_user`).Scan(&name, &user))
	require.True(t, strings.HasPrefix(name, "t_"), name)
	require.Equal(t, pgtest.Superuser, user)

	// No TCP listener, and never as root.
	var listen string
	require.NoError(t, db.QueryRow(`SHOW listen_addresses`).Scan(&listen))
	require.Empty(t, listen)
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Pid()))
	require.NoError(t, err)
	for _, line := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(line, "Uid:") {
			require.NotEqual(t, "0", strings.Fields(line)[1], "postgres runs unprivileged")
		}
	}

	// Another database is another namespace.
	other := open(t, pgtest.NewDatabase(t))
	_, err = db.Exec(`CREATE TABLE x (a INTEGER)`)
	require.NoError(t, err)
	_, err = other.Exec(`SELECT * FROM x`)
	require.Error(t, err)
}

// A server of its own is stopped, and its directory removed, at the end.
func TestPrivateServer(t *testing.T) {
	var s *pgtest.Server
	t.Run("run", func(t *testing.T) {
		s = pgtest.New(t)
		db := open(t, s.URL("postgres"))
		require.NoError(t, db.Ping())
	})
	if s == nil || t.Skipped() {
		return
	}
	require.False(t, s.Running())
	_, err := os.Stat(s.Dir)
	require.True(t, os.IsNotExist(err))
}

func TestDatabaseNames(t *testing.T) {
	s := pgtest.Need(t)
	ctx := context.Background()
	for _, bad := range []string{"", "T_upper", "a;drop", "1abc", strings.Repeat("a", 64)} {
		require.Error(t, s.CreateDatabase(ctx, bad), bad)
		require.Error(t, s.DropDatabase(ctx, bad), bad)
	}
	n := pgtest.RandomName()
	require.Len(t, n, 18)
	require.NotEqual(t, n, pgtest.RandomName())
}
