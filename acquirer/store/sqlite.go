package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// FileName is the name of the acquirer's database file in its data
// directory.
const FileName = "acquirer.db"

// schema creates the tables. Only the INTEGER PRIMARY KEY id columns are
// SQLite's own (an alias of the row ID, assigned on insert).
var schema = []string{
	`CREATE TABLE IF NOT EXISTS journal (
		id            INTEGER PRIMARY KEY,
		at_ms         BIGINT NOT NULL,
		mti           VARCHAR(4) NOT NULL,
		tid           VARCHAR(16) NOT NULL,
		mid           VARCHAR(15) NOT NULL,
		term_stan     VARCHAR(6) NOT NULL,
		term_de7      VARCHAR(10) NOT NULL,
		term_rrn      VARCHAR(12) NOT NULL,
		acq_stan      VARCHAR(6) NOT NULL,
		acq_de7       VARCHAR(10) NOT NULL,
		rrn           VARCHAR(12) NOT NULL,
		masked_pan    VARCHAR(19) NOT NULL,
		bin           VARCHAR(6) NOT NULL,
		issuer        VARCHAR(64) NOT NULL,
		amount        BIGINT NOT NULL,
		currency      VARCHAR(3) NOT NULL,
		response_code VARCHAR(2) NOT NULL,
		auth_code     VARCHAR(6) NOT NULL,
		reason        VARCHAR(64) NOT NULL,
		state         VARCHAR(16) NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS journal_original ON journal (tid, term_stan, term_de7, mti)`,
	`CREATE INDEX IF NOT EXISTS journal_at ON journal (at_ms)`,
	`CREATE TABLE IF NOT EXISTS advices (
		id          INTEGER PRIMARY KEY,
		journal_id  BIGINT NOT NULL,
		created_ms  BIGINT NOT NULL,
		next_ms     BIGINT NOT NULL,
		bin         VARCHAR(6) NOT NULL,
		de90        VARCHAR(42) NOT NULL,
		stan        VARCHAR(6) NOT NULL,
		proc_code   VARCHAR(6) NOT NULL,
		rrn         VARCHAR(12) NOT NULL,
		tid         VARCHAR(16) NOT NULL,
		mid         VARCHAR(15) NOT NULL,
		amount      BIGINT NOT NULL,
		currency    VARCHAR(3) NOT NULL,
		masked_pan  VARCHAR(19) NOT NULL,
		reason_code VARCHAR(2) NOT NULL,
		attempts    INTEGER NOT NULL,
		done        INTEGER NOT NULL,
		ack_code    VARCHAR(2) NOT NULL,
		acked_ms    BIGINT NOT NULL,
		kind        VARCHAR(4) NOT NULL DEFAULT '',
		auth_code   VARCHAR(6) NOT NULL DEFAULT ''
	)`,
	`CREATE INDEX IF NOT EXISTS advices_due ON advices (done, next_ms)`,
	`CREATE INDEX IF NOT EXISTS advices_journal ON advices (journal_id)`,
	`CREATE TABLE IF NOT EXISTS counters (
		name  VARCHAR(32) PRIMARY KEY,
		value BIGINT NOT NULL
	)`,
}

// SQL is the Store on a SQLite database through database/sql. Its
// writes go through one writer on a connection of its own that commits
// concurrent writes together (group commit); reads run on the other
// connections, beside it.
type SQL struct {
	db       *sql.DB
	w        *writer
	original *sql.Stmt // Original's query, prepared on each reader once
	sighting *sql.Stmt // Sighting's
}

// sqliteConns is the connections OpenFile's database keeps open: the
// writer's and the readers'.
const sqliteConns = 4

var _ Store = (*SQL)(nil)

// Open opens (creating when needed) the SQLite database FileName in dir, in
// WAL mode with full synchronisation, so that a committed write survives a
// crash of the process or of the machine.
func Open(dir string) (*SQL, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data directory: %w", err)
	}
	return OpenFile(filepath.Join(dir, FileName))
}

// OpenFile opens (creating when needed) the SQLite database at path. The
// database and its -wal and -shm files are private to the owner (0600).
func OpenFile(path string) (*SQL, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// The file is made 0600 before SQLite opens it, whatever the umask:
	// SQLite gives the -wal and -shm files the database file's mode.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		_ = f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// Connections are kept, not opened and closed per use.
	db.SetMaxOpenConns(sqliteConns)
	db.SetMaxIdleConns(sqliteConns)
	s, err := New(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	// A database an older build made may have other modes.
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return s, nil
}

// New uses an open SQLite database (driver "sqlite"), creating the tables
// when missing. The store's writer keeps one connection of db for as long
// as the store is open; db must allow at least two, for the readers.
func New(db *sql.DB) (*SQL, error) {
	ctx := context.Background()
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("store: schema: %w", err)
		}
	}
	if err := addAdviceColumns(ctx, db); err != nil {
		return nil, err
	}
	original, err := db.PrepareContext(ctx, `SELECT `+journalCols+` FROM journal
		WHERE tid = ? AND term_stan = ? AND term_de7 = ? AND mti = ? ORDER BY id LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	sighting, err := db.PrepareContext(ctx, `SELECT `+journalCols+` FROM journal
		WHERE tid = ? AND term_stan = ? AND term_de7 = ? AND mti = ? AND response_code <> '94' ORDER BY id DESC LIMIT 1`)
	if err != nil {
		original.Close()
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	w, err := startWriter(db)
	if err != nil {
		original.Close()
		sighting.Close()
		return nil, err
	}
	return &SQL{db: db, w: w, original: original, sighting: sighting}, nil
}

// addAdviceColumns adds the columns of stand-in advices to a queue an
// older build made.
func addAdviceColumns(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info('advices')`)
	if err != nil {
		return fmt.Errorf("store: schema: %w", err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("store: schema: %w", err)
		}
		have[n] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: schema: %w", err)
	}
	for _, c := range []struct{ name, def string }{
		{"kind", "VARCHAR(4) NOT NULL DEFAULT ''"},
		{"auth_code", "VARCHAR(6) NOT NULL DEFAULT ''"},
	} {
		if have[c.name] {
			continue
		}
		if _, err := db.ExecContext(ctx, `ALTER TABLE advices ADD COLUMN `+c.name+` `+c.def); err != nil {
			return fmt.Errorf("store: schema: %w", err)
		}
	}
	return nil
}

// Close closes the database, after the writes already asked for.
func (s *SQL) Close() error {
	s.w.stop()
	_ = s.original.Close()
	_ = s.sighting.Close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// checkMasked refuses a PAN field that shows more than 10 digits.
func checkMasked(p string) error {
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] >= '0' && p[i] <= '9' {
			n++
		}
	}
	if n > 10 {
		return fmt.Errorf("%w: PAN field is not masked", ErrSensitive)
	}
	return nil
}

func checkBIN(b string, optional bool) error {
	if b == "" && optional {
		return nil
	}
	if len(b) != 6 || strings.Trim(b, "0123456789") != "" {
		return fmt.Errorf("%w: BIN must be 6 digits", ErrSensitive)
	}
	return nil
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") ||
		strings.Contains(err.Error(), "statement is closed") {
		return fmt.Errorf("store: %s: %w", op, ErrClosed)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

const journalCols = `id, at_ms, mti, tid, mid, term_stan, term_de7, term_rrn, acq_stan, acq_de7, rrn,
	masked_pan, bin, issuer, amount, currency, response_code, auth_code, reason, state`

type scanner interface{ Scan(dest ...any) error }

func scanEntry(r scanner) (Entry, error) {
	var e Entry
	var at int64
	var st string
	err := r.Scan(&e.ID, &at, &e.MTI, &e.TID, &e.MID, &e.TermSTAN, &e.TermDE7, &e.TermRRN,
		&e.AcqSTAN, &e.AcqDE7, &e.RRN, &e.MaskedPAN, &e.BIN, &e.Issuer, &e.Amount, &e.Currency,
		&e.ResponseCode, &e.AuthCode, &e.Reason, &st)
	e.At = fromMS(at)
	e.State = State(st)
	return e, err
}

// Record appends a journal line and returns its ID.
func (s *SQL) Record(ctx context.Context, e Entry) (int64, error) {
	if err := checkMasked(e.MaskedPAN); err != nil {
		return 0, err
	}
	if err := checkBIN(e.BIN, true); err != nil {
		return 0, err
	}
	if e.State == "" {
		e.State = StatePending
	}
	var id int64
	err := s.w.do(ctx, func(q querier) error {
		// Every authorisation records a line: its ID is the driver's
		// last insert ID, cheaper than a RETURNING row read through
		// database/sql (the other inserts keep RETURNING).
		res, err := q.ExecContext(ctx, `INSERT INTO journal (at_ms, mti, tid, mid, term_stan, term_de7, term_rrn,
		acq_stan, acq_de7, rrn, masked_pan, bin, issuer, amount, currency, response_code, auth_code, reason, state)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ms(e.At), e.MTI, e.TID, e.MID, e.TermSTAN, e.TermDE7, e.TermRRN, e.AcqSTAN, e.AcqDE7, e.RRN,
			e.MaskedPAN, e.BIN, e.Issuer, e.Amount, e.Currency, e.ResponseCode, e.AuthCode, e.Reason, string(e.State))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, wrap("record", err)
	}
	return id, nil
}

// complete writes a line's outcome. A line reversed already stays
// reversed: the issuer's answer to an original that the terminal reversed
// before it came (its connection lost) must not make it an approval again.
func complete(ctx context.Context, x querier, id int64, r Result) error {
	res, err := x.ExecContext(ctx, `UPDATE journal SET response_code = ?, auth_code = ?, reason = ?,
state = CASE WHEN state = ? THEN state ELSE ? END WHERE id = ?`,
		r.ResponseCode, r.AuthCode, r.Reason, string(StateReversed), string(r.State), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

func mark(ctx context.Context, x querier, id int64, st State) error {
	res, err := x.ExecContext(ctx, `UPDATE journal SET state = ? WHERE id = ?`, string(st), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

// Mark sets the state of a journal line, keeping its outcome.
func (s *SQL) Mark(ctx context.Context, id int64, st State) error {
	return wrap("mark", s.w.do(ctx, func(q querier) error { return mark(ctx, q, id, st) }))
}

// Complete sets a journal line's outcome.
func (s *SQL) Complete(ctx context.Context, id int64, r Result) error {
	return wrap("complete", s.w.do(ctx, func(q querier) error { return complete(ctx, q, id, r) }))
}

// CompleteLater sets a journal line's outcome with the next commit,
// without waiting for it. When no write that a caller waits for is queued,
// that commit waits up to 2 ms for one, to share its fsync.
func (s *SQL) CompleteLater(ctx context.Context, id int64, r Result, done func(error)) {
	var after func(error)
	if done != nil {
		after = func(err error) { done(wrap("complete", err)) }
	}
	s.w.later(ctx, func(q querier) error { return complete(ctx, q, id, r) }, after)
}

// Stamp sets the issuer-link STAN, DE7 and RRN of a journal line.
func (s *SQL) Stamp(ctx context.Context, id int64, acqSTAN, acqDE7, rrn string) error {
	err := s.w.do(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE journal SET acq_stan = ?, acq_de7 = ?, rrn = ? WHERE id = ?`, acqSTAN, acqDE7, rrn, id)
		if err == nil {
			if n, e := res.RowsAffected(); e == nil && n == 0 {
				err = sql.ErrNoRows
			}
		}
		return err
	})
	return wrap("stamp", err)
}

// Original finds the first journal line of a terminal's message: later
// lines with the same numbers are refused duplicates of it.
func (s *SQL) Original(ctx context.Context, mti, tid, stan, de7 string) (Entry, error) {
	e, err := scanEntry(s.original.QueryRowContext(ctx, tid, stan, de7, mti))
	return e, wrap("original", err)
}

// Sighting finds the last journal line of a terminal's message that was
// not refused as a duplicate.
func (s *SQL) Sighting(ctx context.Context, mti, tid, stan, de7 string) (Entry, error) {
	e, err := scanEntry(s.sighting.QueryRowContext(ctx, tid, stan, de7, mti))
	return e, wrap("sighting", err)
}

// settled waits until every write asked for so far (CompleteLater's
// included) is committed, so that a read sees them.
func (s *SQL) settled(ctx context.Context) error {
	return s.w.do(ctx, func(querier) error { return nil })
}

// Entry reads a journal line.
func (s *SQL) Entry(ctx context.Context, id int64) (Entry, error) {
	if err := s.settled(ctx); err != nil {
		return Entry{}, wrap("entry", err)
	}
	e, err := scanEntry(s.db.QueryRowContext(ctx, `SELECT `+journalCols+` FROM journal WHERE id = ?`, id))
	return e, wrap("entry", err)
}

// Since lists the journal lines received at or after t, oldest first,
// with every write asked for before it.
func (s *SQL) Since(ctx context.Context, t time.Time) ([]Entry, error) {
	if err := s.settled(ctx); err != nil {
		return nil, wrap("since", err)
	}
	return queryAll(ctx, s.db, "since", scanEntry,
		`SELECT `+journalCols+` FROM journal WHERE at_ms >= ? ORDER BY id`, ms(t))
}

// Recent lists the last limit journal lines received at or after t,
// oldest first.
func (s *SQL) Recent(ctx context.Context, t time.Time, limit int) ([]Entry, error) {
	return queryAll(ctx, s.db, "recent", scanEntry, `SELECT `+journalCols+` FROM (SELECT `+journalCols+` FROM journal
		WHERE at_ms >= ? ORDER BY id DESC LIMIT ?) AS last ORDER BY id`, ms(t), limit)
}

// queryAll runs a query and scans every row with scan; op names the
// operation in errors.
func queryAll[T any](ctx context.Context, db *sql.DB, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, v)
	}
	return out, wrap(op, rows.Err())
}

const adviceCols = `id, journal_id, created_ms, next_ms, bin, de90, stan, proc_code, rrn, tid, mid, amount, currency,
	masked_pan, reason_code, attempts, done, ack_code, acked_ms, kind, auth_code`

func scanAdvice(r scanner) (Advice, error) {
	var a Advice
	var created, next, acked int64
	var done int
	err := r.Scan(&a.ID, &a.JournalID, &created, &next, &a.BIN, &a.DE90, &a.STAN, &a.ProcessingCode, &a.RRN, &a.TID, &a.MID,
		&a.Amount, &a.Currency, &a.MaskedPAN, &a.ReasonCode, &a.Attempts, &done, &a.AckCode, &acked, &a.Kind, &a.AuthCode)
	a.CreatedAt, a.NextAt, a.AckedAt = fromMS(created), fromMS(next), fromMS(acked)
	a.Done = done != 0
	return a, err
}

// Enqueue stores a reversal advice and completes its journal line with r
// in the same transaction when a.JournalID is set.
func (s *SQL) Enqueue(ctx context.Context, a Advice, r Result) (int64, error) {
	if err := checkMasked(a.MaskedPAN); err != nil {
		return 0, err
	}
	if err := checkBIN(a.BIN, false); err != nil {
		return 0, err
	}
	if len(a.DE90) != 42 || strings.Trim(a.DE90, "0123456789") != "" {
		return 0, fmt.Errorf("%w: original data elements must be 42 digits", ErrInvalid)
	}
	switch a.Kind {
	case "", KindReversal, KindStandIn:
	default:
		return 0, fmt.Errorf("%w: advice kind %q", ErrInvalid, a.Kind)
	}
	if len(a.AuthCode) > 6 {
		return 0, fmt.Errorf("%w: authorisation code over 6 characters", ErrInvalid)
	}
	if a.NextAt.IsZero() {
		a.NextAt = a.CreatedAt
	}
	var id int64
	err := s.w.do(ctx, func(tx querier) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO advices (journal_id, created_ms, next_ms, bin, de90, stan, proc_code,
		rrn, tid, mid, amount, currency, masked_pan, reason_code, attempts, done, ack_code, acked_ms, kind, auth_code)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '', 0, ?, ?) RETURNING id`,
			a.JournalID, ms(a.CreatedAt), ms(a.NextAt), a.BIN, a.DE90, a.STAN, a.ProcessingCode, a.RRN, a.TID, a.MID, a.Amount, a.Currency,
			a.MaskedPAN, a.ReasonCode, a.Kind, a.AuthCode).Scan(&id)
		if err != nil || a.JournalID == 0 {
			return err
		}
		if r.ResponseCode != "" {
			return complete(ctx, tx, a.JournalID, r)
		}
		return mark(ctx, tx, a.JournalID, r.State)
	})
	if err != nil {
		return 0, wrap("enqueue", err)
	}
	return id, nil
}

// Due lists undelivered advices due at now whose ID is above after,
// oldest first, at most limit.
func (s *SQL) Due(ctx context.Context, now time.Time, after int64, limit int) ([]Advice, error) {
	return queryAll(ctx, s.db, "due", scanAdvice, `SELECT `+adviceCols+` FROM advices WHERE done = 0 AND next_ms <= ?
		AND id > ? ORDER BY id LIMIT ?`, ms(now), after, limit)
}

// Attempted records one more send of an advice and when it is due next,
// and returns the advice as now stored.
func (s *SQL) Attempted(ctx context.Context, id int64, next time.Time) (Advice, error) {
	var a Advice
	err := s.w.do(ctx, func(q querier) error {
		var err error
		a, err = scanAdvice(q.QueryRowContext(ctx, `UPDATE advices SET attempts = attempts + 1, next_ms = ?
		WHERE id = ? AND done = 0 RETURNING `+adviceCols, ms(next), id))
		return err
	})
	return a, wrap("attempted", err)
}

// Acknowledge marks an advice delivered.
func (s *SQL) Acknowledge(ctx context.Context, id int64, code string, at time.Time) error {
	err := s.w.do(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE advices SET done = 1, ack_code = ?, acked_ms = ? WHERE id = ?`, code, ms(at), id)
		if err == nil {
			if n, e := res.RowsAffected(); e == nil && n == 0 {
				err = sql.ErrNoRows
			}
		}
		return err
	})
	return wrap("acknowledge", err)
}

// AdviceFor finds the latest advice queued for a journal line.
func (s *SQL) AdviceFor(ctx context.Context, journalID int64) (Advice, error) {
	a, err := scanAdvice(s.db.QueryRowContext(ctx, `SELECT `+adviceCols+` FROM advices WHERE journal_id = ?
		ORDER BY id DESC LIMIT 1`, journalID))
	return a, wrap("advice", err)
}

// Pending counts undelivered advices.
func (s *SQL) Pending(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM advices WHERE done = 0`).Scan(&n)
	return n, wrap("pending", err)
}

// Reserve takes the next n values of the named counter and returns the
// first.
func (s *SQL) Reserve(ctx context.Context, name string, n int64) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("store: reserve: count must be positive")
	}
	var cur int64
	err := s.w.do(ctx, func(tx querier) error {
		cur = 0
		err := tx.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = ?`, name).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES (?, ?)`, name, n)
		case err == nil:
			_, err = tx.ExecContext(ctx, `UPDATE counters SET value = ? WHERE name = ?`, cur+n, name)
		}
		return err
	})
	if err != nil {
		return 0, wrap("reserve", err)
	}
	return cur + 1, nil
}
