// Package store is the issuer host's durable state: accounts and their
// holds, the card store, the token vault, registered phones and the
// single-use keys issued to them, ATC high-water marks and used
// cryptograms, PIN try counters, the authorisation log and an append-only
// audit trail; and for the issuer's side of provisioning (issuerhost/idv)
// the cardholders' registered contacts, ID&V attempts, one-time passwords
// (as keyed hashes), the message centre, each card's provisioning lock and
// the tokens the token service reported (see idv.go).
//
// Everything an authorisation changes is written in one transaction
// (DB.Update) that is committed before the caller answers, so that a crash
// between two requests loses nothing a later request depends on (R-G4,
// R-S5b, R-G3c).
//
// The SQL is kept portable (no autoincrement, times as integer
// nanoseconds since the Unix epoch, upserts in the ON CONFLICT form that
// both SQLite and PostgreSQL take, '?' placeholders rewritten for the
// engine); only the connection set-up, the transaction set-up and the
// append-only triggers are per dialect. A unique-key violation is
// ErrExists and a missing row ErrNotFound on both engines.
//
// The embedded default is SQLite (modernc.org/sqlite, pure Go) in WAL mode
// with full synchronous commits. Its writers run one at a time, in one
// process on one long-lived connection with its statements prepared once,
// and across processes by SQLite's own write lock (transactions begin
// IMMEDIATE). Concurrent Update calls are committed together (group
// commit): each runs under a savepoint of one transaction, so that one
// that fails keeps nothing, and every caller returns only after the one
// commit that holds its writes reached the disk. Readers (View) run on
// other connections beside the writer.
//
// PostgreSQL (OpenPostgres, over pgx's database/sql driver) lets several
// issuer host processes share one database. Each store handle is an
// instance with an identifier of its own (DB.Instance) and runs its
// read-write transactions one at a time; every transaction runs at READ
// COMMITTED, so that a statement sees every transaction committed before
// it, and never retries: a SERIALIZABLE transaction may fail at commit and
// would have to run the caller's function again, and that function also
// uses the security module and decides answers, so it must run once.
// Across instances, a DB.Update first takes a transaction-level advisory
// lock (pg_advisory_xact_lock, one key per database, PostgresLockKey) in
// exclusive mode, held until its commit or rollback: it runs alone, as
// with one SQLite writer. A DB.UpdateRows takes the same lock in shared
// mode, so that the UpdateRows transactions of several instances run side
// by side, and serialises on the rows it works on instead: reading a
// card, token or account inside it locks that row (SELECT ... FOR NO KEY
// UPDATE) until the commit, so that two instances deciding for one card
// (its ATC high-water mark, used cryptograms and single-use keys, PIN
// tries) or one account (holds against open-to-buy) take turns, and
// instances working on different cards never wait for each other. Rows
// are locked token, then card, then account, so two such transactions
// cannot wait for each other in a circle. The authorisation log and the
// audit trail are per instance on PostgreSQL: each row names its instance
// and carries the instance's own sequence number, and each instance's
// audit entries form a hash chain of their own (VerifyAudit checks each
// chain), so that no two instances contend for one sequence or chain; the
// rows' global numbers come from a database sequence. DB.View takes no
// lock: it runs READ ONLY at REPEATABLE READ, on one consistent snapshot,
// concurrently with writers.
//
// The store keeps PANs only in the card store (cards) and the token vault
// (tokens), and there encrypted (see Cipher): the PAN or token number, the
// expiry date and the PIN verification value of each row are sealed with
// AES-GCM under a data-encryption key of the security module, bound to
// their table, row and column, and a card or token is found by the
// HMAC-SHA-256 of its number under another key of the module. Every other
// table refers to a card or token by its identifier, and the logs hold
// masked PANs only. On SQLite the database, -wal and -shm files are 0600. No key material is stored: cards and
// tokens name their issuer master key by a reference that the security
// module resolves.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors; returned errors wrap one of them.
var (
	// ErrNotFound reports a row that does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrExists reports a row that already exists where a new one was
	// expected.
	ErrExists = errors.New("store: already exists")
	// ErrInvalid reports a value the store refuses (an empty identifier, an
	// unknown status, a negative amount).
	ErrInvalid = errors.New("store: invalid value")
	// ErrClosed reports use of a closed store.
	ErrClosed = errors.New("store: closed")
	// ErrAuditBroken reports an audit trail whose hash chain does not hold.
	ErrAuditBroken = errors.New("store: audit trail chain broken")
)

// FileName is the name of the SQLite database file in a data directory.
const FileName = "issuer.db"

// sqliteConns is the SQLite connections of a store: the writer's and
// the readers'.
const sqliteConns = 4

// Options tune the SQLite database. The zero value is the safe default.
type Options struct {
	// Synchronous is the SQLite synchronous setting: "" or "FULL" (every
	// commit reaches the disk), or "NORMAL" (WAL: a commit survives a
	// process crash but may be lost on a power failure).
	Synchronous string
	// Cipher encrypts the cards' and tokens' sensitive columns (see
	// Cipher). Without one the store opens, but reading or writing a card
	// or token is ErrNoCipher until SetCipher gives it one.
	Cipher Cipher
}

// DB is the store. It is safe for concurrent use; writers are serialised.
type DB struct {
	db       *sql.DB
	dialect  dialect
	path     string
	location string // where the data is, without secrets

	mu     sync.RWMutex // guards closed and cipher; on PostgreSQL it also serialises this instance's writers
	closed bool
	cipher Cipher       // nil until given: cards and tokens refused
	writer *groupWriter // SQLite: the one writer; nil on PostgreSQL
	// readers are the SQLite readers' connections, each preparing its
	// statements once, while free; nil on PostgreSQL.
	readers chan *stmtConn
	// instance names this handle's authorisation log and audit stream
	// on PostgreSQL; empty on SQLite (one stream).
	instance string
	// streamTip is the last line and entry of this instance's streams as
	// its committed transactions wrote them (PostgreSQL; guarded by mu,
	// held by every read-write transaction). Only this handle writes
	// them: the instance identifier is its own.
	streamTip auditTip

	// writeStmts and readStmts count the statements of the functions
	// of read-write and read-only transactions (Statements).
	writeStmts, readStmts atomic.Int64
}

// Statements counts the statements that the functions given to Update,
// UpdateRows and View ran since the store opened: Write those of
// read-write transactions, Read those of read-only ones. The statements
// that begin, mark and end a transaction are not counted.
type Statements struct {
	Write, Read int64
}

// Statements returns the store's statement counts.
func (s *DB) Statements() Statements {
	return Statements{Write: s.writeStmts.Load(), Read: s.readStmts.Load()}
}

// dialect holds what differs between database engines.
type dialect struct {
	name string
	// rebind turns the '?' placeholders into the engine's own.
	rebind func(string) string
	// extra schema statements (append-only triggers).
	extra []string
	// txOptions are the options of a read-write or read-only
	// transaction (nil for the driver's default).
	txOptions func(readOnly bool) *sql.TxOptions
	// lock, when set, is the first statement of every read-write
	// transaction of Update: it waits until no other writer holds the
	// database.
	lock string
	// sharedLock, when set, is the first statement of every read-write
	// transaction of UpdateRows: it waits only while an Update holds the
	// database. rowLock is then appended to the look-ups of cards, tokens
	// and accounts in such a transaction.
	sharedLock, rowLock string
	// streams: the authorisation log and audit trail are kept per
	// instance, their rows numbered globally by the database sequences
	// auth_log_seq and audit_seq.
	streams bool
	// layout fills in the placeholders of the schema's tables.
	layout *strings.Replacer
	// hasColumn counts the columns of a table (first argument) of a
	// name (second argument): 0 or 1.
	hasColumn string
	// concurrentReads lets read-only transactions run beside each other
	// in one process.
	concurrentReads bool
	// uniqueViolation reports whether err is a unique-key violation, with
	// a description that names no value.
	uniqueViolation func(err error) (string, bool)
}

var sqliteDialect = dialect{
	name:   "sqlite",
	rebind: func(q string) string { return q },
	txOptions: func(readOnly bool) *sql.TxOptions {
		if readOnly {
			// A plain BEGIN: readers take no write lock.
			return &sql.TxOptions{ReadOnly: true}
		}
		return nil
	},
	concurrentReads: true,
	uniqueViolation: sqliteUnique,
	// The log and audit trail numbered by their rowid, and the rows an
	// authorisation adds by a key of its own (a hold, a used cryptogram,
	// an ATC high-water mark) kept in their key's b-tree: each row is one
	// b-tree write instead of two or three. A database made before keeps
	// its tables as they were, which read and write the same.
	layout:    strings.NewReplacer("{seqkey}", "INTEGER PRIMARY KEY", "{keyed}", " WITHOUT ROWID"),
	hasColumn: `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`,
	extra: []string{
		`CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END`,
		`CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END`,
		`CREATE TRIGGER IF NOT EXISTS auth_log_no_update BEFORE UPDATE ON auth_log
BEGIN SELECT RAISE(ABORT, 'authorisation log is append-only'); END`,
		`CREATE TRIGGER IF NOT EXISTS auth_log_no_delete BEFORE DELETE ON auth_log
BEGIN SELECT RAISE(ABORT, 'authorisation log is append-only'); END`,
	},
}

// OpenDir opens (creating when needed) the SQLite store in the data
// directory dir, as the file FileName. A directory it creates is private
// (0700).
func OpenDir(dir string, o Options) (*DB, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty data directory", ErrInvalid)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data directory: %w", err)
	}
	return OpenSQLite(filepath.Join(dir, FileName), o)
}

// OpenSQLite opens (creating when needed) the SQLite database file path,
// in WAL mode with foreign keys on, and brings its schema up to date. The
// database file and its -wal and -shm files are readable and writable by
// the owner only (0600), whatever the process's umask.
func OpenSQLite(path string, o Options) (*DB, error) {
	syncMode := strings.ToUpper(strings.TrimSpace(o.Synchronous))
	switch syncMode {
	case "":
		syncMode = "FULL"
	case "FULL", "NORMAL", "EXTRA":
	default:
		return nil, fmt.Errorf("%w: synchronous %q (want FULL or NORMAL)", ErrInvalid, o.Synchronous)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(" + syncMode +
		")&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// The writer keeps one connection for itself; readers use the others.
	// Each connection gets the pragmas above. temp_store keeps the
	// journal of each savepoint of a group commit (the undo of one
	// request's writes) in memory rather than in a temporary file; the
	// WAL, which makes a commit durable, is not concerned.
	db.SetMaxOpenConns(sqliteConns)
	db.SetMaxIdleConns(sqliteConns)
	s := &DB{db: db, dialect: sqliteDialect, path: path, location: path}
	w, err := startGroupWriter(db, sqliteDialect)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.writer = w
	if s.readers, err = startReaders(db, sqliteConns-1); err != nil {
		s.stopConns()
		db.Close()
		return nil, err
	}
	if err := s.migrate(context.Background(), o.Cipher); err != nil {
		s.stopConns()
		db.Close()
		return nil, err
	}
	if err := chmodPrivate(path); err != nil {
		s.stopConns()
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return s, nil
}

// startReaders takes n connections of db for the SQLite readers.
func startReaders(db *sql.DB, n int) (chan *stmtConn, error) {
	rs := make(chan *stmtConn, n)
	for range n {
		conn, err := db.Conn(context.Background())
		if err != nil {
			close(rs)
			for r := range rs {
				r.release()
			}
			return nil, fmt.Errorf("store: reader connection: %w", err)
		}
		rc := newStmtConn(conn)
		rc.reader = true
		rs <- rc
	}
	return rs, nil
}

// stopConns stops the SQLite writer and gives the readers' connections
// back, once no one uses them.
func (s *DB) stopConns() {
	if s.writer != nil {
		s.writer.stop()
	}
	if s.readers != nil {
		for range cap(s.readers) {
			(<-s.readers).release()
		}
	}
}

// createPrivate creates the database file path empty with mode 0600 when
// it does not exist, so that SQLite never makes it with the umask's mode
// (SQLite gives the -wal and -shm files the database file's mode).
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// chmodPrivate makes the database file and its -wal and -shm files 0600
// (an existing database made by an older build may have other modes).
func chmodPrivate(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// sqliteUnique recognises SQLite's unique and primary key violations.
func sqliteUnique(err error) (string, bool) {
	var e *sqlite.Error
	if errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		// The message names the table and columns, never the values.
		msg := e.Error()
		if i := strings.Index(msg, "constraint failed: "); i >= 0 {
			msg = msg[i+len("constraint failed: "):]
		}
		if i := strings.LastIndex(msg, " ("); i >= 0 {
			msg = msg[:i]
		}
		return msg, true
	}
	return "", false
}

// Path returns the database file's path (empty for PostgreSQL).
func (s *DB) Path() string { return s.path }

// Engine names the database engine: "sqlite" or "postgres".
func (s *DB) Engine() string { return s.dialect.name }

// Location says where the data is: the SQLite file, or the PostgreSQL
// connection string with its password masked.
func (s *DB) Location() string { return s.location }

// Instance names this store handle's stream of the authorisation log and
// audit trail on PostgreSQL (drawn at random when the handle opens); it is
// empty on SQLite, where every process writes one stream.
func (s *DB) Instance() string { return s.instance }

// Close closes the database.
func (s *DB) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.stopConns()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Update runs fn in one read-write transaction and commits it before
// returning; when fn returns an error nothing it wrote is kept. Read-write
// transactions run one at a time (on PostgreSQL, one at a time across
// every process sharing the database); on SQLite the functions of
// concurrent calls share one commit (see the package documentation), so
// fn must not wait for another Update. On PostgreSQL a statement that
// fails ends the transaction: fn should return its error.
func (s *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	if s.writer != nil {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return ErrClosed
		}
		j := &writeJob{ctx: ctx, fn: fn, c: s.cipher, count: &s.writeStmts, done: make(chan error, 1)}
		s.writer.jobs <- j
		s.mu.RUnlock()
		err := <-j.done
		if j.panicked != nil {
			// fn panicked in the writer, which rolled its writes back:
			// the panic goes on in the caller, as it would have, with
			// the writer's stack.
			panic(j.panicked)
		}
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.run(ctx, false, false, fn)
}

// UpdateRows is Update for a function that changes only the state of the
// cards, tokens and accounts it reads inside the transaction (with Card,
// CardByPAN, Token, TokenByNumber, CredentialByNumber and Account) or of
// the hold it reads with LockHold and its account, adds holds, and
// appends to the authorisation log and audit trail: an authorisation or a
// reversal (the per-credential counters it keeps, ATC, used cryptograms
// and CVC3 failures, go with the card or token). On SQLite it is Update.
// On PostgreSQL the transactions of UpdateRows on several instances run
// side by side, each holding the rows of the cards, tokens and accounts
// it read until it commits (see the package documentation); an Update on
// any instance waits for them, and they for it. Within one instance,
// read-write transactions still run one at a time.
func (s *DB) UpdateRows(ctx context.Context, fn func(*Tx) error) error {
	if s.writer != nil || s.dialect.sharedLock == "" {
		return s.Update(ctx, fn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.run(ctx, false, true, fn)
}

// View runs fn in a read-only transaction.
func (s *DB) View(ctx context.Context, fn func(*Tx) error) error {
	if s.readers != nil {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			return ErrClosed
		}
		return s.read(ctx, fn)
	}
	if s.dialect.concurrentReads {
		s.mu.RLock()
		defer s.mu.RUnlock()
	} else {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	if s.closed {
		return ErrClosed
	}
	return s.run(ctx, true, false, fn)
}

// read runs fn in a read-only transaction on a free SQLite reader.
func (s *DB) read(ctx context.Context, fn func(*Tx) error) error {
	var rc *stmtConn
	select {
	case rc = <-s.readers:
	case <-ctx.Done():
		return fmt.Errorf("store: begin: %w", ctx.Err())
	}
	defer func() { s.readers <- rc }()
	// A plain BEGIN: readers take no write lock.
	if _, err := rc.ExecContext(ctx, "BEGIN"); err != nil {
		rc.rollback()
		return fmt.Errorf("store: begin: %w", err)
	}
	ended := false
	defer func() {
		if !ended { // fn panicked: the connection goes back out of its transaction
			rc.rollback()
		}
	}()
	err := fn(&Tx{q: rc, d: s.dialect, readOnly: true, c: s.cipher, count: &s.readStmts})
	ended = true
	if _, rerr := rc.conn.ExecContext(context.Background(), "ROLLBACK"); rerr != nil && err == nil {
		err = fmt.Errorf("store: end of read: %w", rerr)
	}
	return err
}

// run runs fn in one transaction; rows says that it is one of UpdateRows.
func (s *DB) run(ctx context.Context, readOnly, rows bool, fn func(*Tx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, s.dialect.txOptions(readOnly))
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	lock := s.dialect.lock
	if rows {
		lock = s.dialect.sharedLock
	}
	if !readOnly && lock != "" {
		if _, err := sqlTx.ExecContext(ctx, lock); err != nil {
			_ = sqlTx.Rollback()
			return fmt.Errorf("store: wait for the write lock: %w", err)
		}
	}
	count := &s.writeStmts
	if readOnly {
		count = &s.readStmts
	}
	tx := &Tx{q: sqlTx, d: s.dialect, readOnly: readOnly, c: s.cipher, instance: s.instance, lockRows: rows, count: count}
	if !readOnly && s.dialect.streams {
		tx.auditTip = &s.streamTip
	}
	// The transaction ends with a commit or a rollback whatever fn does,
	// a panic included; what the stream tip learnt stays only with a
	// commit.
	ended := false
	defer func() {
		if !ended {
			_ = sqlTx.Rollback()
			if tx.auditTip != nil {
				tx.auditTip.forget()
			}
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if readOnly {
		ended = true
		_ = sqlTx.Rollback()
		return nil
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	ended = true
	return nil
}

// Tx is one transaction. Its methods are valid only inside the function
// given to Update or View, from one goroutine at a time.
type Tx struct {
	q        querier
	d        dialect
	readOnly bool
	c        Cipher // nil: cards and tokens refused (ErrNoCipher)
	// instance is the store handle's stream of the log and audit trail
	// ("" on SQLite).
	instance string
	// lockRows: a transaction of UpdateRows, whose look-ups of cards,
	// tokens and accounts lock the rows they read.
	lockRows bool
	// count counts the statements run (nil: not counted).
	count *atomic.Int64
	// auditTip is what the writer knows of its last log line and audit
	// entry: the SQLite writer's, or a PostgreSQL instance's read-write
	// transaction's (nil elsewhere).
	auditTip *auditTip
	// indexed and indexOf are the last number index computed and its
	// index: a look-up of a token, then of a card, by one number, and
	// the check of the row found, compute it once.
	indexed, indexOf string
}

// counted counts one statement.
func (t *Tx) counted() {
	if t.count != nil {
		t.count.Add(1)
	}
}

// forUpdate is what ends a look-up of a card, token or account row: the
// row lock of an UpdateRows transaction on PostgreSQL, or nothing.
func (t *Tx) forUpdate() string {
	if t.lockRows {
		return t.d.rowLock
	}
	return ""
}

func (t *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if t.readOnly {
		return nil, fmt.Errorf("%w: write in a read-only transaction", ErrInvalid)
	}
	t.counted()
	res, err := t.q.ExecContext(ctx, t.d.rebind(q), args...)
	if err != nil {
		if what, ok := t.d.uniqueViolation(err); ok {
			return nil, fmt.Errorf("%w: %s", ErrExists, what)
		}
		return nil, err
	}
	return res, nil
}

func (t *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.counted()
	return t.q.QueryContext(ctx, t.d.rebind(q), args...)
}

func (t *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	t.counted()
	return t.q.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// nanos stores a time as integer nanoseconds since the Unix epoch (0 for
// the zero time).
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// notFound turns sql.ErrNoRows into ErrNotFound naming what was looked for.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// rowErr is notFound for a row that was read, keeping the store's own
// errors (ErrTampered, ErrNoCipher) as they are.
func rowErr(err error, what string) error {
	if errors.Is(err, ErrTampered) || errors.Is(err, ErrNoCipher) {
		return err
	}
	return notFound(err, what)
}

// mustAffect returns ErrNotFound when res changed no row.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return nil
}
