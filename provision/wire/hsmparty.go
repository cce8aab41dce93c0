package wire

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/keywrap"
	"github.com/tapsim/tapsim/hsm"
)

// A party whose keys are held in a security module (NewHSMParty) signs
// through hsm.ECKeys.SignES256, handed to go-jose as a jose.OpaqueSigner,
// and opens envelopes through a jose.OpaqueKeyDecrypter: the module
// computes the ECDH shared secret Z with the envelope's ephemeral key, and
// the Concat KDF (RFC 7518 §4.6.2) and the AES key unwrap of the content
// key (ECDH-ES+A256KW) are done here. The private keys never leave the
// module; Z and the key-encryption key derived from it live only for the
// call.
//
// Such a party cannot open keys wrapped for a phone (emv/devicekey:
// UnwrapICCMasterKey, UnwrapHCEKey, UnwrapHCESUK) nor be written to a key
// file (MarshalPEM): those are a phone's operations, or would export the
// keys. They fail with ErrKey.

// The labels under which HSMParty keeps a party's key pairs, after its
// label prefix.
const (
	// HSMLabelSign ends the label of a party's signing key pair.
	HSMLabelSign = "/sign"
	// HSMLabelEnc ends the label of a party's key agreement key pair.
	HSMLabelEnc = "/enc"
)

// PartyModule is what HSMParty needs of a security module: its key pairs
// and a look-up by label.
type PartyModule interface {
	hsm.ECKeys
	// Lookup finds a key by its label; hsm.ErrUnknownKey when none.
	Lookup(label string) (hsm.Handle, error)
}

// hsmKeys are the module and handles of a party whose keys it holds.
type hsmKeys struct {
	mod       hsm.ECKeys
	sign, enc hsm.Handle
}

// NewHSMParty makes a party named name of two key pairs held in m: sign
// (hsm.UsageECSign) and enc (hsm.UsageECDH). The public keys are read
// from the module; the handles' usages are checked here, and the module
// refuses any other use of them anyway.
func NewHSMParty(name string, m hsm.ECKeys, sign, enc hsm.Handle) (*Party, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: party %s: no security module", ErrKey, safeName(name))
	}
	if sign.Usage != hsm.UsageECSign || enc.Usage != hsm.UsageECDH {
		return nil, fmt.Errorf("%w: party %s: want an %s and an %s key pair, got %s and %s",
			ErrKey, safeName(name), hsm.UsageECSign, hsm.UsageECDH, sign.Usage, enc.Usage)
	}
	spub, err := m.PublicP256(sign)
	if err != nil {
		return nil, fmt.Errorf("%w: party %s: signing key: %w", ErrKey, safeName(name), err)
	}
	epub, err := m.PublicP256(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: party %s: encryption key: %w", ErrKey, safeName(name), err)
	}
	pub, err := NewPublicKeys(name, spub, epub)
	if err != nil {
		return nil, err
	}
	return &Party{hsm: &hsmKeys{mod: m, sign: sign, enc: enc}, pub: pub}, nil
}

// HSMParty is the party named name whose key pairs m holds under
// prefix+HSMLabelSign and prefix+HSMLabelEnc (e.g.
// "provision/token-service/sign"): found when they exist, so that a
// restarted service keeps its keys, else generated in the module.
func HSMParty(name string, m PartyModule, prefix string) (*Party, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: party %s: no security module", ErrKey, safeName(name))
	}
	sign, err := lookupOrGenerate(m, prefix+HSMLabelSign, hsm.UsageECSign)
	if err != nil {
		return nil, fmt.Errorf("%w: party %s: signing key: %w", ErrKey, safeName(name), err)
	}
	enc, err := lookupOrGenerate(m, prefix+HSMLabelEnc, hsm.UsageECDH)
	if err != nil {
		return nil, fmt.Errorf("%w: party %s: encryption key: %w", ErrKey, safeName(name), err)
	}
	return NewHSMParty(name, m, sign, enc)
}

func lookupOrGenerate(m PartyModule, label string, usage hsm.Usage) (hsm.Handle, error) {
	h, err := m.Lookup(label)
	switch {
	case err == nil:
		if h.Usage != usage {
			return hsm.Handle{}, fmt.Errorf("%q is a %s key, want %s", label, h.Usage, usage)
		}
		return h, nil
	case !errors.Is(err, hsm.ErrUnknownKey):
		return hsm.Handle{}, err
	}
	h, _, err = m.GenerateP256(label, usage)
	return h, err
}

// InHSM reports whether the party's private keys are held in a security
// module.
func (p *Party) InHSM() bool { return p.hsm != nil }

// joseSigningKey is the key Seal hands to go-jose.
func (p *Party) joseSigningKey() any {
	if p.hsm != nil {
		return hsmSigner{p}
	}
	return jose.JSONWebKey{Key: p.sign, KeyID: p.pub.SignKID, Algorithm: string(SignatureAlgorithm)}
}

// joseDecryptionKey is the key Open hands to go-jose, and a function
// that tells, after a failed decryption, the module's error when the
// module failed rather than the envelope (go-jose keeps only that the
// decryption failed).
func (p *Party) joseDecryptionKey() (key any, moduleErr func() error) {
	if p.hsm != nil {
		d := hsmDecrypter{p: p, fail: new(error)}
		return d, func() error { return *d.fail }
	}
	return p.enc, func() error { return nil }
}

// signES256 signs a SHA-256 digest with the party's signing key: r || s.
func (p *Party) signES256(digest []byte) ([]byte, error) {
	if p.hsm == nil {
		return nil, fmt.Errorf("%w: party %s: no key in a module", ErrKey, p.pub.Name)
	}
	sig, err := p.hsm.mod.SignES256(p.hsm.sign, digest)
	if err != nil {
		return nil, fmt.Errorf("%w: party %s: sign: %w", ErrKey, p.pub.Name, err)
	}
	return sig, nil
}

// phoneKey is the party's private encryption key for emv/devicekey; a
// party whose keys are in a module has none to give.
func (p *Party) phoneKey() (*ecdsa.PrivateKey, error) {
	if p.hsm != nil || p.enc == nil {
		return nil, fmt.Errorf("%w: party %s: its keys are held in a security module, which opens no key wrapped for a phone", ErrKey, p.pub.Name)
	}
	return p.enc, nil
}

// hsmSigner is the jose.OpaqueSigner of a party whose keys a module holds.
type hsmSigner struct{ p *Party }

// Public is the party's signing public key, with its kid.
func (s hsmSigner) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: s.p.pub.Sign, KeyID: s.p.pub.SignKID, Algorithm: string(SignatureAlgorithm), Use: UseSign}
}

// Algs is ES256 only.
func (s hsmSigner) Algs() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{SignatureAlgorithm}
}

// SignPayload signs the JWS signing input in the module.
func (s hsmSigner) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != SignatureAlgorithm {
		return nil, fmt.Errorf("%w: sign: %s", ErrAlgorithm, safeName(string(alg)))
	}
	d := sha256.Sum256(payload)
	return s.p.signES256(d[:])
}

// hsmDecrypter is the jose.OpaqueKeyDecrypter of a party whose keys a
// module holds: ECDH-ES+A256KW only.
type hsmDecrypter struct {
	p    *Party
	fail *error // the module's own failure, not the envelope's
}

// DecryptKey recovers the content key of a JWE sealed to the party.
func (d hsmDecrypter) DecryptKey(encryptedKey []byte, header jose.Header) ([]byte, error) {
	if header.Algorithm != string(KeyAlgorithm) {
		return nil, fmt.Errorf("%w: alg %s", ErrAlgorithm, safeName(header.Algorithm))
	}
	epk, err := headerEPK(header)
	if err != nil {
		return nil, err
	}
	apu, err := headerB64(header, "apu")
	if err != nil {
		return nil, err
	}
	apv, err := headerB64(header, "apv")
	if err != nil {
		return nil, err
	}
	z, err := d.p.hsm.mod.ECDH(d.p.hsm.enc, epk)
	if err != nil {
		if !moduleRefused(err) {
			*d.fail = err
		}
		return nil, fmt.Errorf("%w: party %s: key agreement: %w", ErrDecrypt, d.p.pub.Name, err)
	}
	defer clear(z)
	kekBytes := ConcatKDF(z, string(KeyAlgorithm), apu, apv, 32)
	defer clear(kekBytes)
	kek, err := keys.New(keys.AES, kekBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: key-encryption key", ErrDecrypt)
	}
	cek, err := keywrap.Unwrap(kek, encryptedKey)
	if err != nil {
		return nil, fmt.Errorf("%w: the content key does not unwrap", ErrDecrypt)
	}
	return cek, nil
}

// moduleRefused reports an error of a module that answered and refused
// (a bad input or a key that cannot serve), rather than one that did not
// answer.
func moduleRefused(err error) bool {
	for _, e := range []error{hsm.ErrInput, hsm.ErrUsage, hsm.ErrKeyType, hsm.ErrUnknownKey} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// headerEPK is the ephemeral public key of a JWE header: a P-256 JWK.
func headerEPK(header jose.Header) (*ecdsa.PublicKey, error) {
	v, ok := header.ExtraHeaders["epk"]
	if !ok {
		return nil, fmt.Errorf("%w: JWE header has no epk", ErrMalformed)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: JWE epk", ErrMalformed)
	}
	var j JWK
	if err := strictJSON(b, &j); err != nil {
		return nil, fmt.Errorf("%w: JWE epk: %w", ErrMalformed, err)
	}
	k, err := j.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: JWE epk: %w", ErrMalformed, err)
	}
	return k, nil
}

// headerB64 is the base64url member name of a JWE header, nil when absent.
func headerB64(header jose.Header, name jose.HeaderKey) ([]byte, error) {
	v, ok := header.ExtraHeaders[name]
	if !ok {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("%w: JWE %s is not a string", ErrMalformed, name)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: JWE %s is not base64url", ErrMalformed, name)
	}
	return b, nil
}

// ConcatKDF is the key derivation of ECDH-ES (RFC 7518 §4.6.2, the Concat
// KDF of NIST SP 800-56A §5.8.1 with SHA-256): n bytes from the shared
// secret z for the algorithm alg ("enc" for direct ECDH-ES, "alg" for
// ECDH-ES with key wrapping) and the party information apu and apv.
func ConcatKDF(z []byte, alg string, apu, apv []byte, n int) []byte {
	field := func(b []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
	}
	var other []byte
	other = append(other, field([]byte(alg))...)
	other = append(other, field(apu)...)
	other = append(other, field(apv)...)
	other = binary.BigEndian.AppendUint32(other, uint32(n*8))

	out := make([]byte, 0, n+sha256.Size)
	for counter := uint32(1); len(out) < n; counter++ {
		h := sha256.New()
		_ = binary.Write(h, binary.BigEndian, counter)
		h.Write(z)
		h.Write(other)
		out = h.Sum(out)
	}
	return out[:n]
}
