package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// HoldStatus is the state of an authorisation hold.
type HoldStatus string

// Hold states.
const (
	// HoldActive reserves the amount on the account.
	HoldActive HoldStatus = "active"
	// HoldReleased was reversed; the amount is free again.
	HoldReleased HoldStatus = "released"
	// HoldReversed marks a reversal that arrived for an authorisation the
	// host never approved (or has not seen yet); it reserves nothing and
	// stops a late original from being approved.
	HoldReversed HoldStatus = "reversed"
)

// Hold reserves an approved amount on an account until it is reversed or
// cleared. Key is the authorisation's original data elements (ISO 8583
// field 90's content: MTI, STAN, transmission time, acquirer), the key a
// reversal names it by.
type Hold struct {
	Key        string
	AccountID  string
	Cred       string
	MaskedPAN  string
	Amount     int64
	Currency   int
	AuthCode   string
	RRN        string
	Status     HoldStatus
	CreatedAt  time.Time
	ReleasedAt time.Time
	ReleaseRef string // what released it (the reversal's own key)
}

// AddHold records a hold; an active hold also raises the account's held
// amount. A hold under an existing key is refused with ErrExists.
func (t *Tx) AddHold(ctx context.Context, h Hold) error {
	if h.Key == "" || h.Amount < 0 {
		return fmt.Errorf("%w: hold", ErrInvalid)
	}
	if h.Status == "" {
		h.Status = HoldActive
	}
	// One statement: a hold already under the key inserts nothing.
	res, err := t.exec(ctx, `INSERT INTO holds (orig_key, account_id, cred, masked_pan, amount, currency, auth_code, rrn,
status, created_at, released_at, release_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (orig_key) DO NOTHING`,
		h.Key, h.AccountID, h.Cred, h.MaskedPAN, h.Amount, h.Currency, h.AuthCode, h.RRN, string(h.Status),
		nanos(h.CreatedAt), nanos(h.ReleasedAt), h.ReleaseRef)
	if err != nil {
		return fmt.Errorf("store: add hold: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: add hold: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: hold %s", ErrExists, h.Key)
	}
	if h.Status == HoldActive && h.AccountID != "" {
		return t.AddHeld(ctx, h.AccountID, h.Amount)
	}
	return nil
}

// Hold returns the hold recorded under key.
func (t *Tx) Hold(ctx context.Context, key string) (Hold, error) { return t.hold(ctx, key, "") }

// LockHold is Hold for a transaction that changes the hold: inside
// UpdateRows on PostgreSQL it locks the hold's row (SELECT ... FOR NO KEY
// UPDATE) until the commit, so that two reversals of one approval on two
// instances take turns and the second finds it released. A reversal locks
// its hold, then changes the account (ReleaseHold); an authorisation
// locks no existing hold, it only inserts its own; so the two never wait
// for each other in a circle. Elsewhere it is Hold.
func (t *Tx) LockHold(ctx context.Context, key string) (Hold, error) {
	return t.hold(ctx, key, t.forUpdate())
}

func (t *Tx) hold(ctx context.Context, key, lock string) (Hold, error) {
	var h Hold
	var st string
	var created, released int64
	err := t.queryRow(ctx, `SELECT orig_key, account_id, cred, masked_pan, amount, currency, auth_code, rrn, status,
created_at, released_at, release_ref FROM holds WHERE orig_key = ?`+lock, key).
		Scan(&h.Key, &h.AccountID, &h.Cred, &h.MaskedPAN, &h.Amount, &h.Currency, &h.AuthCode, &h.RRN, &st,
			&created, &released, &h.ReleaseRef)
	if err != nil {
		return Hold{}, notFound(err, "hold "+key)
	}
	h.Status, h.CreatedAt, h.ReleasedAt = HoldStatus(st), fromNanos(created), fromNanos(released)
	return h, nil
}

// ReleaseHold releases the active hold under key, giving its amount back to
// the account, and reports whether it did; a hold already released (or a
// reversal marker) is left as it is, so that a repeated reversal changes
// nothing.
func (t *Tx) ReleaseHold(ctx context.Context, key string, at time.Time, ref string) (bool, error) {
	h, err := t.Hold(ctx, key)
	if err != nil {
		return false, err
	}
	if h.Status != HoldActive {
		return false, nil
	}
	res, err := t.exec(ctx, `UPDATE holds SET status = ?, released_at = ?, release_ref = ? WHERE orig_key = ? AND status = ?`,
		string(HoldReleased), nanos(at), ref, key, string(HoldActive))
	if err != nil {
		return false, fmt.Errorf("store: release hold: %w", err)
	}
	if err := mustAffect(res, "active hold "+key); err != nil {
		return false, err
	}
	if h.AccountID != "" {
		if err := t.AddHeld(ctx, h.AccountID, -h.Amount); err != nil {
			return false, err
		}
	}
	return true, nil
}

// ActiveHolds lists the active holds of an account.
func (t *Tx) ActiveHolds(ctx context.Context, accountID string) ([]Hold, error) {
	rows, err := t.query(ctx, `SELECT orig_key FROM holds WHERE account_id = ? AND status = ? ORDER BY created_at, orig_key`,
		accountID, string(HoldActive))
	if err != nil {
		return nil, fmt.Errorf("store: active holds: %w", err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: active holds: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("store: active holds: %w", err)
	}
	rows.Close()
	out := make([]Hold, 0, len(keys))
	for _, k := range keys {
		h, err := t.Hold(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
