package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// ATC returns the high-water mark of the Application Transaction Counter
// seen for credential cred (a card or token reference) and whether one was
// recorded.
func (t *Tx) ATC(ctx context.Context, cred string) (uint16, bool, error) {
	var hw int64
	err := t.queryRow(ctx, `SELECT high_water FROM atc_state WHERE cred = ?`, cred).Scan(&hw)
	if err != nil {
		err = notFound(err, "ATC of "+cred)
		if isNotFound(err) {
			return 0, false, nil
		}
		return 0, false, err
	}
	return uint16(hw), true, nil
}

// RaiseATC moves the high-water mark of cred up to atc; a lower or equal
// value leaves it unchanged (it never goes back, R-G4).
func (t *Tx) RaiseATC(ctx context.Context, cred string, atc uint16, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO atc_state (cred, high_water, updated_at) VALUES (?, ?, ?)
ON CONFLICT (cred) DO UPDATE SET high_water = excluded.high_water, updated_at = excluded.updated_at
WHERE excluded.high_water > atc_state.high_water`, cred, int(atc), nanos(at))
	if err != nil {
		return fmt.Errorf("store: raise ATC: %w", err)
	}
	return nil
}

// CVC3Failures is the number of consecutive CVC3 failures of credential
// cred (a contactless mag-stripe mode card or token): 0 when none.
func (t *Tx) CVC3Failures(ctx context.Context, cred string) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT failures FROM cvc3_failures WHERE cred = ?`, cred).Scan(&n)
	if err != nil {
		err = notFound(err, "CVC3 failures of "+cred)
		if isNotFound(err) {
			return 0, nil
		}
		return 0, err
	}
	return n, nil
}

// CountCVC3Failure adds a CVC3 failure to cred's consecutive ones and
// returns their number.
func (t *Tx) CountCVC3Failure(ctx context.Context, cred string, at time.Time) (int, error) {
	if _, err := t.exec(ctx, `INSERT INTO cvc3_failures (cred, failures, updated_at) VALUES (?, 1, ?)
ON CONFLICT (cred) DO UPDATE SET failures = cvc3_failures.failures + 1, updated_at = excluded.updated_at`,
		cred, nanos(at)); err != nil {
		return 0, fmt.Errorf("store: count CVC3 failure: %w", err)
	}
	return t.CVC3Failures(ctx, cred)
}

// ClearCVC3Failures forgets cred's CVC3 failures: a CVC3 verified, or the
// issuer's service centre lifted the block.
func (t *Tx) ClearCVC3Failures(ctx context.Context, cred string) error {
	if _, err := t.exec(ctx, `DELETE FROM cvc3_failures WHERE cred = ?`, cred); err != nil {
		return fmt.Errorf("store: clear CVC3 failures: %w", err)
	}
	return nil
}

// cryptogramDigest is the name under which a used cryptogram is kept: a
// SHA-256 over the credential, the ATC and the cryptogram, so that no
// cryptogram is stored in clear.
func cryptogramDigest(cred string, atc uint16, ac []byte) string {
	h := sha256.New()
	h.Write([]byte("tapsim issuer used cryptogram\x00"))
	h.Write([]byte(cred))
	h.Write([]byte{0})
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], atc)
	h.Write(b[:])
	h.Write(ac)
	return hex.EncodeToString(h.Sum(nil))
}

// UseCryptogram records the application cryptogram ac of credential cred
// at atc as used and reports whether it was fresh; false means it had been
// presented before (a replay, R-G4) and nothing is written.
func (t *Tx) UseCryptogram(ctx context.Context, cred string, atc uint16, ac []byte, at time.Time) (bool, error) {
	if len(ac) == 0 {
		return false, fmt.Errorf("%w: empty cryptogram", ErrInvalid)
	}
	d := cryptogramDigest(cred, atc, ac)
	res, err := t.exec(ctx, `INSERT INTO used_cryptograms (digest, cred, atc, used_at) VALUES (?, ?, ?, ?)
ON CONFLICT (digest) DO NOTHING`, d, cred, int(atc), nanos(at))
	if err != nil {
		return false, fmt.Errorf("store: use cryptogram: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: use cryptogram: %w", err)
	}
	return n == 1, nil
}

// CryptogramUsed reports whether ac of cred at atc was recorded as used.
func (t *Tx) CryptogramUsed(ctx context.Context, cred string, atc uint16, ac []byte) (bool, error) {
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM used_cryptograms WHERE digest = ?`, cryptogramDigest(cred, atc, ac)).Scan(&n); err != nil {
		return false, fmt.Errorf("store: cryptogram used: %w", err)
	}
	return n > 0, nil
}
