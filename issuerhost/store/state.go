package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// rowVersion is a digest of the stored values of a row's columns (as
// stored: sealed columns sealed): two reads of a row with the same
// version read the same values.
func rowVersion(cols ...string) string {
	h := sha256.New()
	var l [4]byte
	for _, c := range cols {
		binary.BigEndian.PutUint32(l[:], uint32(len(c)))
		h.Write(l[:])
		h.Write([]byte(c))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// cardVersion is the version of a card row's columns but its status and
// PIN try counter.
func cardVersion(id, idx, panEnc, psn, account, expEnc, cvn, imk string, pvki int, pvvEnc, form string, created int64) string {
	return rowVersion(id, idx, panEnc, psn, account, expEnc, cvn, imk, strconv.Itoa(pvki), pvvEnc, form,
		strconv.FormatInt(created, 10))
}

// tokenVersion is the version of a token row's columns but its status
// and the time of its status.
func tokenVersion(id, idx, numEnc, card, expEnc, domain, requestor, psn, cvn, imk string, pvki int, pvvEnc, form string,
	bound int, created int64) string {
	return rowVersion(id, idx, numEnc, card, expEnc, domain, requestor, psn, cvn, imk, strconv.Itoa(pvki), pvvEnc, form,
		strconv.Itoa(bound), strconv.FormatInt(created, 10))
}

// CardState is what changes of a card in its life, its status and PIN try
// counter, with the Version of the rest of its row (Card.Version).
type CardState struct {
	Status      CardStatus
	PINFailures int
	PINLocked   bool
	Version     string
}

// CardState reads the state of card id, decrypting nothing; inside
// UpdateRows it locks the card's row as Card does. A caller that read the
// card before (Card, CardByPAN) and finds the same Version has the card as
// it is now with the state read here.
func (t *Tx) CardState(ctx context.Context, id string) (CardState, error) {
	var s CardState
	var locked, pvki int
	var st, idx, panEnc, psn, account, expEnc, cvn, imk, pvvEnc, form string
	var created int64
	err := t.queryRow(ctx, `SELECT `+cardCols+` FROM cards WHERE id = ?`+t.forUpdate(), id).
		Scan(&id, &idx, &panEnc, &psn, &account, &expEnc, &cvn, &imk, &pvki, &pvvEnc, &s.PINFailures, &locked, &st, &form, &created)
	if err != nil {
		return CardState{}, notFound(err, "card "+id)
	}
	s.Status, s.PINLocked = CardStatus(st), locked != 0
	s.Version = cardVersion(id, idx, panEnc, psn, account, expEnc, cvn, imk, pvki, pvvEnc, form, created)
	return s, nil
}

// TokenState is what changes of a token in its life, its status and when
// it took it, with the Version of the rest of its row (Token.Version).
type TokenState struct {
	Status   TokenStatus
	StatusAt time.Time
	Version  string
}

// TokenState reads the state of token id, decrypting nothing; inside
// UpdateRows it locks the token's row as Token does. See CardState.
func (t *Tx) TokenState(ctx context.Context, id string) (TokenState, error) {
	var s TokenState
	var st, idx, numEnc, card, expEnc, domain, requestor, psn, cvn, imk, pvvEnc, form string
	var pvki, bound int
	var created, statusAt int64
	err := t.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`+t.forUpdate(), id).
		Scan(&id, &idx, &numEnc, &card, &expEnc, &st, &domain, &requestor, &psn, &cvn, &imk, &pvki, &pvvEnc, &form,
			&bound, &created, &statusAt)
	if err != nil {
		return TokenState{}, notFound(err, "token "+id)
	}
	s.Status, s.StatusAt = TokenStatus(st), fromNanos(statusAt)
	s.Version = tokenVersion(id, idx, numEnc, card, expEnc, domain, requestor, psn, cvn, imk, pvki, pvvEnc, form, bound, created)
	return s, nil
}

// UseCryptogramOnce is UseCryptogram for an authorisation whose message
// key is key, in one statement: unless a hold (of any status) is recorded
// under key, it records ac of cred at atc as used. fresh reports that it
// did; held that nothing was written because of the hold; neither, that
// the cryptogram had been presented before.
func (t *Tx) UseCryptogramOnce(ctx context.Context, key, cred string, atc uint16, ac []byte, at time.Time) (fresh, held bool, err error) {
	if len(ac) == 0 {
		return false, false, fmt.Errorf("%w: empty cryptogram", ErrInvalid)
	}
	res, err := t.exec(ctx, `INSERT INTO used_cryptograms (digest, cred, atc, used_at)
SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS BIGINT)
WHERE NOT EXISTS (SELECT 1 FROM holds WHERE orig_key = ?)
ON CONFLICT (digest) DO NOTHING`, cryptogramDigest(cred, atc, ac), cred, int(atc), nanos(at), key)
	if err != nil {
		return false, false, fmt.Errorf("store: use cryptogram: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, false, fmt.Errorf("store: use cryptogram: %w", err)
	}
	if n == 1 {
		return true, false, nil
	}
	var holds int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM holds WHERE orig_key = ?`, key).Scan(&holds); err != nil {
		return false, false, fmt.Errorf("store: use cryptogram: %w", err)
	}
	return false, holds > 0, nil
}

// RaiseATCWithin raises the high-water mark of cred to atc, in one
// statement, when atc is ahead of it by at most window (with no mark yet,
// when atc is from 1 to window), and reports whether it did. When it did
// not, nothing changed, and hw and found are the mark as ATC returns it.
func (t *Tx) RaiseATCWithin(ctx context.Context, cred string, atc uint16, window int, at time.Time) (raised bool, hw uint16, found bool, err error) {
	res, err := t.exec(ctx, `INSERT INTO atc_state (cred, high_water, updated_at)
SELECT CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS BIGINT)
WHERE CAST(? AS INTEGER) BETWEEN 1 AND CAST(? AS INTEGER) OR EXISTS (SELECT 1 FROM atc_state WHERE cred = ?)
ON CONFLICT (cred) DO UPDATE SET high_water = excluded.high_water, updated_at = excluded.updated_at
WHERE excluded.high_water > atc_state.high_water AND excluded.high_water - atc_state.high_water <= CAST(? AS INTEGER)`,
		cred, int(atc), nanos(at), int(atc), window, cred, window)
	if err != nil {
		return false, 0, false, fmt.Errorf("store: raise ATC: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, 0, false, fmt.Errorf("store: raise ATC: %w", err)
	}
	if n == 1 {
		return true, atc, true, nil
	}
	hw, found, err = t.ATC(ctx, cred)
	return false, hw, found, err
}
