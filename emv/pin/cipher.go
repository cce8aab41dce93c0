package pin

import (
	"crypto/cipher"
	"fmt"
	"io"

	"github.com/tapsim/tapsim/emv/keys"
)

// tdesBlock returns the cipher of a PIN encryption key for formats 0-3: a
// double- or triple-length TDES key (single DES is not allowed for PINs).
func tdesBlock(k keys.Key) (cipher.Block, error) {
	if k.Alg() != keys.TDES || (k.Len() != 16 && k.Len() != 24) {
		return nil, fmt.Errorf("%w: formats 0-3 take a 16- or 24-byte TDES key, got %v", ErrKey, k)
	}
	return k.Block()
}

// aesBlock returns the cipher of a format 4 key: AES-128, -192 or -256.
func aesBlock(k keys.Key) (cipher.Block, error) {
	if k.Alg() != keys.AES {
		return nil, fmt.Errorf("%w: format 4 takes an AES key, got %v", ErrKey, k)
	}
	return k.Block()
}

// Encrypt enciphers a clear 8-byte PIN block (format 0, 1, 2 or 3) with a
// double- or triple-length TDES key in ECB mode, as ISO 9564-1 and ANSI
// X9.8 do.
func Encrypt(k keys.Key, clearBlock []byte) ([]byte, error) {
	c, err := tdesBlock(k)
	if err != nil {
		return nil, err
	}
	if len(clearBlock) != 8 {
		return nil, fmt.Errorf("%w: %d bytes, want 8", ErrBlock, len(clearBlock))
	}
	out := make([]byte, 8)
	c.Encrypt(out, clearBlock)
	return out, nil
}

// Decrypt deciphers an 8-byte PIN block enciphered by Encrypt and returns
// the clear block.
func Decrypt(k keys.Key, block []byte) ([]byte, error) {
	c, err := tdesBlock(k)
	if err != nil {
		return nil, err
	}
	if len(block) != 8 {
		return nil, fmt.Errorf("%w: %d bytes, want 8", ErrBlock, len(block))
	}
	out := make([]byte, 8)
	c.Decrypt(out, block)
	return out, nil
}

// EncipherFormat4 builds and enciphers an ISO 9564-1:2017 format 4 PIN
// block under the AES key k: block A = AES(k, plain-text PIN field), block
// B = A XOR PAN field, result = AES(k, B). The 8 random bytes of the PIN
// field come from rnd (crypto/rand when nil).
func EncipherFormat4(k keys.Key, pinDigits, pan string, rnd io.Reader) ([]byte, error) {
	c, err := aesBlock(k)
	if err != nil {
		return nil, err
	}
	panField, err := PANField(Format4, pan)
	if err != nil {
		return nil, err
	}
	field, err := PINField(Format4, pinDigits, rnd)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 16)
	c.Encrypt(out, field)
	for i := range out {
		out[i] ^= panField[i]
	}
	c.Encrypt(out, out)
	return out, nil
}

// DecipherFormat4 reverses EncipherFormat4: it deciphers the 16-byte block
// under k, removes the PAN field, deciphers again and decodes the
// plain-text PIN field (control field 4, PIN length, digits, fill A).
func DecipherFormat4(k keys.Key, block []byte, pan string) (string, error) {
	field, err := decipherFormat4Field(k, block, pan)
	if err != nil {
		return "", err
	}
	return decodeField(Format4, field)
}

func decipherFormat4Field(k keys.Key, block []byte, pan string) ([]byte, error) {
	c, err := aesBlock(k)
	if err != nil {
		return nil, err
	}
	if len(block) != 16 {
		return nil, fmt.Errorf("%w: %d bytes, want 16", ErrBlock, len(block))
	}
	panField, err := PANField(Format4, pan)
	if err != nil {
		return nil, err
	}
	field := make([]byte, 16)
	c.Decrypt(field, block)
	for i := range field {
		field[i] ^= panField[i]
	}
	c.Decrypt(field, field)
	return field, nil
}

// Translate deciphers an enciphered PIN block of format from under fromKey,
// recovers the PIN and enciphers it again as format to under toKey, drawing
// fresh fill from crypto/rand. It is TranslateRand with a nil reader.
func Translate(block []byte, fromKey, toKey keys.Key, from, to Format, pan string) ([]byte, error) {
	return TranslateRand(block, fromKey, toKey, from, to, pan, nil)
}

// TranslateRand is Translate with the fill drawn from rnd. Formats 0, 1 and
// 3 use TDES keys, format 4 an AES key. Following ISO 9564 and ANSI X9.8, a
// block bound to the PAN (formats 0, 3, 4) is never translated to format 1,
// and format 2 is not translated at all (ErrTranslation). pan is the
// account the block is bound to; it is ignored when neither format uses it.
func TranslateRand(block []byte, fromKey, toKey keys.Key, from, to Format, pan string, rnd io.Reader) ([]byte, error) {
	for _, f := range []Format{from, to} {
		if !f.valid() {
			return nil, fmt.Errorf("%w: %v", ErrFormat, f)
		}
		if f == Format2 {
			return nil, fmt.Errorf("%w: format 2 is for IC cards only", ErrTranslation)
		}
	}
	if from.UsesPAN() && !to.UsesPAN() {
		return nil, fmt.Errorf("%w: %v is bound to the PAN, %v is not", ErrTranslation, from, to)
	}
	var p string
	var err error
	if from == Format4 {
		p, err = DecipherFormat4(fromKey, block, pan)
	} else {
		var clear []byte
		if clear, err = Decrypt(fromKey, block); err == nil {
			p, err = Decode(from, clear, pan)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pin: translate from %v: %w", from, err)
	}
	var out []byte
	if to == Format4 {
		out, err = EncipherFormat4(toKey, p, pan, rnd)
	} else {
		var clear []byte
		if clear, err = Encode(to, p, pan, rnd); err == nil {
			out, err = Encrypt(toKey, clear)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pin: translate to %v: %w", to, err)
	}
	return out, nil
}
