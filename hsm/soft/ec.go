package soft

import (
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/hsm"
)

var _ hsm.ECKeys = (*HSM)(nil)

// algP256 is the algorithm name of a key pair's keystore record, whose
// wrapped secret is the 32-byte private scalar.
const algP256 = "P-256"

// p256KCV is the check value of a key pair: the first five bytes of the
// public key's RFC 7638 thumbprint in upper-case hex, and the thumbprint
// itself in base64url (the JOSE kid) for the audit log.
func p256KCV(pub *ecdh.PublicKey) (kcv, kid string, err error) {
	epub, err := toECDSA(pub)
	if err != nil {
		return "", "", err
	}
	tp, err := devicekey.Thumbprint(epub)
	if err != nil {
		return "", "", err
	}
	return strings.ToUpper(hex.EncodeToString(tp[:5])), base64.RawURLEncoding.EncodeToString(tp), nil
}

func toECDSA(pub *ecdh.PublicKey) (*ecdsa.PublicKey, error) {
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub.Bytes())
}

// drawP256 draws a private scalar from rnd by rejection sampling: the
// standard library's key generation ignores an injected source, and tests
// need deterministic keys.
func drawP256(rnd io.Reader) (*ecdh.PrivateKey, error) {
	b := make([]byte, 32)
	defer clear(b)
	for range 64 {
		if _, err := io.ReadFull(rnd, b); err != nil {
			return nil, fmt.Errorf("soft: random source: %w", err)
		}
		if k, err := ecdh.P256().NewPrivateKey(b); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("soft: random source gives no valid P-256 scalar")
}

// openP256 recovers the key pair of a record and checks its check value.
func (r record) openP256(aead cipher.AEAD, usage hsm.Usage) (*entry, error) {
	if !usage.P256() || r.Alg != algP256 || r.Length != 32 {
		return nil, errors.New("key pair record with a wrong usage, algorithm or length")
	}
	if r.ID == "" || checkLabel(r.Label) != nil {
		return nil, errors.New("missing ID or bad label")
	}
	plain, err := r.unseal(aead)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	k, err := ecdh.P256().NewPrivateKey(plain)
	if err != nil {
		return nil, errors.New("not a P-256 scalar")
	}
	kcv, _, err := p256KCV(k.PublicKey())
	if err != nil || kcv != r.KCV {
		return nil, errors.New("check value does not match")
	}
	h := hsm.Handle{ID: r.ID, Label: r.Label, Usage: usage, Len: 32, KCV: r.KCV}
	return &entry{h: h, ec: k, rec: r}, nil
}

// GenerateP256 draws a P-256 key pair inside the module (R-G5a) and
// stores it, sealed under the LMK like every key. The audit line names
// the key and its public key's thumbprint.
func (s *HSM) GenerateP256(label string, usage hsm.Usage) (hsm.Handle, *ecdsa.PublicKey, error) {
	const op = "generate-p256"
	var kid string
	h, pub, err := func() (hsm.Handle, *ecdsa.PublicKey, error) {
		if err := checkLabel(label); err != nil {
			return hsm.Handle{}, nil, err
		}
		if !usage.P256() {
			return hsm.Handle{}, nil, fmt.Errorf("%w: %s: %s is not a key pair usage (want %s or %s)", hsm.ErrUsage, op, usage, hsm.UsageECSign, hsm.UsageECDH)
		}
		k, err := drawP256(s.rnd)
		if err != nil {
			return hsm.Handle{}, nil, err
		}
		var kcv string
		if kcv, kid, err = p256KCV(k.PublicKey()); err != nil {
			return hsm.Handle{}, nil, fmt.Errorf("soft: %s: %w", op, err)
		}
		id, err := s.newID()
		if err != nil {
			return hsm.Handle{}, nil, err
		}
		h := hsm.Handle{ID: id, Label: label, Usage: usage, Len: 32, KCV: kcv}
		raw := k.Bytes()
		defer clear(raw)
		rec, err := sealRaw(s.lmk, h, algP256, raw, s.now().UTC(), s.rnd)
		if err != nil {
			return hsm.Handle{}, nil, err
		}
		if err := s.insert(&entry{h: h, ec: k, rec: rec}); err != nil {
			return hsm.Handle{}, nil, err
		}
		pub, err := toECDSA(k.PublicKey())
		if err != nil {
			return hsm.Handle{}, nil, fmt.Errorf("soft: %s: %w", op, err)
		}
		return h, pub, nil
	}()
	s.audit(op, err, append(newKeyAttrs(label, usage, h), kidAttr(kid))...)
	return h, pub, err
}

// kidAttr is a key pair's JWK thumbprint for the audit log.
func kidAttr(kid string) slog.Attr {
	if kid == "" {
		return slog.Attr{}
	}
	return slog.String("jwk_thumbprint", kid)
}

// usePair resolves a key pair of one of the usages want.
func (s *HSM) usePair(op string, h hsm.Handle, want ...hsm.Usage) (*entry, error) {
	e, err := s.use(op, h, want...)
	if err != nil {
		return e, err
	}
	if e.ec == nil {
		return e, fmt.Errorf("%w: %s: %q is not a key pair", hsm.ErrKeyType, op, e.h.Label)
	}
	return e, nil
}

// PublicP256 is the public key of a key pair of either usage.
func (s *HSM) PublicP256(h hsm.Handle) (*ecdsa.PublicKey, error) {
	const op = "public-p256"
	e, err := s.usePair(op, h, hsm.UsageECSign, hsm.UsageECDH)
	var pub *ecdsa.PublicKey
	if err == nil {
		if pub, err = toECDSA(e.ec.PublicKey()); err != nil {
			err = fmt.Errorf("soft: %s: %w", op, err)
		}
	}
	s.debug(op, err, entryAttr("key", e))
	return pub, err
}

// SignES256 signs a SHA-256 digest with a UsageECSign key pair: r || s,
// 32 bytes each. The signature's nonce is drawn from the module's random
// source.
func (s *HSM) SignES256(h hsm.Handle, digest []byte) ([]byte, error) {
	const op = "sign-es256"
	var e *entry
	sig, err := func() ([]byte, error) {
		var err error
		if e, err = s.usePair(op, h, hsm.UsageECSign); err != nil {
			return nil, err
		}
		if len(digest) != sha256.Size {
			return nil, fmt.Errorf("%w: %s: a SHA-256 digest is 32 bytes, got %d", hsm.ErrInput, op, len(digest))
		}
		raw := e.ec.Bytes()
		defer clear(raw)
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("soft: %s: key pair unusable", op)
		}
		r, ss, err := ecdsa.Sign(s.rnd, k, digest)
		if err != nil {
			return nil, fmt.Errorf("soft: %s: %w", op, err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		ss.FillBytes(out[32:])
		return out, nil
	}()
	s.audit(op, err, entryAttr("key", e))
	return sig, err
}

// ECDH computes the shared secret Z with peer's public key using a
// UsageECDH key pair. The audit line names the key and the peer key's
// thumbprint.
func (s *HSM) ECDH(h hsm.Handle, peerKey *ecdsa.PublicKey) ([]byte, error) {
	const op = "ecdh"
	var (
		e    *entry
		peer string
	)
	z, err := func() ([]byte, error) {
		var err error
		if e, err = s.usePair(op, h, hsm.UsageECDH); err != nil {
			return nil, err
		}
		if peerKey == nil {
			return nil, fmt.Errorf("%w: %s: no peer key", hsm.ErrInput, op)
		}
		tp, err := devicekey.Thumbprint(peerKey)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: the peer key is not a P-256 public key", hsm.ErrInput, op)
		}
		peer = base64.RawURLEncoding.EncodeToString(tp)
		pk, err := peerKey.ECDH()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: the peer key is not a P-256 public key", hsm.ErrInput, op)
		}
		z, err := e.ec.ECDH(pk)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: key agreement failed", hsm.ErrInput, op)
		}
		return z, nil
	}()
	s.audit(op, err, entryAttr("key", e), slog.String("peer_key", peer))
	return z, err
}

// ImportP256 stores a P-256 key pair made outside, as a key ceremony
// does: to move a party's keys from a key file into the module. The key
// is checked to be on P-256; the audit line names it by its thumbprint.
func (s *HSM) ImportP256(label string, usage hsm.Usage, key *ecdsa.PrivateKey) (hsm.Handle, error) {
	const op = "import-p256"
	var kid string
	h, err := func() (hsm.Handle, error) {
		if err := checkLabel(label); err != nil {
			return hsm.Handle{}, err
		}
		if !usage.P256() {
			return hsm.Handle{}, fmt.Errorf("%w: %s: %s is not a key pair usage (want %s or %s)", hsm.ErrUsage, op, usage, hsm.UsageECSign, hsm.UsageECDH)
		}
		if key == nil || key.Curve != elliptic.P256() {
			return hsm.Handle{}, fmt.Errorf("%w: %s: not a P-256 private key", hsm.ErrKeyType, op)
		}
		k, err := key.ECDH()
		if err != nil {
			return hsm.Handle{}, fmt.Errorf("%w: %s: not a P-256 private key", hsm.ErrKeyType, op)
		}
		var kcv string
		if kcv, kid, err = p256KCV(k.PublicKey()); err != nil {
			return hsm.Handle{}, fmt.Errorf("soft: %s: %w", op, err)
		}
		id, err := s.newID()
		if err != nil {
			return hsm.Handle{}, err
		}
		h := hsm.Handle{ID: id, Label: label, Usage: usage, Len: 32, KCV: kcv}
		raw := k.Bytes()
		defer clear(raw)
		rec, err := sealRaw(s.lmk, h, algP256, raw, s.now().UTC(), s.rnd)
		if err != nil {
			return hsm.Handle{}, err
		}
		if err := s.insert(&entry{h: h, ec: k, rec: rec}); err != nil {
			return hsm.Handle{}, err
		}
		return h, nil
	}()
	s.audit(op, err, append(newKeyAttrs(label, usage, h), kidAttr(kid))...)
	return h, err
}
