package store

import (
	"context"
	"fmt"
	"time"
)

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
