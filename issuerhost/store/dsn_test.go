package store

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store/pgtest"
)

func TestRedactDSN(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://tapsim:s3cret@db.example:5432/issuer?sslmode=require",
			"postgres://tapsim:xxxxx@db.example:5432/issuer?sslmode=require"},
		{"postgresql://tapsim:p%40ss@db/issuer", "postgresql://tapsim:xxxxx@db/issuer"},
		{"POSTGRES://u:pw@h/d", "POSTGRES://u:xxxxx@h/d"},
		{"postgres://u:pw@h1:5432,h2:5433/d", "postgres://u:xxxxx@h1:5432,h2:5433/d"},
		{"postgres://u:a@b@h/d", "postgres://u:xxxxx@h/d"},
		{"postgres://tapsim@/issuer?host=/tmp/pg&password=s3cret&sslpassword=k3y",
			"postgres://tapsim@/issuer?host=/tmp/pg&password=xxxxx&sslpassword=xxxxx"},
		{"postgres://h/d?pass%77ord=s3cret#frag", "postgres://h/d?pass%77ord=xxxxx#frag"},
		{"postgres://tapsim@h/d", "postgres://tapsim@h/d"},
		{"postgres://u:@h/d", "postgres://u:xxxxx@h/d"},
		{"host=db user=tapsim password=s3cret dbname=issuer", "host=db user=tapsim password=xxxxx dbname=issuer"},
		{"host=db password = 's3 cret\\'s' dbname=issuer", "host=db password = xxxxx dbname=issuer"},
		{"PASSWORD=s3cret", "PASSWORD=xxxxx"},
		{"host=db sslpassword=k3y", "host=db sslpassword=xxxxx"},
		{"host=db password='unterminated s3cret", "host=db password=xxxxx"},
		{"host=db junk password=s3cret", "host=db junk xxxxx"},
		{"host=/tmp/pg dbname=issuer", "host=/tmp/pg dbname=issuer"},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, RedactDSN(tc.in))
		})
	}
}

// The secrets RedactDSN finds are the ones the driver reads.
func TestDSNSecretsMatchDriver(t *testing.T) {
	for _, dsn := range []string{
		"postgres://tapsim:p%40ss%20word@db/issuer",
		"postgres://tapsim@db/issuer?password=a%26b",
		"host=db user=tapsim password='it\\'s secret'",
		"host=db user=tapsim password=plain\\ escaped",
	} {
		cfg, err := pgx.ParseConfig(dsn)
		require.NoError(t, err, dsn)
		require.NotEmpty(t, cfg.Password)
		require.Contains(t, dsnSecrets(dsn), cfg.Password, dsn)
		require.NotContains(t, RedactDSN(dsn), cfg.Password)
		require.Equal(t, "boom: "+redacted, scrub("boom: "+cfg.Password, dsn))
	}
}

func TestIsPostgres(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"postgres://h/d", true},
		{"postgresql://h/d", true},
		{"  postgres://h/d", true},
		{"host=/tmp/pg dbname=issuer", true},
		{"dbname=issuer", true},
		{"sslmode=disable host=h", true},
		{"./tapsim-data", false},
		{"/var/lib/tapsim/issuer.db", false},
		{"file:issuer.db?_pragma=x", false},
		{"host", false},
		{"", false},
		{"mysql://h/d", false},
	} {
		require.Equal(t, tc.want, IsPostgres(tc.in), tc.in)
	}
}

func FuzzRedactDSN(f *testing.F) {
	f.Add("postgres://u:pw@h/d?password=x", "s3cret")
	f.Add("host=h password='a\\'b'", "s3 cret")
	f.Add("host=h password=", "'")
	f.Add("postgres://", "@")
	f.Fuzz(func(t *testing.T, dsn, pw string) {
		_ = RedactDSN(dsn) // never panics
		_ = IsPostgres(dsn)
		if len(pw) < 6 || strings.ContainsAny(pw, "\x00") {
			return
		}
		// A password placed in each form never survives.
		for _, d := range []string{
			"postgres://tapsim:" + url.PathEscape(pw) + "@db/issuer",
			"postgres://db/issuer?password=" + url.QueryEscape(pw),
			"host=db password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "' dbname=issuer",
		} {
			if strings.Contains(strings.ReplaceAll(d, pw, ""), pw) {
				continue
			}
			if out := RedactDSN(d); strings.Contains(out, pw) {
				t.Fatalf("%q: password left in %q", d, out)
			}
		}
	})
}

// The rewritten placeholders are the ones PostgreSQL itself finds.
func TestRebindOnServer(t *testing.T) {
	db, err := sql.Open("pgx", pgtest.NewDatabase(t))
	require.NoError(t, err)
	defer db.Close()
	for _, tc := range []struct {
		q    string
		args []any
		want string
	}{
		{`SELECT '?' || ?::text`, []any{"x"}, "?x"},
		{`SELECT E'\'?' || ?::text || $$?$$ /* ? */ -- ?` + "\n", []any{"y"}, "'?y?"},
		{`SELECT "q?" FROM (SELECT ?::text AS "q?") s`, []any{"z"}, "z"},
		{`SELECT $t$'?$t$ || ?::text || ?::text`, []any{"a", "b"}, "'?ab"},
	} {
		var got string
		require.NoError(t, db.QueryRow(rebind(tc.q), tc.args...).Scan(&got), tc.q)
		require.Equal(t, tc.want, got, tc.q)
	}
}
