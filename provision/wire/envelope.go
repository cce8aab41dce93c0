package wire

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The algorithms of an envelope. Open accepts these and nothing else.
const (
	// KeyAlgorithm is the JWE key management: ECDH-ES on P-256 with an
	// ephemeral key, the content key wrapped with AES-256 key wrap (R-G1:
	// ECC P-256 and AES-256).
	KeyAlgorithm = jose.ECDH_ES_A256KW
	// ContentEncryption is the JWE content encryption: AES-256-GCM.
	ContentEncryption = jose.A256GCM
	// SignatureAlgorithm is the JWS signature: ECDSA P-256 with SHA-256
	// (R-G2).
	SignatureAlgorithm = jose.ES256
	// ContentType is the JWE "cty": the plaintext is a signed JWT (RFC
	// 7519 §5.2, nested JWT).
	ContentType = "JWT"
	// TokenType is the JWS "typ".
	TokenType = "JWT"
)

// Limits and defaults of the envelope.
const (
	// MaxEnvelope is the default bound of an envelope's length, checked
	// before parsing (Expect.MaxSize overrides it).
	MaxEnvelope = 64 << 10
	// DefaultTTL is how long an envelope is valid when Header.TTL is 0.
	DefaultTTL = 2 * time.Minute
	// MaxLifetime is the longest exp - iat Open accepts, so that a replay
	// cache need keep a jti only that long (plus the skew).
	MaxLifetime = 10 * time.Minute
	// DefaultSkew is the clock difference Open tolerates when Expect.Skew
	// is 0.
	DefaultSkew = 30 * time.Second
	// maxHeader bounds a protected header, encoded.
	maxHeader = 2048
	// maxTime bounds iat and exp (seconds since 1970, year 36812) so that
	// time arithmetic cannot overflow.
	maxTime = 1 << 40
	// jtiBytes is the length of the random nonce.
	jtiBytes = 16
)

// Header is what Seal needs besides the message, the sender and the
// recipient.
type Header struct {
	// Type is the message type, the signed "typ" claim the receiver checks
	// (the Type* constants; letters and "._:-", no digit).
	Type string
	// TTL is how long the envelope is valid from now: DefaultTTL when 0,
	// at most MaxLifetime.
	TTL time.Duration
	// Clock gives iat; time.Now when nil.
	Clock func() time.Time
	// Rand gives the jti nonce; crypto/rand when nil. Key agreement and
	// signatures always use the system's source.
	Rand io.Reader
}

// Expect is what Open checks an envelope against.
type Expect struct {
	// Type is the message type the caller expects; required.
	Type string
	// From, when set, is the only sender accepted.
	From string
	// Replay remembers the jti of every accepted envelope (R-G4);
	// required.
	Replay ReplayCache
	// Clock is the receiver's time; time.Now when nil.
	Clock func() time.Time
	// Skew is the clock difference tolerated on iat and exp; DefaultSkew
	// when 0.
	Skew time.Duration
	// MaxSize bounds the envelope's length; MaxEnvelope when 0.
	MaxSize int
}

// Claims is an opened envelope: who sent it to whom, when, and the
// message.
type Claims struct {
	// Issuer is the sender's name (iss), the owner of the signing key.
	Issuer string
	// Audience is the recipient's name (aud).
	Audience string
	// Type is the message type (typ).
	Type string
	// ID is the nonce (jti).
	ID string
	// IssuedAt (iat) and Expiry (exp) bound the envelope's validity.
	IssuedAt, Expiry time.Time
	// Sender is the trusted public keys the signature verified with.
	Sender PublicKeys
	// Payload is the message, JSON.
	Payload json.RawMessage
}

// Decode unmarshals the message into v strictly: one JSON value, no
// unknown fields. Errors wrap ErrMalformed and quote no value.
func (c Claims) Decode(v any) error {
	if err := strictJSON(c.Payload, v); err != nil {
		return fmt.Errorf("%w: message %s: %w", ErrMalformed, c.Type, err)
	}
	return nil
}

// claimsJSON is the JWS payload.
type claimsJSON struct {
	Iss string          `json:"iss"`
	Aud string          `json:"aud"`
	Iat int64           `json:"iat"`
	Exp int64           `json:"exp"`
	Jti string          `json:"jti"`
	Typ string          `json:"typ"`
	Msg json.RawMessage `json:"msg"`
}

// Seal signs v as from, then encrypts the signed token to the recipient:
// a compact JWS (ES256, kid of from's signing key; claims iss, aud, iat,
// exp, jti, typ and msg, the message) nested in a compact JWE
// (ECDH-ES+A256KW, A256GCM, kid of to's encryption key, cty "JWT").
// Sign-then-encrypt: only the recipient reads the message and learns who
// signed it (R-G1, R-G2).
func Seal(v any, from *Party, to PublicKeys, h Header) (string, error) {
	if from == nil {
		return "", fmt.Errorf("%w: seal: no sender", ErrConfig)
	}
	if err := checkType(h.Type); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	if err := checkName(to.Name); err != nil {
		return "", fmt.Errorf("seal: recipient: %w", err)
	}
	encKID, err := Thumbprint(to.Enc)
	if err != nil {
		return "", fmt.Errorf("seal: recipient %s: %w", to.Name, err)
	}
	ttl := h.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < time.Second || ttl > MaxLifetime {
		return "", fmt.Errorf("%w: seal: TTL must be between 1s and %s", ErrConfig, MaxLifetime)
	}
	msg, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: seal: message %s does not marshal", ErrInvalid, h.Type)
	}
	jti, err := nonce(h.Rand)
	if err != nil {
		return "", err
	}
	now := clock(h.Clock)().Truncate(time.Second)
	payload, err := json.Marshal(claimsJSON{
		Iss: from.Name(), Aud: to.Name,
		Iat: now.Unix(), Exp: now.Add(ttl).Unix(),
		Jti: jti, Typ: h.Type, Msg: msg,
	})
	if err != nil {
		return "", fmt.Errorf("%w: seal: claims do not marshal", ErrInvalid)
	}

	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: SignatureAlgorithm,
		Key:       from.joseSigningKey(),
	}, (&jose.SignerOptions{}).WithType(TokenType))
	if err != nil {
		return "", fmt.Errorf("%w: seal: signer", ErrKey)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("%w: seal: sign: %w", ErrKey, err)
	}
	signed, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("%w: seal: serialize the signature", ErrKey)
	}

	enc, err := jose.NewEncrypter(ContentEncryption, jose.Recipient{
		Algorithm: KeyAlgorithm, Key: to.Enc, KeyID: encKID,
	}, (&jose.EncrypterOptions{}).WithContentType(ContentType))
	if err != nil {
		return "", fmt.Errorf("%w: seal: encrypter", ErrKey)
	}
	jwe, err := enc.Encrypt([]byte(signed))
	if err != nil {
		return "", fmt.Errorf("%w: seal: encrypt", ErrKey)
	}
	out, err := jwe.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("%w: seal: serialize the encryption", ErrKey)
	}
	return out, nil
}

// Open decrypts an envelope sealed to me, verifies its signature with the
// key trust names by the signature's kid, and checks its claims: iss is
// that key's owner (and want.From when set), aud is me, typ is want.Type,
// iat and exp frame the receiver's time within the skew, and the jti has
// not been accepted before (R-G4); the jti is recorded only when all else
// passed. The error of a refused envelope wraps one of ErrTooLarge,
// ErrMalformed, ErrAlgorithm, ErrDecrypt, ErrUnknownKey, ErrSignature,
// ErrIssuer, ErrAudience, ErrType, ErrExpired, ErrReplay, ErrCapacity,
// or ErrUnavailable when the security module holding my keys fails.
func Open(token string, me *Party, trust Directory, want Expect) (Claims, error) {
	if me == nil || trust == nil || want.Replay == nil {
		return Claims{}, fmt.Errorf("%w: open: a receiver, a directory and a replay cache are required", ErrConfig)
	}
	if err := checkType(want.Type); err != nil {
		return Claims{}, fmt.Errorf("open: expected %w", err)
	}
	max := want.MaxSize
	if max <= 0 {
		max = MaxEnvelope
	}
	if len(token) > max {
		return Claims{}, fmt.Errorf("%w: open: envelope of %d bytes, limit %d", ErrTooLarge, len(token), max)
	}

	// The JWE: five parts, a strict header naming our algorithms and key.
	parts := strings.Split(token, ".")
	if len(parts) != 5 {
		return Claims{}, fmt.Errorf("%w: open: an envelope is a compact JWE of five parts", ErrMalformed)
	}
	hdr, err := parseHeader(parts[0], "JWE", jweHeaders)
	if err != nil {
		return Claims{}, fmt.Errorf("open: %w", err)
	}
	if hdr.Alg != string(KeyAlgorithm) || hdr.Enc != string(ContentEncryption) {
		return Claims{}, fmt.Errorf("%w: open: JWE alg %s, enc %s", ErrAlgorithm, safeName(hdr.Alg), safeName(hdr.Enc))
	}
	if hdr.Cty != ContentType {
		return Claims{}, fmt.Errorf("%w: open: JWE cty is not %s", ErrMalformed, ContentType)
	}
	if hdr.Kid != me.pub.EncKID {
		return Claims{}, fmt.Errorf("%w: open: the envelope is encrypted to another key", ErrDecrypt)
	}
	jwe, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{KeyAlgorithm}, []jose.ContentEncryption{ContentEncryption})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: open: JWE does not parse", ErrMalformed)
	}
	key, moduleErr := me.joseDecryptionKey()
	signed, err := jwe.Decrypt(key)
	if err != nil {
		if merr := moduleErr(); merr != nil {
			return Claims{}, fmt.Errorf("%w: open: %s's security module: %w", ErrUnavailable, me.Name(), merr)
		}
		return Claims{}, fmt.Errorf("%w: open: the ciphertext does not authenticate under %s's key", ErrDecrypt, me.Name())
	}

	// The JWS: three parts, a strict header naming ES256 and a trusted key.
	sparts := strings.Split(string(signed), ".")
	if len(sparts) != 3 {
		return Claims{}, fmt.Errorf("%w: open: the content is not a compact JWS", ErrMalformed)
	}
	shdr, err := parseHeader(sparts[0], "JWS", jwsHeaders)
	if err != nil {
		return Claims{}, fmt.Errorf("open: %w", err)
	}
	if shdr.Alg != string(SignatureAlgorithm) {
		return Claims{}, fmt.Errorf("%w: open: JWS alg %s", ErrAlgorithm, safeName(shdr.Alg))
	}
	if shdr.Typ != TokenType {
		return Claims{}, fmt.Errorf("%w: open: JWS typ is not %s", ErrMalformed, TokenType)
	}
	sender, ok := trust.Signer(shdr.Kid)
	if !ok || sender.Sign == nil {
		return Claims{}, fmt.Errorf("%w: open: the signing key %s is not trusted", ErrUnknownKey, safeName(shdr.Kid))
	}
	jws, err := jose.ParseSignedCompact(string(signed), []jose.SignatureAlgorithm{SignatureAlgorithm})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: open: JWS does not parse", ErrMalformed)
	}
	payload, err := jws.Verify(sender.Sign)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: open: signature of %s does not verify", ErrSignature, sender.Name)
	}

	// The claims.
	var cj claimsJSON
	if err := strictJSON(payload, &cj); err != nil {
		return Claims{}, fmt.Errorf("%w: open: claims: %w", ErrMalformed, err)
	}
	if cj.Iss != sender.Name {
		return Claims{}, fmt.Errorf("%w: open: %s's key signed for iss %s", ErrIssuer, sender.Name, safeName(cj.Iss))
	}
	if want.From != "" && cj.Iss != want.From {
		return Claims{}, fmt.Errorf("%w: open: from %s, expected %s", ErrIssuer, cj.Iss, safeName(want.From))
	}
	if cj.Aud != me.Name() {
		return Claims{}, fmt.Errorf("%w: open: addressed to %s, not %s", ErrAudience, safeName(cj.Aud), me.Name())
	}
	if cj.Typ != want.Type {
		return Claims{}, fmt.Errorf("%w: open: %s, expected %s", ErrType, safeName(cj.Typ), want.Type)
	}
	if !validJTI(cj.Jti) {
		return Claims{}, fmt.Errorf("%w: open: jti is not a base64url nonce", ErrMalformed)
	}
	if len(cj.Msg) == 0 {
		return Claims{}, fmt.Errorf("%w: open: no message", ErrMalformed)
	}
	if cj.Iat <= 0 || cj.Exp <= 0 || cj.Iat > maxTime || cj.Exp > maxTime {
		return Claims{}, fmt.Errorf("%w: open: iat or exp out of range", ErrMalformed)
	}
	skew := want.Skew
	if skew <= 0 {
		skew = DefaultSkew
	}
	now := clock(want.Clock)()
	iat, exp := time.Unix(cj.Iat, 0), time.Unix(cj.Exp, 0)
	switch {
	case cj.Exp <= cj.Iat || exp.Sub(iat) > MaxLifetime:
		return Claims{}, fmt.Errorf("%w: open: lifetime %s outside (0, %s]", ErrExpired, exp.Sub(iat), MaxLifetime)
	case iat.After(now.Add(skew)):
		return Claims{}, fmt.Errorf("%w: open: issued %s in the future", ErrExpired, iat.Sub(now).Round(time.Second))
	case !now.Before(exp.Add(skew)):
		return Claims{}, fmt.Errorf("%w: open: expired %s ago", ErrExpired, now.Sub(exp).Round(time.Second))
	}
	if err := want.Replay.Use(cj.Iss+" "+cj.Jti, exp.Add(skew), now); err != nil {
		return Claims{}, fmt.Errorf("open: envelope from %s: %w", cj.Iss, err)
	}
	return Claims{
		Issuer: cj.Iss, Audience: cj.Aud, Type: cj.Typ, ID: cj.Jti,
		IssuedAt: iat, Expiry: exp, Sender: sender, Payload: cj.Msg,
	}, nil
}

// OpenInto is Open followed by Decode into v.
func OpenInto(token string, me *Party, trust Directory, want Expect, v any) (Claims, error) {
	c, err := Open(token, me, trust, want)
	if err != nil {
		return c, err
	}
	return c, c.Decode(v)
}

// joseHeader is the union of the protected header members accepted.
type joseHeader struct {
	Alg string          `json:"alg"`
	Enc string          `json:"enc"`
	Kid string          `json:"kid"`
	Cty string          `json:"cty"`
	Typ string          `json:"typ"`
	Epk json.RawMessage `json:"epk"`
}

var (
	// jweHeaders are the members of an envelope's JWE header: no zip,
	// no jku/jwk/x5u/x5c (keys come from the directory only), no crit.
	jweHeaders = map[string]bool{"alg": true, "enc": true, "kid": true, "cty": true, "epk": true}
	// jwsHeaders are the members of the nested JWS header.
	jwsHeaders = map[string]bool{"alg": true, "kid": true, "typ": true}
)

// parseHeader decodes a protected header strictly: bounded, base64url,
// one JSON object, each member once and among allowed, alg and kid
// present.
func parseHeader(seg, what string, allowed map[string]bool) (joseHeader, error) {
	if len(seg) > maxHeader {
		return joseHeader{}, fmt.Errorf("%w: %s header too long", ErrMalformed, what)
	}
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return joseHeader{}, fmt.Errorf("%w: %s header is not base64url", ErrMalformed, what)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return joseHeader{}, fmt.Errorf("%w: %s header is not a JSON object", ErrMalformed, what)
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return joseHeader{}, fmt.Errorf("%w: %s header is not JSON", ErrMalformed, what)
		}
		k, _ := t.(string)
		if !allowed[k] {
			return joseHeader{}, fmt.Errorf("%w: %s header member %s not accepted", ErrMalformed, what, safeName(k))
		}
		if seen[k] {
			return joseHeader{}, fmt.Errorf("%w: %s header member %s twice", ErrMalformed, what, k)
		}
		seen[k] = true
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return joseHeader{}, fmt.Errorf("%w: %s header is not JSON", ErrMalformed, what)
		}
	}
	var h joseHeader
	if err := strictJSON(raw, &h); err != nil {
		return joseHeader{}, fmt.Errorf("%w: %s header: %w", ErrMalformed, what, err)
	}
	if h.Alg == "" || h.Kid == "" {
		return joseHeader{}, fmt.Errorf("%w: %s header without alg or kid", ErrMalformed, what)
	}
	return h, nil
}

// checkType checks a message type: 1 to 64 letters and "._:-", no digit.
func checkType(t string) error {
	if t == "" || len(t) > maxNameLen {
		return fmt.Errorf("%w: message type must be 1 to %d characters", ErrType, maxNameLen)
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !nameChar(c) || c >= '0' && c <= '9' {
			return fmt.Errorf("%w: message type %s", ErrType, safeName(t))
		}
	}
	return nil
}

// nonce is a fresh jti: 16 random bytes, base64url.
func nonce(rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	b := make([]byte, jtiBytes)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("%w: seal: jti: %w", ErrConfig, err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// validJTI accepts base64url nonces of 16 to 64 characters.
func validJTI(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func clock(c func() time.Time) func() time.Time {
	if c == nil {
		return time.Now
	}
	return c
}
