package gp

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

// Confidential key setup, tapsim's model of GlobalPlatform's (Card
// Specification Amendment A): the SE holds a static P-256 key-agreement
// key pair from its manufacture, certified by an authority the service
// providers trust; a provider that rotates an SSD's keys sends the new set
// enciphered under a key derived from an ephemeral key pair of its own and
// the SE's static public key, so that whoever knows the SSD's previous
// keys, and relayed the session, still cannot read the new ones (R-M2).
// The certificate and the derivation are this model's, not a published
// format.

// ErrCertificate reports an SE certificate its authority did not sign.
var ErrCertificate = errors.New("gp: SE certificate does not verify")

// TagSECertificate is the GET DATA tag of the SE's key-agreement
// certificate.
const TagSECertificate uint16 = 0x7F21

// KeyTypeAgreement marks, right after the new key version of a PUT KEY,
// the host's ephemeral P-256 public key (65 bytes, uncompressed): the keys
// that follow are enciphered under the agreed key instead of K-DEK.
const KeyTypeAgreement byte = 0xB0

// seCertMessage is what the authority signs: the SE's identity and key.
func seCertMessage(seid string, pub []byte) []byte {
	h := sha256.New()
	h.Write([]byte("tapsim SE key-agreement certificate\x00"))
	h.Write([]byte(seid))
	h.Write([]byte{0})
	h.Write(pub)
	return h.Sum(nil)
}

// SignSECert is the authority's certificate of the SE seid's static
// key-agreement key pub: the key's length and bytes, then the authority's
// ECDSA P-256 signature (ASN.1).
func SignSECert(ca *ecdsa.PrivateKey, seid string, pub *ecdh.PublicKey, rnd io.Reader) ([]byte, error) {
	if ca == nil || pub == nil || pub.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: SE certificate: a P-256 key and an authority", ErrParam)
	}
	p := pub.Bytes()
	sig, err := ecdsa.SignASN1(rnd, ca, seCertMessage(seid, p))
	if err != nil {
		return nil, fmt.Errorf("gp: SE certificate: %w", err)
	}
	return append(append([]byte{byte(len(p))}, p...), sig...), nil
}

// CertifySE is SignSECert by an authority whose key stays in a security
// module: sign is handed the SHA-256 digest to sign and returns the
// signature as ES256 writes it (r and s, 32 bytes each, big-endian, as
// hsm.ECKeys.SignES256 does); the certificate carries it in ASN.1 as
// SignSECert's.
func CertifySE(seid string, pub *ecdh.PublicKey, sign func(digest []byte) ([]byte, error)) ([]byte, error) {
	if sign == nil || pub == nil || pub.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: SE certificate: a P-256 key and an authority", ErrParam)
	}
	p := pub.Bytes()
	rs, err := sign(seCertMessage(seid, p))
	if err != nil {
		return nil, fmt.Errorf("gp: SE certificate: %w", err)
	}
	if len(rs) != 64 {
		return nil, fmt.Errorf("%w: SE certificate: a signature of %d bytes, want 64", ErrParam, len(rs))
	}
	sig, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])})
	if err != nil {
		return nil, fmt.Errorf("gp: SE certificate: %w", err)
	}
	return append(append([]byte{byte(len(p))}, p...), sig...), nil
}

// VerifySECert checks the certificate (as GET DATA '7F21' answers it, tag
// and length first, or bare) of the SE seid under the authority's key and
// returns the SE's key-agreement public key.
func VerifySECert(ca *ecdsa.PublicKey, seid string, cert []byte) (*ecdh.PublicKey, error) {
	if len(cert) > 4 && cert[0] == 0x7F && cert[1] == 0x21 && cert[2] == 0x81 && int(cert[3]) == len(cert)-4 {
		cert = cert[4:]
	}
	if ca == nil || len(cert) < 1 || int(cert[0]) != 65 || len(cert) < 66+8 {
		return nil, fmt.Errorf("%w: SE certificate", ErrMalformed)
	}
	p, sig := cert[1:66], cert[66:]
	if !ecdsa.VerifyASN1(ca, seCertMessage(seid, p), sig) {
		return nil, ErrCertificate
	}
	pub, err := ecdh.P256().NewPublicKey(p)
	if err != nil {
		return nil, fmt.Errorf("%w: SE certificate key", ErrMalformed)
	}
	return pub, nil
}

// agreedKEK derives the AES-128 key enciphering the new key set from the
// shared secret z (ANSI X9.63 KDF with SHA-256, one block).
func agreedKEK(z []byte) (keys.Key, error) {
	h := sha256.New()
	h.Write(z)
	var ctr [4]byte
	binary.BigEndian.PutUint32(ctr[:], 1)
	h.Write(ctr[:])
	h.Write([]byte("tapsim PUT KEY"))
	return keys.New(keys.AES, h.Sum(nil)[:16])
}

// PutKeyAgreedCmd is PutKeyCmd with the key set enciphered under a key
// agreed with the SE's static key card (from its certificate): an
// ephemeral key pair drawn from rnd, its public key sent first.
func PutKeyAgreedCmd(oldKVN, newKVN byte, card *ecdh.PublicKey, ks scp03.StaticKeys, rnd io.Reader) ([]byte, error) {
	if card == nil || card.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: PUT KEY: the SE's P-256 key", ErrParam)
	}
	eph, err := ecdh.P256().GenerateKey(rnd)
	if err != nil {
		return nil, fmt.Errorf("gp: PUT KEY: %w", err)
	}
	z, err := eph.ECDH(card)
	if err != nil {
		return nil, fmt.Errorf("gp: PUT KEY: %w", err)
	}
	kek, err := agreedKEK(z)
	clear(z)
	if err != nil {
		return nil, err
	}
	d, err := putKeyData(newKVN, kek, ks)
	if err != nil {
		return nil, err
	}
	p := eph.PublicKey().Bytes()
	data := append([]byte{d[0], KeyTypeAgreement, byte(len(p))}, p...)
	data = append(data, d[1:]...)
	return command(ClaGP, InsPutKey, oldKVN, PutKeyP2, data, true)
}

// AgreedPutKey reports whether PUT KEY data is a confidential key setup.
func AgreedPutKey(data []byte) bool { return len(data) > 2 && data[1] == KeyTypeAgreement }

// ParsePutKeyAgreed is ParsePutKey of a confidential key setup, the SE's
// static private key priv agreeing the key the set is enciphered under.
func ParsePutKeyAgreed(p2 byte, data []byte, priv *ecdh.PrivateKey) (byte, scp03.StaticKeys, error) {
	if !AgreedPutKey(data) || int(data[2]) != 65 || len(data) < 3+65 || priv == nil {
		return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY agreement block", ErrMalformed)
	}
	pub, err := ecdh.P256().NewPublicKey(data[3 : 3+65])
	if err != nil {
		return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY ephemeral key", ErrMalformed)
	}
	z, err := priv.ECDH(pub)
	if err != nil {
		return 0, scp03.StaticKeys{}, fmt.Errorf("%w: PUT KEY agreement", ErrMalformed)
	}
	kek, err := agreedKEK(z)
	clear(z)
	if err != nil {
		return 0, scp03.StaticKeys{}, err
	}
	return ParsePutKey(p2, append([]byte{data[0]}, data[3+65:]...), kek)
}
