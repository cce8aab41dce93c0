// Package sqlstore keeps a trusted service manager's state (tsm.Store) in
// an SQLite database of its own, apart from every other institution's
// (R-S4b): the records by kind and key, and the transaction log (R-S4d).
// What it receives is already sealed where it must be (scripts, ISD keys
// under the TSM's security module); the file is created 0600.
package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver

	"github.com/tapsim/tapsim/provision/tsm"
)

// ErrStore reports a database that cannot be used.
var ErrStore = errors.New("sqlstore: TSM store")

// Store is a tsm.Store in SQLite.
type Store struct{ db *sql.DB }

var _ tsm.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS record (kind TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, order_id TEXT NOT NULL,
  se_id TEXT NOT NULL, step TEXT NOT NULL, outcome TEXT NOT NULL);
`

// Open opens the database at path, creating it (0600) when missing.
func Open(path string) (*Store, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	_ = f.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrStore, path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Put implements tsm.Store.
func (s *Store) Put(kind, key string, value []byte) error {
	_, err := s.db.Exec(`INSERT INTO record (kind, key, value) VALUES (?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value`, kind, key, value)
	return wrap(err)
}

// Delete implements tsm.Store.
func (s *Store) Delete(kind, key string) error {
	_, err := s.db.Exec(`DELETE FROM record WHERE kind = ? AND key = ?`, kind, key)
	return wrap(err)
}

// List implements tsm.Store.
func (s *Store) List(kind string) (map[string][]byte, error) {
	rows, err := s.db.Query(`SELECT key, value FROM record WHERE kind = ?`, kind)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, wrap(err)
		}
		out[k] = v
	}
	return out, wrap(rows.Err())
}

// AppendLog implements tsm.Store.
func (s *Store) AppendLog(e tsm.Entry) error {
	_, err := s.db.Exec(`INSERT INTO log (at, order_id, se_id, step, outcome) VALUES (?, ?, ?, ?, ?)`,
		e.At.UnixNano(), e.Order, e.SEID, e.Step, e.Outcome)
	return wrap(err)
}

// Log implements tsm.Store.
func (s *Store) Log() ([]tsm.Entry, error) {
	rows, err := s.db.Query(`SELECT at, order_id, se_id, step, outcome FROM log ORDER BY seq`)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []tsm.Entry
	for rows.Next() {
		var at int64
		var e tsm.Entry
		if err := rows.Scan(&at, &e.Order, &e.SEID, &e.Step, &e.Outcome); err != nil {
			return nil, wrap(err)
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	return out, wrap(rows.Err())
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrStore, err)
}
