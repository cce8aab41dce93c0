package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// schemaVersion is the version the statements below create. Version 1
// kept PANs, token numbers, expiry dates and PVVs in clear; version 2
// keeps them encrypted (see Cipher). There is no migration from 1: a
// version 1 database is refused with ErrSchema, and its data is made again
// (the sample issuer makes its data on first start). Version 3 adds the
// tables of the issuer's side of provisioning (card_contacts,
// idv_attempts, otps, messages, card_provisioning, card_tokens); a version
// 2 database is brought to 3 by creating them (upgradeFrom). Version 4
// adds the state of the token service the issuer operates (tsp_tokens,
// tsp_records, tsp_tasks, tsp_envelopes, pan_references; see tsp.go), made
// the same way. Version 5 adds the state of the HCE cloud platform the
// issuer operates and its key ledger (cloud_records, cloud_audit,
// cloud_keys, cloud_devices; see cloud.go), made the same way. Version 7
// keeps the authorisation log and audit trail per instance (the columns
// instance and instance_seq of auth_log and audit; see logs.go) so that
// several issuer processes on one PostgreSQL database write side by side;
// an older database gets the columns (streamColumns), its rows forming the
// stream of instance "". Version 6 is left to the tables of another
// feature: a version 6 database is brought to 7 the same way.
const schemaVersion = "7"

// upgradeFrom are the versions migrate brings to schemaVersion: their
// tables are a subset of the current ones, so creating the missing ones,
// and the columns of streamColumns, is the whole upgrade.
var upgradeFrom = map[string]bool{"2": true, "3": true, "4": true, "5": true, "6": true}

// streamColumns are the columns version 7 adds to the tables made by an
// older version; an older row belongs to instance "" and its instance_seq
// is 0 (its seq numbers it).
var streamColumns = []string{
	`ALTER TABLE auth_log ADD COLUMN instance TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE auth_log ADD COLUMN instance_seq BIGINT NOT NULL DEFAULT 0`,
	`ALTER TABLE audit ADD COLUMN instance TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE audit ADD COLUMN instance_seq BIGINT NOT NULL DEFAULT 0`,
}

// streamIndexes find an instance's last row; made after streamColumns.
var streamIndexes = []string{
	`CREATE INDEX IF NOT EXISTS auth_log_instance ON auth_log (instance, instance_seq)`,
	`CREATE INDEX IF NOT EXISTS audit_instance ON audit (instance, instance_seq)`,
}

// dropStreamIndexes remove streamIndexes where there are no streams
// (SQLite, one stream): every row is of instance "", and the indexes
// would only cost each authorisation two more index writes.
var dropStreamIndexes = []string{
	`DROP INDEX IF EXISTS auth_log_instance`,
	`DROP INDEX IF EXISTS audit_instance`,
}

// streamSequences start the global numbering of the log's and audit
// trail's rows after the rows already there (PostgreSQL), when the schema
// is made or upgraded.
var streamSequences = []string{
	`SELECT setval('auth_log_seq', COALESCE((SELECT MAX(seq) FROM auth_log), 0) + 1, false)`,
	`SELECT setval('audit_seq', COALESCE((SELECT MAX(seq) FROM audit), 0) + 1, false)`,
}

// ErrSchema reports a database made by a build whose schema this one does
// not take.
// It wraps ErrInvalid.
var ErrSchema = fmt.Errorf("%w: unsupported database schema", ErrInvalid)

// schema creates every table; each statement is idempotent. The
// dialect's layout (dialect.layout) fills in {seqkey}, the primary key of
// the append-only tables numbered by seq, and {keyed}, what follows the
// tables an authorisation writes a row of by a key of its own.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS accounts (
	id           TEXT PRIMARY KEY,
	currency     INTEGER NOT NULL,
	credit_limit BIGINT NOT NULL,
	posted       BIGINT NOT NULL,
	held         BIGINT NOT NULL,
	txn_limit    BIGINT NOT NULL,
	status       TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS cards (
	id           TEXT PRIMARY KEY,
	pan_index    TEXT NOT NULL UNIQUE,
	pan_enc      TEXT NOT NULL,
	psn          TEXT NOT NULL,
	account_id   TEXT NOT NULL REFERENCES accounts(id),
	expiry_enc   TEXT NOT NULL,
	cvn          TEXT NOT NULL,
	imk_ref      TEXT NOT NULL,
	pvki         INTEGER NOT NULL,
	pvv_enc      TEXT NOT NULL,
	pin_failures INTEGER NOT NULL,
	pin_locked   INTEGER NOT NULL,
	status       TEXT NOT NULL,
	form_factor  TEXT NOT NULL,
	created_at   BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS tokens (
	id           TEXT PRIMARY KEY,
	number_index TEXT NOT NULL UNIQUE,
	number_enc   TEXT NOT NULL,
	card_id      TEXT NOT NULL REFERENCES cards(id),
	expiry_enc   TEXT NOT NULL,
	status       TEXT NOT NULL,
	domain       TEXT NOT NULL,
	requestor_id TEXT NOT NULL,
	psn          TEXT NOT NULL,
	cvn          TEXT NOT NULL,
	imk_ref      TEXT NOT NULL,
	pvki         INTEGER NOT NULL,
	pvv_enc      TEXT NOT NULL,
	form_factor  TEXT NOT NULL,
	device_bound INTEGER NOT NULL,
	created_at   BIGINT NOT NULL,
	status_at    BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS devices (
	device_id     TEXT NOT NULL,
	token_id      TEXT NOT NULL REFERENCES tokens(id),
	status        TEXT NOT NULL,
	registered_at BIGINT NOT NULL,
	status_at     BIGINT NOT NULL,
	PRIMARY KEY (device_id, token_id))`,
	`CREATE TABLE IF NOT EXISTS hce_keys (
	token_id   TEXT NOT NULL REFERENCES tokens(id),
	atc        INTEGER NOT NULL,
	device_id  TEXT NOT NULL,
	issued_at  BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL,
	status     TEXT NOT NULL,
	PRIMARY KEY (token_id, atc))`,
	`CREATE TABLE IF NOT EXISTS atc_state (
	cred       TEXT PRIMARY KEY,
	high_water INTEGER NOT NULL,
	updated_at BIGINT NOT NULL){keyed}`,
	`CREATE TABLE IF NOT EXISTS cvc3_failures (
	cred       TEXT PRIMARY KEY,
	failures   INTEGER NOT NULL,
	updated_at BIGINT NOT NULL){keyed}`,
	`CREATE TABLE IF NOT EXISTS used_cryptograms (
	digest  TEXT PRIMARY KEY,
	cred    TEXT NOT NULL,
	atc     INTEGER NOT NULL,
	used_at BIGINT NOT NULL){keyed}`,
	`CREATE TABLE IF NOT EXISTS holds (
	orig_key    TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL,
	cred        TEXT NOT NULL,
	masked_pan  TEXT NOT NULL,
	amount      BIGINT NOT NULL,
	currency    INTEGER NOT NULL,
	auth_code   TEXT NOT NULL,
	rrn         TEXT NOT NULL,
	status      TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	released_at BIGINT NOT NULL,
	release_ref TEXT NOT NULL){keyed}`,
	`CREATE TABLE IF NOT EXISTS auth_log (
	seq           {seqkey},
	at            BIGINT NOT NULL,
	mti           TEXT NOT NULL,
	stan          TEXT NOT NULL,
	rrn           TEXT NOT NULL,
	terminal_id   TEXT NOT NULL,
	merchant_id   TEXT NOT NULL,
	masked_pan    TEXT NOT NULL,
	cred          TEXT NOT NULL,
	amount        BIGINT NOT NULL,
	currency      INTEGER NOT NULL,
	entry_mode    TEXT NOT NULL,
	cvm           TEXT NOT NULL,
	atc           INTEGER NOT NULL,
	response_code TEXT NOT NULL,
	reason        TEXT NOT NULL,
	auth_code     TEXT NOT NULL,
	orig_key      TEXT NOT NULL,
	instance      TEXT NOT NULL DEFAULT '',
	instance_seq  BIGINT NOT NULL DEFAULT 0)`,
	`CREATE TABLE IF NOT EXISTS audit (
	seq       {seqkey},
	at        BIGINT NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	subject   TEXT NOT NULL,
	detail    TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL,
	instance     TEXT NOT NULL DEFAULT '',
	instance_seq BIGINT NOT NULL DEFAULT 0)`,
	`CREATE TABLE IF NOT EXISTS card_contacts (
	card_id    TEXT PRIMARY KEY REFERENCES cards(id),
	phone      TEXT NOT NULL,
	email      TEXT NOT NULL,
	issuer_app INTEGER NOT NULL,
	updated_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS idv_attempts (
	correlation_id TEXT PRIMARY KEY,
	card_id        TEXT NOT NULL,
	requestor_id   TEXT NOT NULL,
	device_id      TEXT NOT NULL,
	decision       TEXT NOT NULL,
	reason         TEXT NOT NULL,
	answer         TEXT NOT NULL,
	request_digest TEXT NOT NULL,
	verified       INTEGER NOT NULL,
	verified_by    TEXT NOT NULL,
	verified_at    BIGINT NOT NULL,
	locked         INTEGER NOT NULL,
	created_at     BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS otps (
	correlation_id TEXT PRIMARY KEY,
	method_id      TEXT NOT NULL,
	hash           TEXT NOT NULL,
	sends          INTEGER NOT NULL,
	issued_at      BIGINT NOT NULL,
	expires_at     BIGINT NOT NULL,
	used_at        BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS messages (
	seq       BIGINT PRIMARY KEY,
	at        BIGINT NOT NULL,
	recipient TEXT NOT NULL,
	channel   TEXT NOT NULL,
	kind      TEXT NOT NULL,
	body      TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS card_provisioning (
	card_id     TEXT PRIMARY KEY REFERENCES cards(id),
	failures    INTEGER NOT NULL,
	locked      INTEGER NOT NULL,
	locked_at   BIGINT NOT NULL,
	lock_reason TEXT NOT NULL,
	reset_at    BIGINT NOT NULL,
	reset_by    TEXT NOT NULL,
	updated_at  BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS card_tokens (
	token_ref      TEXT PRIMARY KEY,
	card_id        TEXT NOT NULL REFERENCES cards(id),
	correlation_id TEXT NOT NULL,
	device_id      TEXT NOT NULL,
	requestor_id   TEXT NOT NULL,
	created_at     BIGINT NOT NULL,
	downloaded_at  BIGINT NOT NULL,
	activated_at   BIGINT NOT NULL,
	activated_by   TEXT NOT NULL,
	first_seen_at  BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS tsp_tokens (
	token_id       TEXT PRIMARY KEY REFERENCES tokens(id),
	correlation_id TEXT NOT NULL,
	wallet_account TEXT NOT NULL,
	device_id      TEXT NOT NULL,
	step_up        INTEGER NOT NULL,
	awaiting       INTEGER NOT NULL,
	suspended_by   TEXT NOT NULL,
	status_at      BIGINT NOT NULL,
	created_at     BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS tsp_records (
	token_ref  TEXT PRIMARY KEY,
	sign_kid   TEXT NOT NULL,
	body       TEXT NOT NULL,
	updated_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS tsp_tasks (
	task_key    TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	answer      TEXT NOT NULL,
	created_at  BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS tsp_envelopes (
	id         TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS pan_references (
	card_id    TEXT PRIMARY KEY REFERENCES cards(id),
	par        TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS cloud_records (
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	body       TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (kind, id))`,
	`CREATE TABLE IF NOT EXISTS cloud_audit (
	seq  BIGINT PRIMARY KEY,
	at   BIGINT NOT NULL,
	body TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS cloud_keys (
	kind      TEXT NOT NULL,
	card_ref  TEXT NOT NULL,
	key_id    BIGINT NOT NULL,
	device_id TEXT NOT NULL,
	api       INTEGER NOT NULL,
	issued_at BIGINT NOT NULL,
	used      INTEGER NOT NULL,
	PRIMARY KEY (kind, card_ref, key_id))`,
	`CREATE TABLE IF NOT EXISTS cloud_devices (
	card_ref     TEXT NOT NULL,
	device_id    TEXT NOT NULL,
	suspended    INTEGER NOT NULL,
	pin_failures INTEGER NOT NULL,
	pin_locked   INTEGER NOT NULL,
	updated_at   BIGINT NOT NULL,
	PRIMARY KEY (card_ref, device_id))`,
	`CREATE INDEX IF NOT EXISTS hce_keys_device ON hce_keys (device_id)`,
	`CREATE INDEX IF NOT EXISTS idv_attempts_card ON idv_attempts (card_id)`,
	`CREATE INDEX IF NOT EXISTS messages_recipient ON messages (recipient, seq)`,
	`CREATE INDEX IF NOT EXISTS card_tokens_card ON card_tokens (card_id)`,
	`CREATE INDEX IF NOT EXISTS tokens_card ON tokens (card_id)`,
	`CREATE INDEX IF NOT EXISTS tsp_tokens_device ON tsp_tokens (device_id, created_at)`,
	`CREATE INDEX IF NOT EXISTS tsp_records_signer ON tsp_records (sign_kid)`,
	`CREATE INDEX IF NOT EXISTS tsp_envelopes_expiry ON tsp_envelopes (expires_at)`,
}

// migrate creates the schema and records its version, refusing a database
// of another version before it changes anything; with a cipher, it
// records or checks its keys (SetCipher).
func (s *DB) migrate(ctx context.Context, c Cipher) error {
	err := s.Update(ctx, func(t *Tx) error {
		if _, err := t.exec(ctx, `CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
			return fmt.Errorf("store: schema: %w", err)
		}
		var v string
		err := t.queryRow(ctx, `SELECT v FROM meta WHERE k = 'schema_version'`).Scan(&v)
		switch {
		case err == nil && v == "1":
			return fmt.Errorf("%w: version 1 keeps PANs in clear and cannot be converted; this build (version %s) "+
				"encrypts them: move %s aside (or use a new database) and create the data again (tapsim issuer init)", ErrSchema, schemaVersion, s.location)
		case err == nil && upgradeFrom[v]:
		case err == nil && v != schemaVersion:
			return fmt.Errorf("%w: schema version %s, this build knows %s", ErrSchema, v, schemaVersion)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: schema version: %w", err)
		}
		for _, q := range append(append([]string(nil), schema...), s.dialect.extra...) {
			if _, err := t.exec(ctx, s.dialect.layout.Replace(q)); err != nil {
				return fmt.Errorf("store: schema: %w", err)
			}
		}
		var post []string
		if v != "" && v != schemaVersion {
			for _, q := range streamColumns {
				f := strings.Fields(q) // ALTER TABLE t ADD COLUMN c ...
				var n int
				if err := t.queryRow(ctx, s.dialect.hasColumn, f[2], f[5]).Scan(&n); err != nil {
					return fmt.Errorf("store: schema: %w", err)
				}
				if n == 0 {
					post = append(post, q)
				}
			}
		}
		if s.dialect.streams {
			post = append(post, streamIndexes...)
		} else {
			post = append(post, dropStreamIndexes...)
		}
		if v != schemaVersion && s.dialect.streams {
			post = append(post, streamSequences...)
		}
		for _, q := range post {
			if _, err := t.exec(ctx, q); err != nil {
				return fmt.Errorf("store: schema: %w", err)
			}
		}
		switch {
		case v == "":
			if _, err := t.exec(ctx, `INSERT INTO meta (k, v) VALUES ('schema_version', ?)`, schemaVersion); err != nil {
				return fmt.Errorf("store: schema version: %w", err)
			}
		case v != schemaVersion:
			if _, err := t.exec(ctx, `UPDATE meta SET v = ? WHERE k = 'schema_version'`, schemaVersion); err != nil {
				return fmt.Errorf("store: schema version: %w", err)
			}
		}
		if c != nil {
			return t.checkKeys(ctx, c)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.cipher = c
	return nil
}

// Meta returns the value of a setting the store keeps about itself, and
// whether it is set.
func (t *Tx) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := t.queryRow(ctx, `SELECT v FROM meta WHERE k = ?`, key).Scan(&v)
	if err != nil {
		err = notFound(err, "setting "+key)
		if isNotFound(err) {
			return "", false, nil
		}
		return "", false, err
	}
	return v, true, nil
}

// SetMeta sets a setting the store keeps about itself.
func (t *Tx) SetMeta(ctx context.Context, key, value string) error {
	if key == "" || key == "schema_version" || key == dataKeysKey {
		return fmt.Errorf("%w: setting %q", ErrInvalid, key)
	}
	_, err := t.exec(ctx, `INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, key, value)
	if err != nil {
		return fmt.Errorf("store: set %s: %w", key, err)
	}
	return nil
}
