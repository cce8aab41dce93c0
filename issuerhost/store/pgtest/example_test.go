package pgtest_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/tapsim/tapsim/issuerhost/store/pgtest"
)

// Where a server's databases are: a socket in its own directory, no TCP
// port.
func ExampleServer_DSN() {
	s := &pgtest.Server{Dir: "/tmp/tapsim-pg-1"}
	fmt.Println(s.DSN("issuer"))
	fmt.Println(s.URL("issuer"))
	fmt.Println(s.Socket())
	// Output:
	// host=/tmp/tapsim-pg-1 port=5432 user=tapsim dbname=issuer sslmode=disable
	// postgres://tapsim@/issuer?host=%2Ftmp%2Ftapsim-pg-1&port=5432&sslmode=disable
	// /tmp/tapsim-pg-1/.s.PGSQL.5432
}

// A test binary with one server: TestMain runs the tests through Main,
// and each test takes a fresh database with NewDatabase.
func ExampleMain() {
	testMain := func(m *testing.M) { os.Exit(pgtest.Main(m)) }
	testSomething := func(t *testing.T) {
		dsn := pgtest.NewDatabase(t) // skipped (or failed under CI) without PostgreSQL
		_ = dsn                      // open the store on it: store.OpenPostgres(ctx, dsn, ...)
	}
	_, _ = testMain, testSomething
}
