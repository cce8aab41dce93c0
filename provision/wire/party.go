package wire

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
)

// JWK members this package writes and accepts (RFC 7517, RFC 7518 §6.2).
const (
	// UseSign is the "use" of a party's ES256 signing key.
	UseSign = "sig"
	// UseEnc is the "use" of a party's ECDH-ES encryption key.
	UseEnc = "enc"
)

// maxNameLen bounds a party name.
const maxNameLen = 64

// Party is one institution or phone app taking part in provisioning: a
// name, a P-256 key to sign what it sends (ES256) and a P-256 key that
// envelopes sent to it are encrypted to (ECDH-ES). The two keys are
// distinct. A Party holds private keys, in process memory (NewParty,
// NewPartyFromKeys, ParsePartyPEM) or in a security module (NewHSMParty,
// HSMParty); both kinds seal and open the same envelopes. It never prints
// them (String and GoString show the name and key IDs only).
type Party struct {
	sign *ecdsa.PrivateKey // nil when hsm holds the keys
	enc  *ecdsa.PrivateKey // nil when hsm holds the keys
	hsm  *hsmKeys          // the module holding the keys (NewHSMParty), or nil
	pub  PublicKeys
}

// NewParty makes a party named name with two fresh P-256 keys drawn from
// rnd (crypto/rand when nil). The same rnd bytes give the same keys, so
// that tests are deterministic. A name is 1 to 64 characters among
// letters, digits and "._:-".
func NewParty(name string, rnd io.Reader) (*Party, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	sign, err := generateKey(rnd)
	if err != nil {
		return nil, err
	}
	enc, err := generateKey(rnd)
	if err != nil {
		return nil, err
	}
	return NewPartyFromKeys(name, sign, enc)
}

// NewPartyFromKeys makes a party of keys kept elsewhere. Both must be
// P-256 and distinct.
func NewPartyFromKeys(name string, sign, enc *ecdsa.PrivateKey) (*Party, error) {
	if sign == nil || enc == nil {
		return nil, fmt.Errorf("%w: party %s: both keys are required", ErrKey, safeName(name))
	}
	pub, err := NewPublicKeys(name, &sign.PublicKey, &enc.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Party{sign: sign, enc: enc, pub: pub}, nil
}

// generateKey draws a P-256 scalar from rnd by rejection sampling. The
// standard library ignores the random source of key generation since Go
// 1.26; sampling here keeps an injected source meaningful.
func generateKey(rnd io.Reader) (*ecdsa.PrivateKey, error) {
	b := make([]byte, 32)
	for range 64 {
		if _, err := io.ReadFull(rnd, b); err != nil {
			return nil, fmt.Errorf("%w: key generation: %w", ErrKey, err)
		}
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: key generation: the random source gives no valid scalar", ErrKey)
}

// Name is the party's name, the iss of what it sends and the aud of what
// it receives.
func (p *Party) Name() string { return p.pub.Name }

// Public is the party's public half, to publish in trust lists.
func (p *Party) Public() PublicKeys { return p.pub }

// String names the party and its key IDs; never key material.
func (p *Party) String() string {
	if p == nil {
		return "party <nil>"
	}
	return fmt.Sprintf("party %s (sig %s, enc %s)", p.pub.Name, p.pub.SignKID, p.pub.EncKID)
}

// GoString is String, so that %#v prints no key either.
func (p *Party) GoString() string { return p.String() }

// UnwrapICCMasterKey opens a key the security module wrapped for the
// party's encryption key (emv/devicekey) as a key of alg, and checks it
// against the check value kcv. Another party's blob, an altered one or a
// check value that does not match is an error wrapping ErrKey; the error
// carries no key material.
func (p *Party) UnwrapICCMasterKey(alg keys.Alg, wrapped []byte, kcv string) (keys.Key, error) {
	enc, err := p.phoneKey()
	if err != nil {
		return keys.Key{}, err
	}
	k, err := devicekey.UnwrapChecked(enc, alg, wrapped, kcv)
	if err != nil {
		return keys.Key{}, fmt.Errorf("%w: party %s: ICC master key: %w", ErrKey, p.pub.Name, err)
	}
	return k, nil
}

// PublicKeys is the public half of a Party: its name, its keys and their
// key IDs. A kid is the base64url SHA-256 JWK thumbprint of the key (RFC
// 7638). Enc alone is enough to seal to a party; Sign is needed to trust
// what it sends. Marshalled to JSON it is a PartyKeys document.
type PublicKeys struct {
	Name    string
	Sign    *ecdsa.PublicKey
	Enc     *ecdsa.PublicKey
	SignKID string
	EncKID  string
}

// NewPublicKeys checks the keys (P-256, on the curve, distinct) and
// computes their key IDs. sign may be nil for a party that is only ever a
// recipient (a phone's encryption key given in a request).
func NewPublicKeys(name string, sign, enc *ecdsa.PublicKey) (PublicKeys, error) {
	if err := checkName(name); err != nil {
		return PublicKeys{}, err
	}
	pk := PublicKeys{Name: name, Sign: sign, Enc: enc}
	var err error
	if enc == nil {
		return PublicKeys{}, fmt.Errorf("%w: party %s: no encryption key", ErrKey, name)
	}
	if pk.EncKID, err = Thumbprint(enc); err != nil {
		return PublicKeys{}, err
	}
	if sign != nil {
		if pk.SignKID, err = Thumbprint(sign); err != nil {
			return PublicKeys{}, err
		}
		if pk.SignKID == pk.EncKID {
			return PublicKeys{}, fmt.Errorf("%w: party %s: one key for signing and encryption", ErrKey, name)
		}
	}
	return pk, nil
}

// Thumbprint is the kid of a P-256 public key: base64url (no padding) of
// its SHA-256 JWK thumbprint (RFC 7638).
func Thumbprint(k *ecdsa.PublicKey) (string, error) {
	if err := checkCurve(k); err != nil {
		return "", err
	}
	tp, err := (&jose.JSONWebKey{Key: k}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("%w: thumbprint: %w", ErrKey, err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

func checkCurve(k *ecdsa.PublicKey) error {
	if k == nil || k.Curve != elliptic.P256() {
		return fmt.Errorf("%w: not a P-256 key", ErrKey)
	}
	b, err := k.Bytes()
	if err != nil {
		return fmt.Errorf("%w: not a valid P-256 point", ErrKey)
	}
	if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b); err != nil {
		return fmt.Errorf("%w: not a valid P-256 point", ErrKey)
	}
	return nil
}

func checkName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("%w: a party name is 1 to %d characters", ErrKey, maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !nameChar(name[i]) {
			return fmt.Errorf("%w: party name %s: letters, digits and \"._:-\" only", ErrKey, safeName(name))
		}
	}
	return nil
}

func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '-'
}

// safeName renders an untrusted value for an error message. Only what
// cannot be card data, a code or a key is shown: a registered JOSE
// algorithm name, or up to 64 characters of letters and "._:/+-" without
// a digit. Anything else is replaced, so that no PAN, OTP or key reaches
// a log through an error.
func safeName(s string) string {
	if joseNames[s] {
		return s
	}
	if s == "" {
		return `""`
	}
	if len(s) > maxNameLen {
		return "(value not shown)"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || !(nameChar(c) || c == '/' || c == '+') {
			return "(value not shown)"
		}
	}
	return s
}

// joseNames are the registered JOSE algorithm names (RFC 7518 §3.1,
// §4.1, §5.1; RFC 8037).
var joseNames = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`none HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 ES512
		PS256 PS384 PS512 EdDSA RSA1_5 RSA-OAEP RSA-OAEP-256 A128KW A192KW A256KW dir
		ECDH-ES ECDH-ES+A128KW ECDH-ES+A192KW ECDH-ES+A256KW A128GCMKW A192GCMKW A256GCMKW
		PBES2-HS256+A128KW PBES2-HS384+A192KW PBES2-HS512+A256KW
		A128CBC-HS256 A192CBC-HS384 A256CBC-HS512 A128GCM A192GCM A256GCM P-256 P-384 P-521`) {
		joseNames[n] = true
	}
}

// JWK is a P-256 public key as a JSON Web Key (RFC 7517, RFC 7518 §6.2.1):
// the only kind this package reads or writes. A private member ("d")
// is refused.
type JWK struct {
	// Kty is "EC".
	Kty string `json:"kty"`
	// Crv is "P-256".
	Crv string `json:"crv"`
	// X and Y are the point's coordinates, base64url, 32 bytes each.
	X string `json:"x"`
	Y string `json:"y"`
	// Use is "sig" or "enc".
	Use string `json:"use,omitempty"`
	// Alg is "ES256" (use sig) or "ECDH-ES+A256KW" (use enc).
	Alg string `json:"alg,omitempty"`
	// Kid is the key's thumbprint; when present it must match.
	Kid string `json:"kid,omitempty"`
}

// NewJWK is the JWK of k for use (UseSign or UseEnc), with its kid.
func NewJWK(k *ecdsa.PublicKey, use string) (JWK, error) {
	kid, err := Thumbprint(k)
	if err != nil {
		return JWK{}, err
	}
	b, _ := k.Bytes() // 04 || X || Y, checked by Thumbprint
	j := JWK{
		Kty: "EC", Crv: "P-256",
		X:   base64.RawURLEncoding.EncodeToString(b[1:33]),
		Y:   base64.RawURLEncoding.EncodeToString(b[33:65]),
		Use: use, Kid: kid,
	}
	switch use {
	case UseSign:
		j.Alg = string(jose.ES256)
	case UseEnc:
		j.Alg = string(jose.ECDH_ES_A256KW)
	default:
		return JWK{}, fmt.Errorf("%w: key use must be %q or %q", ErrKey, UseSign, UseEnc)
	}
	return j, nil
}

// PublicKey parses the JWK: an EC P-256 point on the curve whose
// thumbprint is Kid (when given), with an alg matching its use.
func (j JWK) PublicKey() (*ecdsa.PublicKey, error) {
	if j.Kty != "EC" || j.Crv != "P-256" {
		return nil, fmt.Errorf("%w: JWK is not an EC P-256 key", ErrKey)
	}
	x, errX := base64.RawURLEncoding.DecodeString(j.X)
	y, errY := base64.RawURLEncoding.DecodeString(j.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("%w: JWK coordinates are not 32-byte base64url", ErrKey)
	}
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("%w: JWK is not a point of P-256", ErrKey)
	}
	switch {
	case j.Use == UseSign && (j.Alg == "" || j.Alg == string(jose.ES256)):
	case j.Use == UseEnc && (j.Alg == "" || j.Alg == string(jose.ECDH_ES_A256KW)):
	case j.Use == "" && j.Alg == "":
	default:
		return nil, fmt.Errorf("%w: JWK use %q with alg %q", ErrKey, safeName(j.Use), safeName(j.Alg))
	}
	if j.Kid != "" {
		kid, err := Thumbprint(k)
		if err != nil {
			return nil, err
		}
		if kid != j.Kid {
			return nil, fmt.Errorf("%w: JWK kid is not its thumbprint", ErrKey)
		}
	}
	return k, nil
}

// UnmarshalJSON reads a JWK strictly: unknown members, and so a private
// "d", are refused.
func (j *JWK) UnmarshalJSON(b []byte) error {
	type plain JWK
	var v plain
	if err := strictJSON(b, &v); err != nil {
		return fmt.Errorf("%w: JWK: %w", ErrKey, err)
	}
	*j = JWK(v)
	return nil
}

// PartyKeys is the JSON form of a party's public keys, as published to a
// trust list or sent in a request: its name and a JWK set (RFC 7517 §5)
// of one signing key and one encryption key (the signing key may be
// absent for a party that only receives).
//
//	{"name":"token-service","keys":[{"kty":"EC","crv":"P-256","x":"…","y":"…","use":"sig","alg":"ES256","kid":"…"},
//	                                 {"kty":"EC","crv":"P-256","x":"…","y":"…","use":"enc","alg":"ECDH-ES+A256KW","kid":"…"}]}
type PartyKeys struct {
	// Name is the party's name.
	Name string `json:"name"`
	// Keys holds the party's keys, each with its use and kid.
	Keys []JWK `json:"keys"`
}

// Keys is the JSON form of k.
func (k PublicKeys) Keys() (PartyKeys, error) {
	out := PartyKeys{Name: k.Name}
	if k.Sign != nil {
		j, err := NewJWK(k.Sign, UseSign)
		if err != nil {
			return PartyKeys{}, err
		}
		out.Keys = append(out.Keys, j)
	}
	j, err := NewJWK(k.Enc, UseEnc)
	if err != nil {
		return PartyKeys{}, err
	}
	out.Keys = append(out.Keys, j)
	return out, nil
}

// PublicKeys parses the document: at most one key per use, an encryption
// key required, every kid matching its key.
func (pk PartyKeys) PublicKeys() (PublicKeys, error) {
	var sign, enc *ecdsa.PublicKey
	for _, j := range pk.Keys {
		k, err := j.PublicKey()
		if err != nil {
			return PublicKeys{}, fmt.Errorf("party %s: %w", safeName(pk.Name), err)
		}
		switch j.Use {
		case UseSign:
			if sign != nil {
				return PublicKeys{}, fmt.Errorf("%w: party %s: two signing keys", ErrKey, safeName(pk.Name))
			}
			sign = k
		case UseEnc:
			if enc != nil {
				return PublicKeys{}, fmt.Errorf("%w: party %s: two encryption keys", ErrKey, safeName(pk.Name))
			}
			enc = k
		default:
			return PublicKeys{}, fmt.Errorf("%w: party %s: a key without use", ErrKey, safeName(pk.Name))
		}
	}
	return NewPublicKeys(pk.Name, sign, enc)
}

// MarshalJSON writes k as a PartyKeys document.
func (k PublicKeys) MarshalJSON() ([]byte, error) {
	pk, err := k.Keys()
	if err != nil {
		return nil, err
	}
	return json.Marshal(pk)
}

// UnmarshalJSON reads a PartyKeys document and checks it.
func (k *PublicKeys) UnmarshalJSON(b []byte) error {
	var pk PartyKeys
	if err := strictJSON(b, &pk); err != nil {
		return fmt.Errorf("%w: party keys: %w", ErrKey, err)
	}
	v, err := pk.PublicKeys()
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Directory is where Open finds the sender of an envelope: the party whose
// signing key has the kid of the signature. Only what a Directory returns
// is trusted; a key carried inside a message never is.
type Directory interface {
	// Signer returns the party whose signing key's kid is kid.
	Signer(kid string) (PublicKeys, bool)
}

// TrustList is the Directory of a service or of a phone's app: the public
// keys of the parties it trusts, by name and by signing kid (the app keeps
// its own list, in the spirit of R-S6a). It is safe for concurrent use;
// the zero value is an empty list.
type TrustList struct {
	mu     sync.RWMutex
	byName map[string]PublicKeys
	byKID  map[string]string // signing kid -> name
}

// NewTrustList is a trust list of parties.
func NewTrustList(parties ...PublicKeys) (*TrustList, error) {
	t := &TrustList{}
	for _, p := range parties {
		if err := t.Add(p); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Add trusts p. A name already trusted with other keys is refused: use
// Remove first (key rotation is explicit).
func (t *TrustList) Add(p PublicKeys) error {
	checked, err := NewPublicKeys(p.Name, p.Sign, p.Enc)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byName == nil {
		t.byName = make(map[string]PublicKeys)
		t.byKID = make(map[string]string)
	}
	if old, ok := t.byName[p.Name]; ok {
		if old.SignKID == checked.SignKID && old.EncKID == checked.EncKID {
			return nil
		}
		return fmt.Errorf("%w: trust list: %s is already trusted with other keys", ErrKey, p.Name)
	}
	if checked.SignKID != "" {
		if other, ok := t.byKID[checked.SignKID]; ok {
			return fmt.Errorf("%w: trust list: %s's signing key is already %s's", ErrKey, p.Name, other)
		}
		t.byKID[checked.SignKID] = p.Name
	}
	t.byName[p.Name] = checked
	return nil
}

// Remove stops trusting the party named name.
func (t *TrustList) Remove(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.byName[name]; ok {
		delete(t.byKID, p.SignKID)
		delete(t.byName, name)
	}
}

// Signer implements Directory.
func (t *TrustList) Signer(kid string) (PublicKeys, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	name, ok := t.byKID[kid]
	if !ok {
		return PublicKeys{}, false
	}
	return t.byName[name], true
}

// Party returns the trusted keys of the party named name, to seal to it.
func (t *TrustList) Party(name string) (PublicKeys, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	p, ok := t.byName[name]
	return p, ok
}

// Names lists the trusted parties, sorted.
func (t *TrustList) Names() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.byName))
	for n := range t.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// MarshalJSON writes the list as a JSON array of PartyKeys, sorted by
// name: the file a phone's app ships with.
func (t *TrustList) MarshalJSON() ([]byte, error) {
	names := t.Names()
	out := make([]PublicKeys, 0, len(names))
	for _, n := range names {
		p, _ := t.Party(n)
		out = append(out, p)
	}
	return json.Marshal(out)
}

// ParseTrustList reads what MarshalJSON writes.
func ParseTrustList(b []byte) (*TrustList, error) {
	var ps []PublicKeys
	if err := strictJSON(b, &ps); err != nil {
		return nil, fmt.Errorf("%w: trust list: %w", ErrKey, err)
	}
	return NewTrustList(ps...)
}

// strictJSON decodes exactly one JSON value with no unknown fields.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return jsonErr(err)
	}
	if d.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// jsonErr keeps the kind of a JSON error and drops any value it quotes.
func jsonErr(err error) error {
	if errors.Is(err, ErrKey) || errors.Is(err, ErrInvalid) {
		return err
	}
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Errorf("JSON syntax error at offset %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Errorf("JSON field %s: wrong type", safeName(e.Field))
	}
	if err == io.EOF {
		return fmt.Errorf("empty JSON")
	}
	return fmt.Errorf("JSON does not decode")
}
