package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
)

// TokenStatus is the life-cycle state of a payment token.
type TokenStatus string

// Token states.
const (
	TokenActive    TokenStatus = "active"
	TokenSuspended TokenStatus = "suspended"
	TokenDeleted   TokenStatus = "deleted"
	// TokenInactive is a token made before its cardholder was verified
	// (a step-up pending): it cannot pay until it is activated (R-S2a).
	TokenInactive TokenStatus = "inactive"
)

// Valid reports whether s is a known state.
func (s TokenStatus) Valid() bool {
	return s == TokenActive || s == TokenSuspended || s == TokenDeleted || s == TokenInactive
}

// Token is a row of the token vault: the token (a PAN-format number), the
// funding card it stands for, the token's own expiry (YYMM) and status, its
// domain restriction, the token requestor, the cryptographic profile of
// the device credential (PSN, CVN, issuer master key reference) and the
// PIN verification value of the funding card's PIN computed over the token
// number (a PIN entered at a terminal is enciphered with the number the
// terminal read, the token). The PIN try counter is the funding card's.
// DeviceBound says that taps must carry the ID of a phone registered for
// the token (R-S5d).
type Token struct {
	ID          string
	Number      string
	CardID      string
	Expiry      string // YYMM
	Status      TokenStatus
	Domain      string // "" for none; see package vault
	RequestorID string
	PSN         string
	CVN         string
	IMKRef      string
	PVKI        int
	PVV         string
	FormFactor  string
	DeviceBound bool
	CreatedAt   time.Time
	StatusAt    time.Time
}

// String describes the token with its number masked.
func (k Token) String() string {
	return fmt.Sprintf("token %s (%s, %s)", k.ID, pan.Mask(k.Number), k.Status)
}

// GoString is String, so that %#v shows no number either.
func (k Token) GoString() string { return k.String() }

const tokenCols = `id, number_index, number_enc, card_id, expiry_enc, status, domain, requestor_id, psn, cvn, imk_ref, pvki, pvv_enc, form_factor, device_bound, created_at, status_at`

// PutToken creates or replaces a token. Its number, expiry and PVV are
// stored encrypted, and its number's keyed hash as the look-up index.
func (t *Tx) PutToken(ctx context.Context, k Token) error {
	if k.ID == "" || k.Number == "" || k.CardID == "" || len(k.Expiry) != 4 {
		return fmt.Errorf("%w: token %q", ErrInvalid, k.ID)
	}
	if k.Status == "" {
		k.Status = TokenActive
	}
	if !k.Status.Valid() {
		return fmt.Errorf("%w: token status %q", ErrInvalid, k.Status)
	}
	idx, err := t.index(k.Number)
	if err != nil {
		return err
	}
	var enc [3]string
	for i, f := range []struct{ col, v string }{{"number", k.Number}, {"expiry", k.Expiry}, {"pvv", k.PVV}} {
		if enc[i], err = t.sealField("tokens", k.ID, f.col, f.v); err != nil {
			return err
		}
	}
	_, err = t.exec(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET number_index = excluded.number_index, number_enc = excluded.number_enc,
card_id = excluded.card_id, expiry_enc = excluded.expiry_enc, status = excluded.status, domain = excluded.domain,
requestor_id = excluded.requestor_id, psn = excluded.psn, cvn = excluded.cvn, imk_ref = excluded.imk_ref,
pvki = excluded.pvki, pvv_enc = excluded.pvv_enc, form_factor = excluded.form_factor,
device_bound = excluded.device_bound, status_at = excluded.status_at`,
		k.ID, idx, enc[0], k.CardID, enc[1], string(k.Status), k.Domain, k.RequestorID, k.PSN, k.CVN, k.IMKRef,
		k.PVKI, enc[2], k.FormFactor, boolInt(k.DeviceBound), nanos(k.CreatedAt), nanos(k.StatusAt))
	if err != nil {
		return fmt.Errorf("store: put token %s: %w", k.ID, err)
	}
	return nil
}

// scanToken reads a token row and decrypts its sensitive columns, as
// scanCard.
func (t *Tx) scanToken(row interface{ Scan(...any) error }) (Token, error) {
	var r tokenRow
	if err := row.Scan(r.dest()...); err != nil {
		return Token{}, err
	}
	return t.openToken(&r)
}

// tokenRow is a tokens row as read (tokenCols), its sensitive columns
// still sealed.
type tokenRow struct {
	k                               Token
	st, idx, numEnc, expEnc, pvvEnc string
	bound                           int
	created, statusAt               int64
}

// dest is where a row of tokenCols scans to.
func (r *tokenRow) dest() []any {
	k := &r.k
	return []any{&k.ID, &r.idx, &r.numEnc, &k.CardID, &r.expEnc, &r.st, &k.Domain, &k.RequestorID, &k.PSN, &k.CVN,
		&k.IMKRef, &k.PVKI, &r.pvvEnc, &k.FormFactor, &r.bound, &r.created, &r.statusAt}
}

// openToken decrypts the row's sealed columns and checks its number
// against its index.
func (t *Tx) openToken(r *tokenRow) (Token, error) {
	k := r.k
	k.Status, k.DeviceBound, k.CreatedAt, k.StatusAt = TokenStatus(r.st), r.bound != 0, fromNanos(r.created), fromNanos(r.statusAt)
	var err error
	for _, f := range []struct {
		col, enc string
		dst      *string
	}{{"number", r.numEnc, &k.Number}, {"expiry", r.expEnc, &k.Expiry}, {"pvv", r.pvvEnc, &k.PVV}} {
		if *f.dst, err = t.openField("tokens", k.ID, f.col, f.enc); err != nil {
			return Token{}, err
		}
	}
	if want, err := t.index(k.Number); err != nil {
		return Token{}, err
	} else if want != r.idx {
		return Token{}, fmt.Errorf("%w: tokens %s number: index does not match", ErrTampered, k.ID)
	}
	return k, nil
}

// Token returns the token id.
func (t *Tx) Token(ctx context.Context, id string) (Token, error) {
	if t.c == nil {
		return Token{}, ErrNoCipher
	}
	k, err := t.scanToken(t.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`+t.forUpdate(), id))
	if err != nil {
		return Token{}, rowErr(err, "token "+id)
	}
	return k, nil
}

// TokenByNumber returns the token whose number is n, found by its keyed
// hash (detokenisation). The error names it masked.
func (t *Tx) TokenByNumber(ctx context.Context, n string) (Token, error) {
	idx, err := t.index(n)
	if err != nil {
		return Token{}, err
	}
	k, err := t.scanToken(t.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE number_index = ?`+t.forUpdate(), idx))
	if err != nil {
		return Token{}, rowErr(err, "token "+pan.Mask(n))
	}
	return k, nil
}

// TokensOfCard lists the tokens of a funding card, by identifier.
func (t *Tx) TokensOfCard(ctx context.Context, cardID string) ([]Token, error) {
	if t.c == nil {
		return nil, ErrNoCipher
	}
	rows, err := t.query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE card_id = ? ORDER BY id`, cardID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens of card: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		k, err := t.scanToken(rows)
		if err != nil {
			if errors.Is(err, ErrTampered) || errors.Is(err, ErrNoCipher) {
				return nil, err
			}
			return nil, fmt.Errorf("store: tokens of card: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tokens of card: %w", err)
	}
	return out, nil
}

// SetTokenStatus changes a token's state at time at.
func (t *Tx) SetTokenStatus(ctx context.Context, id string, s TokenStatus, at time.Time) error {
	if !s.Valid() {
		return fmt.Errorf("%w: token status %q", ErrInvalid, s)
	}
	res, err := t.exec(ctx, `UPDATE tokens SET status = ?, status_at = ? WHERE id = ?`, string(s), nanos(at), id)
	if err != nil {
		return fmt.Errorf("store: token status: %w", err)
	}
	return mustAffect(res, "token "+id)
}
