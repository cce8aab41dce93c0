package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// ErrUnavailable reports a database server that cannot be reached or
// refused the connection.
var ErrUnavailable = errors.New("store: database unavailable")

// PostgresLockKey is the key of the transaction-level advisory lock every
// read-write transaction takes on PostgreSQL ("tapsim" in ASCII). Advisory
// locks are per database: stores on different databases of one server do
// not wait for each other.
const PostgresLockKey int64 = 0x74617073696D

// PostgresOptions tune a PostgreSQL store. The zero value is the default.
type PostgresOptions struct {
	// MaxConns caps the connections the store opens (default 8). Writers
	// use one at a time; readers may use the rest.
	MaxConns int
	// Cipher encrypts the cards' and tokens' sensitive columns, as
	// Options.Cipher.
	Cipher Cipher
}

// uniqueViolationCode is PostgreSQL's SQLSTATE for unique_violation.
const uniqueViolationCode = "23505"

// appendOnly are the tables whose rows may never change nor go.
var appendOnly = []struct{ table, message string }{
	{"audit", "audit trail is append-only"},
	{"auth_log", "authorisation log is append-only"},
}

// postgresExtra creates the sequences that number the rows of the
// authorisation log and audit trail, the function the append-only
// triggers call, and the triggers (UPDATE, DELETE: per row; TRUNCATE: per statement). CREATE
// TRIGGER has no IF NOT EXISTS before PostgreSQL 14, so each one is made
// only when pg_trigger does not list it yet.
func postgresExtra() []string {
	out := []string{
		// The global numbers of the log's and audit trail's rows; each
		// instance numbers its own rows in instance_seq.
		`CREATE SEQUENCE IF NOT EXISTS auth_log_seq`,
		`CREATE SEQUENCE IF NOT EXISTS audit_seq`,
		`CREATE OR REPLACE FUNCTION tapsim_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END
$fn$`}
	for _, a := range appendOnly {
		for _, ev := range []struct{ name, event, level string }{
			{"no_update", "UPDATE", "ROW"},
			{"no_delete", "DELETE", "ROW"},
			{"no_truncate", "TRUNCATE", "STATEMENT"},
		} {
			name := a.table + "_" + ev.name
			out = append(out, fmt.Sprintf(`DO $do$ BEGIN
IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '%[1]s' AND tgrelid = '%[2]s'::regclass) THEN
	CREATE TRIGGER %[1]s BEFORE %[3]s ON %[2]s FOR EACH %[4]s EXECUTE FUNCTION tapsim_append_only('%[5]s');
END IF;
END $do$`, name, a.table, ev.event, ev.level, a.message))
		}
	}
	return out
}

var postgresDialect = dialect{
	name:   "postgres",
	rebind: rebindDollar,
	extra:  postgresExtra(),
	txOptions: func(readOnly bool) *sql.TxOptions {
		if readOnly {
			return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
		}
		return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	},
	lock:       fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", PostgresLockKey),
	sharedLock: fmt.Sprintf("SELECT pg_advisory_xact_lock_shared(%d)", PostgresLockKey),
	rowLock:    " FOR NO KEY UPDATE",
	streams:    true,
	layout:     strings.NewReplacer("{seqkey}", "BIGINT PRIMARY KEY", "{keyed}", ""),
	hasColumn: `SELECT COUNT(*) FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`,
	concurrentReads: true,
	uniqueViolation: postgresUnique,
}

// postgresUnique recognises PostgreSQL's unique violations. Only the
// constraint's name is kept: the server's detail line quotes the
// duplicate value (a PAN, perhaps).
func postgresUnique(err error) (string, bool) {
	var e *pgconn.PgError
	if errors.As(err, &e) && e.Code == uniqueViolationCode {
		return "unique constraint " + e.ConstraintName, true
	}
	return "", false
}

// IsPostgres reports whether target is a PostgreSQL connection string: a
// postgres:// or postgresql:// URL, or keyword=value settings.
func IsPostgres(target string) bool {
	t := strings.TrimSpace(target)
	if strings.HasPrefix(t, "postgres://") || strings.HasPrefix(t, "postgresql://") {
		return true
	}
	for _, kv := range kvSplit(t) {
		switch kv.key {
		case "host", "hostaddr", "dbname", "user", "port", "service":
			return kv.ok
		}
	}
	return false
}

// OpenPostgres connects to the PostgreSQL database of dsn (a postgres://
// URL or keyword=value settings, as libpq takes them; the password may
// also come from PGPASSWORD or a .pgpass file) and brings its schema up to
// date. Several processes may open the same database: see the package
// documentation for how their writers are serialised. Errors never show
// the password.
func OpenPostgres(ctx context.Context, dsn string, o PostgresOptions) (*DB, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, fmt.Errorf("%w: empty PostgreSQL connection string", ErrInvalid)
	}
	if o.MaxConns < 0 {
		return nil, fmt.Errorf("%w: %d connections", ErrInvalid, o.MaxConns)
	}
	if o.MaxConns == 0 {
		o.MaxConns = 8
	}
	where := RedactDSN(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL connection string %s: %s", ErrInvalid, where, scrub(err.Error(), dsn))
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "tapsim issuer"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, where, ctx.Err())
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrUnavailable, where, scrub(err.Error(), dsn))
	}
	instance, err := newInstanceID()
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &DB{db: db, dialect: postgresDialect, location: where, instance: instance}
	if err := s.migrate(ctx, o.Cipher); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// newInstanceID draws the identifier of a store handle's stream of the
// authorisation log and audit trail: 16 hex digits, random, so that no two
// handles, nor one handle before and after a restart, share a stream.
func newInstanceID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("store: instance identifier: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// scrub masks in msg every password dsn holds.
func scrub(msg, dsn string) string {
	for _, p := range dsnSecrets(dsn) {
		if p != "" {
			msg = strings.ReplaceAll(msg, p, redacted)
		}
	}
	return msg
}
