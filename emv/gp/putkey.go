package gp

import (
	"bytes"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/scp03"
)

// PutKeyP2 is the P2 of a PUT KEY that carries a whole SCP03 key set: key
// identifier 1 (K-ENC, then K-MAC '02' and K-DEK '03') with b8 set,
// several keys.
const PutKeyP2 byte = 0x81

// kcv is the GlobalPlatform check value of an AES key: the first 3 bytes of
// AES(key, 16 bytes '01').
func kcv(k keys.Key) ([]byte, error) {
	v, err := k.KCVWith(keys.KCVOnes)
	if err != nil {
		return nil, fmt.Errorf("gp: key check value: %w", err)
	}
	return v[:3], nil
}

// KeySetKCVs returns the check values of K-ENC, K-MAC and K-DEK, 3 bytes
// each, as a PUT KEY response carries them after the key version.
func KeySetKCVs(ks scp03.StaticKeys) ([]byte, error) {
	var out []byte
	for _, k := range []keys.Key{ks.ENC, ks.MAC, ks.DEK} {
		v, err := kcv(k)
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}

func checkSetKey(k keys.Key) error {
	if k.Alg() != keys.AES || (k.Len() != 16 && k.Len() != 32) {
		return fmt.Errorf("%w: PUT KEY takes AES-128 or AES-256 keys", ErrParam)
	}
	return nil
}

// PutKeyCmd builds PUT KEY (80 D8) of a new SCP03 key set with version
// newKVN: P1 oldKVN, the key set it replaces ('00' adds a key set), P2
// PutKeyP2. Each key travels enciphered under dek (the K-DEK of the session's
// Security Domain; AES-CBC, zero ICV) as type '88', length, key length,
// enciphered key, then its check value ('03' and 3 bytes).
func PutKeyCmd(oldKVN, newKVN byte, dek keys.Key, ks scp03.StaticKeys) ([]byte, error) {
	d, err := putKeyData(newKVN, dek, ks)
	if err != nil {
		return nil, err
	}
	return command(ClaGP, InsPutKey, oldKVN, PutKeyP2, d, true)
}

// putKeyData is the data of a PUT KEY of ks as version newKVN, each key
// enciphered under dek.
func putKeyData(newKVN byte, dek keys.Key, ks scp03.StaticKeys) ([]byte, error) {
	if newKVN == 0 || newKVN == 0xFF {
		return nil, fmt.Errorf("%w: key version %02X", ErrParam, newKVN)
	}
	if dek.Alg() != keys.AES {
		return nil, fmt.Errorf("%w: the DEK must be an AES key", ErrParam)
	}
	d := []byte{newKVN}
	for _, k := range []keys.Key{ks.ENC, ks.MAC, ks.DEK} {
		if err := checkSetKey(k); err != nil {
			return nil, err
		}
		enc, err := dek.EncryptCBC(make([]byte, 16), k.Bytes())
		if err != nil {
			return nil, fmt.Errorf("gp: PUT KEY: %w", err)
		}
		v, err := kcv(k)
		if err != nil {
			return nil, err
		}
		d = append(d, KeyTypeAES, byte(1+len(enc)), byte(k.Len()))
		d = append(d, enc...)
		d = append(d, KeyTypeKCV3)
		d = append(d, v...)
	}
	return d, nil
}

// ParsePutKey is the card's reading of a PUT KEY data field for P2
// PutKeyP2: it deciphers the three keys under dek and checks each one's
// check value (ErrKCV). It returns the new key version and key set.
func ParsePutKey(p2 byte, data []byte, dek keys.Key) (byte, scp03.StaticKeys, error) {
	if p2 != PutKeyP2 {
		return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY P2 %02X (only a whole key set, %02X)", ErrParam, p2, PutKeyP2)
	}
	if len(data) < 1 {
		return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY without data", ErrMalformed)
	}
	kvn, b := data[0], data[1:]
	if kvn == 0 || kvn == 0xFF {
		return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY new key version %02X", ErrMalformed, kvn)
	}
	var got [3]keys.Key
	for i := range got {
		if len(b) < 3 || b[0] != KeyTypeAES {
			return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY key %d", ErrMalformed, i+1)
		}
		l, kl := int(b[1]), int(b[2])
		if l < 1 || len(b) < 2+l+4 || (kl != 16 && kl != 32) || l-1 != kl {
			return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY key %d length", ErrMalformed, i+1)
		}
		clear, err := dek.DecryptCBC(make([]byte, 16), b[3:2+l])
		if err != nil {
			return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY key %d: %w", ErrMalformed, i+1, err)
		}
		k, err := keys.New(keys.AES, clear)
		if err != nil {
			return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY key %d", ErrMalformed, i+1)
		}
		rest := b[2+l:]
		if rest[0] != KeyTypeKCV3 {
			return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY key %d check value", ErrMalformed, i+1)
		}
		want, err := kcv(k)
		if err != nil {
			return 0, scp03.StaticKeys{}, err
		}
		if !mac.Equal(want, rest[1:4]) {
			return 0, scp03.StaticKeys{}, fmt.Errorf("%w: key %d", ErrKCV, i+1)
		}
		got[i] = k
		b = rest[4:]
	}
	if len(b) != 0 {
		return 0, scp03.StaticKeys{}, fmt.Errorf("%w: %d bytes after the key set", ErrMalformed, len(b))
	}
	return kvn, scp03.StaticKeys{ENC: got[0], MAC: got[1], DEK: got[2]}, nil
}

// CheckPutKeyResponse checks a PUT KEY response data field: the new key
// version then the three check values of ks.
func CheckPutKeyResponse(resp []byte, kvn byte, ks scp03.StaticKeys) error {
	want, err := KeySetKCVs(ks)
	if err != nil {
		return err
	}
	if len(resp) != 1+len(want) || resp[0] != kvn || !bytes.Equal(resp[1:], want) {
		return fmt.Errorf("%w: PUT KEY response", ErrKCV)
	}
	return nil
}
