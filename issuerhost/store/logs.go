package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// AuthRecord is one line of the authorisation log: what was asked and
// what was answered, with the PAN masked and no cryptogram, PIN block or
// track data.
type AuthRecord struct {
	Seq          int64
	At           time.Time
	MTI          string
	STAN         string
	RRN          string
	TerminalID   string
	MerchantID   string
	MaskedPAN    string
	Cred         string // card or token reference
	Amount       int64
	Currency     int
	EntryMode    string
	CVM          string
	ATC          int // -1 when none
	ResponseCode string
	Reason       string
	AuthCode     string
	OrigKey      string
	// Instance is the store instance that wrote the line ("" on SQLite
	// and for lines older than per-instance logs), InstanceSeq its number
	// in that instance's stream (0 for those lines).
	Instance    string
	InstanceSeq int64
}

// streamSeq returns the global and per-instance numbers of a new row of
// the authorisation log or audit trail (table), and on PostgreSQL the
// hash column of the instance's last row (when wantHash): the next value
// of the table's sequence and one more than the instance's last row. On
// SQLite there is one stream, numbered by seq itself.
func (t *Tx) streamSeq(ctx context.Context, table string, wantHash bool) (seq, iseq int64, lastHash string, err error) {
	if !t.d.streams {
		seq, err = t.nextSeq(ctx, table)
		if err != nil {
			return 0, 0, "", err
		}
		return seq, seq, "", nil
	}
	if err := t.queryRow(ctx, `SELECT nextval('`+table+`_seq')`).Scan(&seq); err != nil {
		return 0, 0, "", fmt.Errorf("store: %s sequence: %w", table, err)
	}
	cols := `instance_seq, ''`
	if wantHash {
		cols = `instance_seq, hash`
	}
	err = t.queryRow(ctx, `SELECT `+cols+` FROM `+table+` WHERE instance = ? ORDER BY instance_seq DESC LIMIT 1`, t.instance).
		Scan(&iseq, &lastHash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return seq, 1, "", nil
	case err != nil:
		return 0, 0, "", fmt.Errorf("store: %s sequence of instance %s: %w", table, t.instance, err)
	}
	return seq, iseq + 1, lastHash, nil
}

// LogAuth appends r to the authorisation log, in this instance's stream,
// and returns its sequence number.
func (t *Tx) LogAuth(ctx context.Context, r AuthRecord) (int64, error) {
	if !t.d.streams {
		tip := t.auditTip
		if tip != nil && tip.logKnown {
			// The SQLite writer knows the last number.
			seq := tip.logSeq + 1
			_, err := t.exec(ctx, `INSERT INTO auth_log (seq, at, mti, stan, rrn, terminal_id, merchant_id, masked_pan, cred, amount,
currency, entry_mode, cvm, atc, response_code, reason, auth_code, orig_key, instance, instance_seq)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				seq, nanos(r.At), r.MTI, r.STAN, r.RRN, r.TerminalID, r.MerchantID, r.MaskedPAN, r.Cred, r.Amount, r.Currency,
				r.EntryMode, r.CVM, r.ATC, r.ResponseCode, r.Reason, r.AuthCode, r.OrigKey, t.instance, seq)
			if err == nil {
				tip.logSeq = seq
				return seq, nil
			}
			tip.logKnown = false
			if !errors.Is(err, ErrExists) {
				return 0, fmt.Errorf("store: log authorisation: %w", err)
			}
			// Another process logged under that number: the insert
			// below takes the next one.
		}
		// One statement: the next number is taken in the insert.
		var seq int64
		err := t.queryRow(ctx, `INSERT INTO auth_log (seq, at, mti, stan, rrn, terminal_id, merchant_id, masked_pan, cred, amount,
currency, entry_mode, cvm, atc, response_code, reason, auth_code, orig_key, instance, instance_seq)
SELECT n, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, n FROM (SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM auth_log)
RETURNING seq`,
			nanos(r.At), r.MTI, r.STAN, r.RRN, r.TerminalID, r.MerchantID, r.MaskedPAN, r.Cred, r.Amount, r.Currency,
			r.EntryMode, r.CVM, r.ATC, r.ResponseCode, r.Reason, r.AuthCode, r.OrigKey, t.instance).Scan(&seq)
		if err != nil {
			return 0, fmt.Errorf("store: log authorisation: %w", err)
		}
		if tip != nil {
			tip.logKnown, tip.logSeq = true, seq
		}
		return seq, nil
	}
	tip := t.auditTip
	var (
		seq, iseq int64
		err       error
	)
	if tip != nil && tip.logKnown {
		// The instance knows its stream's last line: one statement, the
		// global number drawn in it.
		iseq = tip.logSeq + 1
		err = t.queryRow(ctx, `INSERT INTO auth_log (seq, at, mti, stan, rrn, terminal_id, merchant_id, masked_pan, cred, amount,
currency, entry_mode, cvm, atc, response_code, reason, auth_code, orig_key, instance, instance_seq)
VALUES (nextval('auth_log_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			nanos(r.At), r.MTI, r.STAN, r.RRN, r.TerminalID, r.MerchantID, r.MaskedPAN, r.Cred, r.Amount, r.Currency,
			r.EntryMode, r.CVM, r.ATC, r.ResponseCode, r.Reason, r.AuthCode, r.OrigKey, t.instance, iseq).Scan(&seq)
	} else {
		if seq, iseq, _, err = t.streamSeq(ctx, "auth_log", false); err != nil {
			return 0, err
		}
		_, err = t.exec(ctx, `INSERT INTO auth_log (seq, at, mti, stan, rrn, terminal_id, merchant_id, masked_pan, cred, amount,
currency, entry_mode, cvm, atc, response_code, reason, auth_code, orig_key, instance, instance_seq)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			seq, nanos(r.At), r.MTI, r.STAN, r.RRN, r.TerminalID, r.MerchantID, r.MaskedPAN, r.Cred, r.Amount, r.Currency,
			r.EntryMode, r.CVM, r.ATC, r.ResponseCode, r.Reason, r.AuthCode, r.OrigKey, t.instance, iseq)
	}
	if err != nil {
		if tip != nil {
			tip.logKnown = false
		}
		return 0, fmt.Errorf("store: log authorisation: %w", err)
	}
	if tip != nil {
		tip.logKnown, tip.logSeq = true, iseq
	}
	return seq, nil
}

// AuthLog returns the last n records of the authorisation log (all when
// n <= 0), of every instance, oldest first (by sequence number).
func (t *Tx) AuthLog(ctx context.Context, n int) ([]AuthRecord, error) {
	q := `SELECT seq, at, mti, stan, rrn, terminal_id, merchant_id, masked_pan, cred, amount, currency, entry_mode, cvm, atc,
response_code, reason, auth_code, orig_key, instance, instance_seq FROM auth_log`
	var args []any
	if n > 0 {
		// The numbers may have gaps on PostgreSQL (a sequence).
		q += ` WHERE seq >= (SELECT COALESCE(MIN(seq), 0) FROM (SELECT seq FROM auth_log ORDER BY seq DESC LIMIT ?) last)`
		args = append(args, n)
	}
	rows, err := t.query(ctx, q+` ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: authorisation log: %w", err)
	}
	defer rows.Close()
	var out []AuthRecord
	for rows.Next() {
		var r AuthRecord
		var at int64
		if err := rows.Scan(&r.Seq, &at, &r.MTI, &r.STAN, &r.RRN, &r.TerminalID, &r.MerchantID, &r.MaskedPAN, &r.Cred,
			&r.Amount, &r.Currency, &r.EntryMode, &r.CVM, &r.ATC, &r.ResponseCode, &r.Reason, &r.AuthCode, &r.OrigKey,
			&r.Instance, &r.InstanceSeq); err != nil {
			return nil, fmt.Errorf("store: authorisation log: %w", err)
		}
		r.At = fromNanos(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: authorisation log: %w", err)
	}
	return out, nil
}

// AuditEvent is one entry of the append-only audit trail (R-S4d, R-S5e).
// Each entry carries the hash of the one before it in its instance's
// stream, so that an entry changed or removed behind the store's back
// breaks that stream's chain.
type AuditEvent struct {
	Seq     int64
	At      time.Time
	Actor   string // who acted: "authorisation", "token-service", "cloud-platform", "init" ...
	Action  string // what was done, machine-readable
	Subject string // what it was done to (masked PAN, token or device reference)
	Detail  string // free text, never sensitive data
	Prev    []byte // hash of the previous entry of the stream (32 zero bytes for the first)
	Hash    []byte // SHA-256 over Prev and this entry's fields
	// Instance is the store instance whose stream holds the entry (""
	// on SQLite and for entries older than per-instance streams), and
	// InstanceSeq its number there (0 for the stream "": Seq numbers it).
	Instance    string
	InstanceSeq int64
}

// auditHash is the chain hash of e. An entry of the stream "" covers its
// Seq; an entry of an instance's stream covers the instance and its
// number there instead.
func auditHash(e AuditEvent) []byte {
	h := sha256.New()
	h.Write(e.Prev)
	var b [16]byte
	n := e.Seq
	if e.Instance != "" {
		n = e.InstanceSeq
	}
	binary.BigEndian.PutUint64(b[:8], uint64(n))
	binary.BigEndian.PutUint64(b[8:], uint64(nanos(e.At)))
	h.Write(b[:])
	strs := []string{e.Actor, e.Action, e.Subject, e.Detail}
	if e.Instance != "" {
		strs = append(strs, e.Instance)
	}
	for _, s := range strs {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(s)))
		h.Write(l[:])
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// Audit appends e to this instance's stream of the audit trail (its Seq,
// Prev, Hash, Instance and InstanceSeq are set here).
func (t *Tx) Audit(ctx context.Context, e AuditEvent) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("%w: audit event without actor or action", ErrInvalid)
	}
	var (
		seq, iseq int64
		lastHash  string // of this instance's stream
		lastEntry string // of the whole trail, without streams
		err       error
	)
	drawn := false // seq is drawn from the sequence by the insert
	if tip := t.auditTip; t.d.streams && tip != nil && tip.known {
		// The instance knows its stream's last entry.
		iseq, lastHash, drawn = tip.seq+1, tip.hash, true
	} else if t.d.streams {
		seq, iseq, lastHash, err = t.streamSeq(ctx, "audit", true)
	} else if tip := t.auditTip; tip != nil && tip.known {
		// The SQLite writer knows the last entry: no statement.
		seq, lastEntry, iseq = tip.seq+1, tip.hash, tip.seq+1
	} else {
		seq, lastEntry, err = t.auditLast(ctx)
		iseq = seq
	}
	if err != nil {
		return err
	}
	prev := make([]byte, sha256.Size)
	switch {
	case t.instance != "":
		if iseq > 1 {
			if prev, err = hex.DecodeString(lastHash); err != nil || len(prev) != sha256.Size {
				return fmt.Errorf("%w: instance %s entry %d", ErrAuditBroken, t.instance, iseq-1)
			}
		}
	case seq > 1:
		if t.d.streams {
			if err := t.queryRow(ctx, `SELECT hash FROM audit WHERE seq = ?`, seq-1).Scan(&lastEntry); err != nil {
				return notFound(err, "audit entry before the last")
			}
		}
		if prev, err = hex.DecodeString(lastEntry); err != nil {
			return fmt.Errorf("%w: entry %d", ErrAuditBroken, seq-1)
		}
	}
	e.Seq, e.Prev, e.Instance, e.InstanceSeq = seq, prev, t.instance, iseq
	if t.instance == "" {
		e.InstanceSeq = 0
	}
	e.Hash = auditHash(e) // an instance's entry covers its instance_seq, not seq
	if drawn {
		err = t.queryRow(ctx, `INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash, instance, instance_seq)
VALUES (nextval('audit_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			nanos(e.At), e.Actor, e.Action, e.Subject, e.Detail, hex.EncodeToString(e.Prev), hex.EncodeToString(e.Hash),
			e.Instance, e.InstanceSeq).Scan(&e.Seq)
	} else {
		_, err = t.exec(ctx, `INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash, instance, instance_seq)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, nanos(e.At), e.Actor, e.Action, e.Subject, e.Detail, hex.EncodeToString(e.Prev), hex.EncodeToString(e.Hash),
			e.Instance, e.InstanceSeq)
	}
	if tip := t.auditTip; tip != nil {
		if err != nil {
			tip.known = false
			if errors.Is(err, ErrExists) && !t.d.streams {
				// Another process wrote the entry the writer took for
				// the last: it reads the last one now.
				e.Prev, e.Hash = nil, nil
				return t.Audit(ctx, e)
			}
		} else {
			// The number of the entry in its stream: seq itself on SQLite.
			tip.known, tip.seq, tip.hash = true, iseq, hex.EncodeToString(e.Hash)
		}
	}
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// auditLast reads the next number of the audit trail without streams and
// the hash of its last entry, in one statement.
func (t *Tx) auditLast(ctx context.Context) (seq int64, hash string, err error) {
	err = t.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1, COALESCE((SELECT hash FROM audit ORDER BY seq DESC LIMIT 1), '') FROM audit`).
		Scan(&seq, &hash)
	if err != nil {
		return 0, "", fmt.Errorf("store: audit sequence: %w", err)
	}
	return seq, hash, nil
}

// auditTip is what a writer knows of the last audit entry (its number and
// hash) and the last authorisation log line (its number) it wrote: the
// SQLite writer of the one stream (numbered by seq), or a PostgreSQL
// instance of its own streams (numbered by instance_seq). Anything that
// undoes writes (a rollback to a savepoint, a failed transaction or
// commit, a panic) makes them unknown (forget). On SQLite another
// process's entry or line makes the writer's next insert fail on the
// number, and it reads the last one then; on PostgreSQL no one else
// writes an instance's streams.
type auditTip struct {
	known bool
	seq   int64
	hash  string

	logKnown bool
	logSeq   int64
}

// forget makes what the writer knows unknown: the next line and entry
// read the last ones from the database.
func (t *auditTip) forget() { t.known, t.logKnown = false, false }

// AuditTrail returns the whole audit trail, of every instance, by
// sequence number.
func (t *Tx) AuditTrail(ctx context.Context) ([]AuditEvent, error) {
	rows, err := t.query(ctx, `SELECT seq, at, actor, action, subject, detail, prev_hash, hash, instance, instance_seq
FROM audit ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("store: audit trail: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		var prev, hash string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail, &prev, &hash, &e.Instance, &e.InstanceSeq); err != nil {
			return nil, fmt.Errorf("store: audit trail: %w", err)
		}
		e.At = fromNanos(at)
		e.Prev, _ = hex.DecodeString(prev)
		e.Hash, _ = hex.DecodeString(hash)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit trail: %w", err)
	}
	return out, nil
}

// VerifyAudit checks the hash chain and numbering of each instance's
// stream of the audit trail and returns the number of entries of all of
// them; a broken chain gives ErrAuditBroken naming the first bad entry of
// its stream, with the number of entries before it (in seq order) that
// held. The entries of the stream "" are numbered 1, 2, ... by seq;
// those of an instance by instance_seq.
func (t *Tx) VerifyAudit(ctx context.Context) (int, error) {
	trail, err := t.AuditTrail(ctx)
	if err != nil {
		return 0, err
	}
	type stream struct {
		n    int64
		prev []byte
	}
	streams := map[string]*stream{}
	for i, e := range trail {
		st := streams[e.Instance]
		if st == nil {
			st = &stream{prev: make([]byte, sha256.Size)}
			streams[e.Instance] = st
		}
		st.n++
		num := e.Seq
		if e.Instance != "" {
			num = e.InstanceSeq
		}
		if num != st.n || !bytes.Equal(e.Prev, st.prev) || !bytes.Equal(auditHash(e), e.Hash) {
			if e.Instance == "" {
				return i, fmt.Errorf("%w: at entry %d", ErrAuditBroken, st.n)
			}
			return i, fmt.Errorf("%w: instance %s at entry %d", ErrAuditBroken, e.Instance, st.n)
		}
		st.prev = e.Hash
	}
	return len(trail), nil
}

// nextSeq returns the next sequence number of an append-only table.
func (t *Tx) nextSeq(ctx context.Context, table string) (int64, error) {
	var seq int64
	if err := t.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM `+table).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store: %s sequence: %w", table, err)
	}
	return seq, nil
}
