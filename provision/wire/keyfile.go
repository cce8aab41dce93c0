package wire

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// PEM block type and headers of a party key file.
const (
	// PEMTypePartyKey is the type of each of the two PEM blocks of a party
	// key file: a PKCS #8 P-256 private key.
	PEMTypePartyKey = "PRIVATE KEY"
	// PEMHeaderParty names the party in each block.
	PEMHeaderParty = "Party"
	// PEMHeaderUse is the key's use in each block: UseSign or UseEnc.
	PEMHeaderUse = "Use"
)

// MaxKeyFile bounds a party key file or a directory file read from disk.
const MaxKeyFile = 64 << 10

// MarshalPEM writes the party's private keys as a party key file: two PEM
// blocks of type PEMTypePartyKey (PKCS #8), the signing key first, each
// with the headers Party (its name) and Use (sig or enc). The result holds
// private keys: keep it in a file of mode 0600 (WriteFile). A party whose
// keys a security module holds has no key file (ErrKey).
func (p *Party) MarshalPEM() ([]byte, error) {
	if p.hsm != nil {
		return nil, fmt.Errorf("%w: party %s: its keys are held in a security module and never leave it", ErrKey, p.Name())
	}
	var out bytes.Buffer
	for _, k := range []struct {
		use string
		key *ecdsa.PrivateKey
	}{{UseSign, p.sign}, {UseEnc, p.enc}} {
		der, err := x509.MarshalPKCS8PrivateKey(k.key)
		if err != nil {
			return nil, fmt.Errorf("%w: party %s: key does not marshal", ErrKey, p.Name())
		}
		b := &pem.Block{Type: PEMTypePartyKey, Headers: map[string]string{PEMHeaderParty: p.Name(), PEMHeaderUse: k.use}, Bytes: der}
		if err := pem.Encode(&out, b); err != nil {
			return nil, fmt.Errorf("%w: party %s: key does not encode", ErrKey, p.Name())
		}
	}
	return out.Bytes(), nil
}

// ParsePartyPEM reads a party key file (MarshalPEM): exactly two blocks,
// one per use, both naming the same party, each a P-256 PKCS #8 key, the
// two keys distinct, nothing else in the file. Errors wrap ErrKey and
// carry no key material.
func ParsePartyPEM(b []byte) (*Party, error) {
	if len(b) > MaxKeyFile {
		return nil, fmt.Errorf("%w: party key file longer than %d bytes", ErrKey, MaxKeyFile)
	}
	var (
		name      string
		sign, enc *ecdsa.PrivateKey
	)
	rest := b
	for n := 0; ; n++ {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if n >= 2 {
			return nil, fmt.Errorf("%w: party key file: more than two keys", ErrKey)
		}
		if blk.Type != PEMTypePartyKey {
			return nil, fmt.Errorf("%w: party key file: block %d is not a %s", ErrKey, n+1, PEMTypePartyKey)
		}
		who := blk.Headers[PEMHeaderParty]
		if err := checkName(who); err != nil {
			return nil, fmt.Errorf("%w: party key file: block %d names no valid party", ErrKey, n+1)
		}
		if name != "" && who != name {
			return nil, fmt.Errorf("%w: party key file: the two keys name different parties", ErrKey)
		}
		name = who
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: party key file: block %d is no PKCS #8 key", ErrKey, n+1)
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: party key file: block %d is not an EC key", ErrKey, n+1)
		}
		if err := checkCurve(&ek.PublicKey); err != nil {
			return nil, fmt.Errorf("party key file: block %d: %w", n+1, err)
		}
		switch blk.Headers[PEMHeaderUse] {
		case UseSign:
			if sign != nil {
				return nil, fmt.Errorf("%w: party key file: two signing keys", ErrKey)
			}
			sign = ek
		case UseEnc:
			if enc != nil {
				return nil, fmt.Errorf("%w: party key file: two encryption keys", ErrKey)
			}
			enc = ek
		default:
			return nil, fmt.Errorf("%w: party key file: block %d has no use (sig or enc)", ErrKey, n+1)
		}
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: party key file: data that is not a PEM block", ErrKey)
	}
	if sign == nil || enc == nil {
		return nil, fmt.Errorf("%w: party key file: a signing and an encryption key are required", ErrKey)
	}
	return NewPartyFromKeys(name, sign, enc)
}

// ErrKeyFileMode reports a party key file that others than its owner may
// read or write.
var ErrKeyFileMode = errors.New("wire: key file readable by others")

// WriteFile writes the party key file (MarshalPEM) to path with mode
// 0600. An existing file is kept (fs.ErrExist) unless overwrite.
func (p *Party) WriteFile(path string, overwrite bool) error {
	b, err := p.MarshalPEM()
	if err != nil {
		return err
	}
	return writeFile(path, b, 0o600, overwrite)
}

// LoadParty reads the party key file at path. A file others may read or
// write (mode bits beyond 0600) is refused with ErrKeyFileMode, as ssh
// refuses such a key.
func LoadParty(path string) (*Party, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: party key file: %w", ErrConfig, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o, want 0600", ErrKeyFileMode, filepath.Base(path), fi.Mode().Perm())
	}
	b, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	p, err := ParsePartyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return p, nil
}

// WriteTrustFile writes the trust list (MarshalJSON) to path with mode
// 0644: it holds public keys only. An existing file is kept (fs.ErrExist)
// unless overwrite.
func WriteTrustFile(path string, t *TrustList, overwrite bool) error {
	b, err := t.MarshalJSON()
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'), 0o644, overwrite)
}

// LoadTrustList reads a trust list file (ParseTrustList).
func LoadTrustList(path string) (*TrustList, error) {
	b, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	t, err := ParseTrustList(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return t, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, filepath.Base(path), err)
	}
	if len(b) > MaxKeyFile {
		return nil, fmt.Errorf("%w: %s is longer than %d bytes", ErrKey, filepath.Base(path), MaxKeyFile)
	}
	return b, nil
}

func writeFile(path string, b []byte, mode fs.FileMode, overwrite bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !overwrite {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, mode)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := f.Chmod(mode); err != nil {
		_ = f.Close()
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}
