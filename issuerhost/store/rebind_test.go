package store

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"none", `SELECT 1`, `SELECT 1`},
		{"in order", `UPDATE a SET b = ?, c = ? WHERE d = ?`, `UPDATE a SET b = $1, c = $2 WHERE d = $3`},
		{"adjacent", `VALUES (?,?)`, `VALUES ($1,$2)`},
		{"ten and more", strings.Repeat("?,", 11) + "?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12"},
		{"string constant", `SELECT '?' , ?`, `SELECT '?' , $1`},
		{"doubled quote", `SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{"empty string", `SELECT '', ?, ''`, `SELECT '', $1, ''`},
		{"escape string", `SELECT E'\'?', ?`, `SELECT E'\'?', $1`},
		{"e string lower", `SELECT e'\\', ?`, `SELECT e'\\', $1`},
		{"backslash in plain string", `SELECT 'a\', ?`, `SELECT 'a\', $1`},
		{"identifier ending in e", `SELECT some'\', ?`, `SELECT some'\', $1`},
		{"quoted identifier", `SELECT "col?" FROM t WHERE x = ?`, `SELECT "col?" FROM t WHERE x = $1`},
		{"doubled quote in identifier", `SELECT "a""?" , ?`, `SELECT "a""?" , $1`},
		{"line comment", "SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"line comment at end", "SELECT ? -- why?", "SELECT $1 -- why?"},
		{"block comment", `SELECT /* ? */ ?`, `SELECT /* ? */ $1`},
		{"nested block comment", `SELECT /* a /* ? */ ? */ ?`, `SELECT /* a /* ? */ ? */ $1`},
		{"dollar quoted", `DO $$ SELECT '?' $$; SELECT ?`, `DO $$ SELECT '?' $$; SELECT $1`},
		{"tagged dollar quote", `SELECT $fn$ ? $x$ ? $fn$, ?`, `SELECT $fn$ ? $x$ ? $fn$, $1`},
		{"a tag does not start with a digit", `SELECT $1$ ? $1$`, `SELECT $1$ $1 $1$`},
		{"dollar in identifier", `SELECT a$b$, ?`, `SELECT a$b$, $1`},
		{"minus is no comment", `SELECT 1 - ?`, `SELECT 1 - $1`},
		{"slash is no comment", `SELECT 4 / ?`, `SELECT 4 / $1`},
		{"unterminated string", `SELECT ?, 'abc ?`, `SELECT $1, 'abc ?`},
		{"unterminated identifier", `SELECT ?, "abc ?`, `SELECT $1, "abc ?`},
		{"unterminated comment", `SELECT ? /* ?`, `SELECT $1 /* ?`},
		{"unterminated dollar quote", `SELECT ? $q$ ?`, `SELECT $1 $q$ ?`},
		{"lone dollar", `SELECT $ ?`, `SELECT $ $1`},
		{"trailing backslash in E string", `SELECT E'\`, `SELECT E'\`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, rebind(tc.in))
			require.Equal(t, tc.want, rebindDollar(tc.in), "cached")
			require.Equal(t, tc.want, rebindDollar(tc.in), "from the cache")
		})
	}
}

// Every query of the store is rewritten with as many parameters as '?'
// it has: none of them has a '?' inside a literal.
func TestRebindStoreQueries(t *testing.T) {
	for _, q := range append(append([]string(nil), schema...), postgresExtra()...) {
		require.Equal(t, q, rebind(q), "schema statements take no parameters")
	}
	q := `INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`
	require.Equal(t, `INSERT INTO meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, rebind(q))
}

func FuzzRebind(f *testing.F) {
	for _, s := range []string{
		`SELECT ?`, `SELECT '?', ?`, `E'\'?'`, `"?" ?`, "-- ?\n?", `/* /* ? */ */ ?`, `$a$ ? $a$ ?`, `$1 ?`,
		`'`, `"`, `$`, `$$`, `/*`, `--`, `E'\`, `??`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := rebind(q)
		// Only the '?' outside literals change; the rest is kept byte
		// for byte, and the numbers run from $1.
		plain := rebind(strings.ReplaceAll(q, "?", "\x00"))
		if plain != strings.ReplaceAll(q, "?", "\x00") {
			t.Fatalf("text without placeholders changed: %q -> %q", q, plain)
		}
		if !strings.Contains(q, "?") && out != q {
			t.Fatalf("changed a query without placeholders: %q -> %q", q, out)
		}
		if strings.Count(out, "?") > strings.Count(q, "?") {
			t.Fatalf("more '?' out than in: %q -> %q", q, out)
		}
		n := strings.Count(q, "?") - strings.Count(out, "?")
		if n > 0 && !strings.Contains(out, "$1") {
			t.Fatalf("%d placeholders but no $1: %q -> %q", n, q, out)
		}
		if n > 0 {
			last := "$" + itoa(n)
			if !strings.Contains(out, last) {
				t.Fatalf("%d placeholders but no %s: %q -> %q", n, last, q, out)
			}
		}
	})
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
