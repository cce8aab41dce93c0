package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
}

// LogAuth appends r to the authorisation log and returns its sequence
// number.
func (t *Tx) LogAuth(ctx context.Context, r AuthRecord) (int64, error) {
	seq, err := t.nextSeq(ctx, "auth_log")
	if err != nil {
		return 0, err
	}
	_, err = t.exec(ctx, `INSERT INTO auth_log (seq, at, mti, stan, rrn, terminal_id, merchant_id, masked_pan, cred, amount,
currency, entry_mode, cvm, atc, response_code, reason, auth_code, orig_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		seq, nanos(r.At), r.MTI, r.STAN, r.RRN, r.TerminalID, r.MerchantID, r.MaskedPAN, r.Cred, r.Amount, r.Currency,
		r.EntryMode, r.CVM, r.ATC, r.ResponseCode, r.Reason, r.AuthCode, r.OrigKey)
	if err != nil {
		return 0, fmt.Errorf("store: log authorisation: %w", err)
	}
	return seq, nil
}

// AuthLog returns the last n records of the authorisation log (all when
// n <= 0), oldest first.
func (t *Tx) AuthLog(ctx context.Context, n int) ([]AuthRecord, error) {
	q := `SELECT seq, at, mti, stan, rrn, terminal_id, merchant_id, masked_pan, cred, amount, currency, entry_mode, cvm, atc,
response_code, reason, auth_code, orig_key FROM auth_log`
	var args []any
	if n > 0 {
		q += ` WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM auth_log) - ?`
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
			&r.Amount, &r.Currency, &r.EntryMode, &r.CVM, &r.ATC, &r.ResponseCode, &r.Reason, &r.AuthCode, &r.OrigKey); err != nil {
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
// Each entry carries the hash of the one before it, so that an entry
// changed or removed behind the store's back breaks the chain.
type AuditEvent struct {
	Seq     int64
	At      time.Time
	Actor   string // who acted: "authorisation", "token-service", "cloud-platform", "init" ...
	Action  string // what was done, machine-readable
	Subject string // what it was done to (masked PAN, token or device reference)
	Detail  string // free text, never sensitive data
	Prev    []byte // hash of the previous entry (32 zero bytes for the first)
	Hash    []byte // SHA-256 over Prev and this entry's fields
}

// auditHash is the chain hash of e.
func auditHash(e AuditEvent) []byte {
	h := sha256.New()
	h.Write(e.Prev)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(e.Seq))
	binary.BigEndian.PutUint64(b[8:], uint64(nanos(e.At)))
	h.Write(b[:])
	for _, s := range []string{e.Actor, e.Action, e.Subject, e.Detail} {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(s)))
		h.Write(l[:])
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// Audit appends e to the audit trail (its Seq, Prev and Hash are set
// here).
func (t *Tx) Audit(ctx context.Context, e AuditEvent) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("%w: audit event without actor or action", ErrInvalid)
	}
	seq, err := t.nextSeq(ctx, "audit")
	if err != nil {
		return err
	}
	prev := make([]byte, sha256.Size)
	if seq > 1 {
		var ph string
		if err := t.queryRow(ctx, `SELECT hash FROM audit WHERE seq = ?`, seq-1).Scan(&ph); err != nil {
			return notFound(err, "audit entry before the last")
		}
		if prev, err = hex.DecodeString(ph); err != nil {
			return fmt.Errorf("%w: entry %d", ErrAuditBroken, seq-1)
		}
	}
	e.Seq, e.Prev = seq, prev
	e.Hash = auditHash(e)
	_, err = t.exec(ctx, `INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, nanos(e.At), e.Actor, e.Action, e.Subject, e.Detail, hex.EncodeToString(e.Prev), hex.EncodeToString(e.Hash))
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditTrail returns the whole audit trail, oldest first.
func (t *Tx) AuditTrail(ctx context.Context) ([]AuditEvent, error) {
	rows, err := t.query(ctx, `SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("store: audit trail: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		var prev, hash string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail, &prev, &hash); err != nil {
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

// VerifyAudit checks the audit trail's hash chain and numbering and
// returns the number of entries; a broken chain gives ErrAuditBroken
// naming the first bad entry.
func (t *Tx) VerifyAudit(ctx context.Context) (int, error) {
	trail, err := t.AuditTrail(ctx)
	if err != nil {
		return 0, err
	}
	prev := make([]byte, sha256.Size)
	for i, e := range trail {
		if e.Seq != int64(i+1) || !bytes.Equal(e.Prev, prev) || !bytes.Equal(auditHash(e), e.Hash) {
			return i, fmt.Errorf("%w: at entry %d", ErrAuditBroken, i+1)
		}
		prev = e.Hash
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
