package tsm

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"io"

	"github.com/tapsim/tapsim/hsm"
)

// errSealed reports a stored value that does not open.
var errSealed = errors.New("tsm: stored value does not open")

// sealAtRest enciphers plain under a fresh data key (AES-256-GCM), the
// data key itself sealed by the security module's DEK, which never leaves
// it: wrapped key length (2 bytes), wrapped key, nonce, ciphertext.
func sealAtRest(v hsm.Data, dek hsm.Handle, rnd io.Reader, plain, aad []byte) ([]byte, error) {
	k := make([]byte, 32)
	if _, err := io.ReadFull(rnd, k); err != nil {
		return nil, err
	}
	wrapped, err := v.EncryptData(dek, k, aad)
	if err != nil {
		return nil, err
	}
	b, _ := aes.NewCipher(k)
	g, _ := cipher.NewGCM(b)
	nonce := make([]byte, g.NonceSize())
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, err
	}
	out := append([]byte{byte(len(wrapped) >> 8), byte(len(wrapped))}, wrapped...)
	out = append(out, nonce...)
	return g.Seal(out, nonce, plain, aad), nil
}

func openAtRest(v hsm.Data, dek hsm.Handle, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 2 {
		return nil, errSealed
	}
	n := int(sealed[0])<<8 | int(sealed[1])
	if len(sealed) < 2+n+12 {
		return nil, errSealed
	}
	k, err := v.DecryptData(dek, sealed[2:2+n], aad)
	if err != nil || len(k) != 32 {
		return nil, errSealed
	}
	b, _ := aes.NewCipher(k)
	g, _ := cipher.NewGCM(b)
	rest := sealed[2+n:]
	return g.Open(nil, rest[:g.NonceSize()], rest[g.NonceSize():], aad)
}
