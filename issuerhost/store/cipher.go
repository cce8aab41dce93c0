package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

// Errors of the encryption at rest.
var (
	// ErrNoCipher reports a card or token read or written by a store that
	// was given no Cipher: PANs and token numbers are never kept in clear.
	ErrNoCipher = errors.New("store: no data cipher (cards and tokens are encrypted at rest)")
	// ErrDataKeys reports a Cipher whose keys are not those the store's
	// cards and tokens were encrypted under.
	ErrDataKeys = errors.New("store: data keys do not match the database")
	// ErrTampered reports a stored value that fails its integrity check:
	// altered in the database, moved to another row, or encrypted under
	// another key. It also wraps the cipher's own error (hsm.ErrDecrypt).
	ErrTampered = errors.New("store: encrypted value failed its integrity check")
)

// Cipher protects the sensitive columns of the card store and the token
// vault: PANs and token numbers, expiry dates and PIN verification values
// are sealed (Seal, Open: authenticated encryption, so that an altered
// value is an error and never a wrong value) and PANs and token numbers
// are found again through a keyed hash (Index) rather than in clear. The
// keys stay in the security module: HSMCipher is the Cipher of this
// product.
type Cipher interface {
	// Seal encrypts plain, bound to aad (the table, row and column).
	Seal(plain, aad []byte) ([]byte, error)
	// Open decrypts what Seal made with the same aad.
	Open(sealed, aad []byte) ([]byte, error)
	// Index is a keyed hash of a PAN or token number: equal numbers give
	// equal indexes, and nobody without the key can compute one.
	Index(number []byte) ([]byte, error)
	// KeyID names the keys by their check values, never their values. The
	// store records it and refuses a Cipher with other keys (ErrDataKeys).
	KeyID() string
}

// The labels of the issuer's data keys in the security module.
const (
	// DataKeyLabel is the data-encryption key (AES-256, hsm.UsageDEK).
	DataKeyLabel = "issuer/dek"
	// IndexKeyLabel is the keyed-hash key of the PAN index (HMAC-SHA-256,
	// hsm.UsageDataHash).
	IndexKeyLabel = "issuer/pan-hmac"
)

// DataHSM is the part of the security module an HSMCipher uses.
type DataHSM interface {
	EncryptData(dek hsm.Handle, plain, aad []byte) ([]byte, error)
	DecryptData(dek hsm.Handle, sealed, aad []byte) ([]byte, error)
	HashData(key hsm.Handle, data []byte) ([]byte, error)
}

// DataKeyHSM is a security module that can also find and make the data
// keys.
type DataKeyHSM interface {
	DataHSM
	List() ([]hsm.Handle, error)
	GenerateKey(label string, usage hsm.Usage, alg keys.Alg, n int) (hsm.Handle, error)
}

// hsmCipher is a Cipher on a security module: the keys never leave it.
type hsmCipher struct {
	m        DataHSM
	dek, idx hsm.Handle
}

// NewHSMCipher is the Cipher of the data-encryption key dek and the
// keyed-hash key idx held in m.
func NewHSMCipher(m DataHSM, dek, idx hsm.Handle) (Cipher, error) {
	if dek.Usage != hsm.UsageDEK || idx.Usage != hsm.UsageDataHash {
		return nil, fmt.Errorf("%w: data keys %s and %s: want a %s and a %s key", ErrInvalid, dek, idx, hsm.UsageDEK, hsm.UsageDataHash)
	}
	return &hsmCipher{m: m, dek: dek, idx: idx}, nil
}

// HSMCipher is the Cipher of the data keys labelled DataKeyLabel and
// IndexKeyLabel in m; they are generated inside the module (AES-256 and a
// 32-byte HMAC key) when m holds neither yet. One without the other is an
// error: the data of the store would be lost.
func HSMCipher(m DataKeyHSM) (Cipher, error) {
	// The keys are found by listing, so that a first start (no keys yet)
	// logs no refused look-up.
	all, err := m.List()
	if err != nil {
		return nil, fmt.Errorf("store: data keys: %w", err)
	}
	var dek, idx hsm.Handle
	for _, h := range all {
		switch h.Label {
		case DataKeyLabel:
			dek = h
		case IndexKeyLabel:
			idx = h
		}
	}
	switch {
	case !dek.IsZero() && !idx.IsZero():
	case dek.IsZero() && idx.IsZero():
		if dek, err = m.GenerateKey(DataKeyLabel, hsm.UsageDEK, keys.AES, 32); err != nil {
			return nil, fmt.Errorf("store: data-encryption key: %w", err)
		}
		if idx, err = m.GenerateKey(IndexKeyLabel, hsm.UsageDataHash, keys.AES, 32); err != nil {
			return nil, fmt.Errorf("store: index key: %w", err)
		}
	default:
		return nil, fmt.Errorf("%w: the security module holds only one of %q and %q", ErrDataKeys, DataKeyLabel, IndexKeyLabel)
	}
	return NewHSMCipher(m, dek, idx)
}

func (c *hsmCipher) Seal(plain, aad []byte) ([]byte, error) {
	return c.m.EncryptData(c.dek, plain, aad)
}
func (c *hsmCipher) Open(sealed, aad []byte) ([]byte, error) {
	return c.m.DecryptData(c.dek, sealed, aad)
}
func (c *hsmCipher) Index(n []byte) ([]byte, error) { return c.m.HashData(c.idx, n) }
func (c *hsmCipher) KeyID() string {
	return fmt.Sprintf("DEK KCV %s, index key KCV %s", c.dek.KCV, c.idx.KCV)
}

// dataKeysKey is the setting that records the KeyID of the store's
// Cipher.
const dataKeysKey = "data_keys"

// SetCipher gives the store the Cipher of its cards and tokens, when it
// was opened without one. The first Cipher a database sees is recorded
// (by check values); a later one with other keys is ErrDataKeys.
func (s *DB) SetCipher(ctx context.Context, c Cipher) error {
	if c == nil {
		return fmt.Errorf("%w: nil cipher", ErrInvalid)
	}
	if err := s.Update(ctx, func(t *Tx) error { return t.checkKeys(ctx, c) }); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cipher = c
	return nil
}

// checkKeys records c's KeyID in a new database and compares it otherwise.
func (t *Tx) checkKeys(ctx context.Context, c Cipher) error {
	v, ok, err := t.Meta(ctx, dataKeysKey)
	if err != nil {
		return err
	}
	if ok {
		if v != c.KeyID() {
			return fmt.Errorf("%w: its cards and tokens are encrypted under %s, the security module offers %s", ErrDataKeys, v, c.KeyID())
		}
		return nil
	}
	if _, err := t.exec(ctx, `INSERT INTO meta (k, v) VALUES (?, ?)`, dataKeysKey, c.KeyID()); err != nil {
		return fmt.Errorf("store: record data keys: %w", err)
	}
	return nil
}

// aad binds a sealed value to its table, row and column, so that a value
// copied to another row or column does not open.
func aad(table, id, column string) []byte {
	return []byte("tapsim-issuer\x00" + table + "\x00" + id + "\x00" + column)
}

// sealField encrypts one column of one row, as hex text.
func (t *Tx) sealField(table, id, column, plain string) (string, error) {
	if t.c == nil {
		return "", ErrNoCipher
	}
	b, err := t.c.Seal([]byte(plain), aad(table, id, column))
	if err != nil {
		return "", fmt.Errorf("store: encrypt %s %s %s: %w", table, id, column, err)
	}
	return hex.EncodeToString(b), nil
}

// openField decrypts one column of one row; anything altered is
// ErrTampered.
func (t *Tx) openField(table, id, column, sealed string) (string, error) {
	if t.c == nil {
		return "", ErrNoCipher
	}
	b, err := hex.DecodeString(sealed)
	if err != nil {
		return "", fmt.Errorf("%w: %s %s %s: not hex", ErrTampered, table, id, column)
	}
	plain, err := t.c.Open(b, aad(table, id, column))
	if err != nil {
		return "", fmt.Errorf("%w: %s %s %s: %w", ErrTampered, table, id, column, err)
	}
	return string(plain), nil
}

// index is the keyed hash of a PAN or token number, as hex text.
func (t *Tx) index(number string) (string, error) {
	if t.c == nil {
		return "", ErrNoCipher
	}
	if t.indexOf != "" && t.indexed == number {
		return t.indexOf, nil
	}
	b, err := t.c.Index([]byte(number))
	if err != nil {
		return "", fmt.Errorf("store: index: %w", err)
	}
	t.indexed, t.indexOf = number, hex.EncodeToString(b)
	return t.indexOf, nil
}
