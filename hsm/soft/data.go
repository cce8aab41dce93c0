package soft

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"

	"github.com/tapsim/tapsim/hsm"
)

// The sealed form EncryptData returns: nonce, ciphertext, tag.
const (
	dataNonceLen = 12
	dataTagLen   = 16
	// MaxData is the largest value EncryptData and HashData take: the
	// module protects fields (PANs, dates, PVVs), not files.
	MaxData = 4096
)

// dataAEAD returns the AES-GCM of the data-encryption key e, made once.
func dataAEAD(op string, e *entry) (cipher.AEAD, error) {
	if a := e.aead.Load(); a != nil {
		return *a, nil
	}
	b, err := aes.NewCipher(e.key.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", hsm.ErrKeyType, op, err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	e.aead.Store(&a)
	return a, nil
}

// EncryptData seals plain under a DEK with AES-GCM and a fresh nonce.
func (s *HSM) EncryptData(dek hsm.Handle, plain, aad []byte) ([]byte, error) {
	const op = "encrypt-data"
	var e *entry
	out, err := func() ([]byte, error) {
		var err error
		if e, err = s.use(op, dek, hsm.UsageDEK); err != nil {
			return nil, err
		}
		if len(plain) > MaxData || len(aad) > MaxData {
			return nil, fmt.Errorf("%w: %s: at most %d bytes", hsm.ErrInput, op, MaxData)
		}
		aead, err := dataAEAD(op, e)
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, dataNonceLen, dataNonceLen+len(plain)+dataTagLen)
		if _, err := io.ReadFull(s.rnd, nonce); err != nil {
			return nil, fmt.Errorf("soft: random source: %w", err)
		}
		return aead.Seal(nonce, nonce, plain, aad), nil
	}()
	s.debug(op, err, entryAttr("key", e), slog.Int("bytes", len(plain)))
	return out, err
}

// DecryptData opens a value EncryptData sealed; anything altered is
// hsm.ErrDecrypt.
func (s *HSM) DecryptData(dek hsm.Handle, sealed, aad []byte) ([]byte, error) {
	const op = "decrypt-data"
	var e *entry
	out, err := func() ([]byte, error) {
		var err error
		if e, err = s.use(op, dek, hsm.UsageDEK); err != nil {
			return nil, err
		}
		if len(sealed) < dataNonceLen+dataTagLen || len(sealed) > MaxData+dataNonceLen+dataTagLen {
			return nil, fmt.Errorf("%w: %s: sealed value of %d bytes", hsm.ErrDecrypt, op, len(sealed))
		}
		aead, err := dataAEAD(op, e)
		if err != nil {
			return nil, err
		}
		plain, err := aead.Open(nil, sealed[:dataNonceLen], sealed[dataNonceLen:], aad)
		if err != nil {
			return nil, fmt.Errorf("%w: %s under %q", hsm.ErrDecrypt, op, e.h.Label)
		}
		return plain, nil
	}()
	s.debug(op, err, entryAttr("key", e), slog.Int("bytes", len(sealed)))
	return out, err
}

// HashData is HMAC-SHA-256 of data under a keyed-hash key.
func (s *HSM) HashData(key hsm.Handle, data []byte) ([]byte, error) {
	const op = "hash-data"
	var e *entry
	out, err := func() ([]byte, error) {
		var err error
		if e, err = s.use(op, key, hsm.UsageDataHash); err != nil {
			return nil, err
		}
		if len(data) > MaxData {
			return nil, fmt.Errorf("%w: %s: at most %d bytes", hsm.ErrInput, op, MaxData)
		}
		m := hmac.New(sha256.New, e.key.Bytes())
		m.Write(data)
		return m.Sum(nil), nil
	}()
	s.debug(op, err, entryAttr("key", e), slog.Int("bytes", len(data)))
	return out, err
}
