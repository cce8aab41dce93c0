package wire_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// Test data: a test PAN and code that must never show in an error.
const (
	testPAN  = "4761739001010010"
	testCode = "737"
)

// seeded is a deterministic random source.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

// keyed is a party with its private keys in reach of the test, to forge
// envelopes with.
type keyed struct {
	*wire.Party
	sign, enc *ecdsa.PrivateKey
}

// newKeyed is a party of keys drawn from seed, held in a security module
// when hsmParties is set and the party is no phone.
func newKeyed(t testing.TB, name string, seed uint64) keyed {
	t.Helper()
	return makeKeyed(t, name, seed, hsmParties && !strings.HasPrefix(name, "phone"))
}

// newSoftKeyed is a party of keys drawn from seed, held in memory: the
// kind a key file is written from.
func newSoftKeyed(t testing.TB, name string, seed uint64) keyed {
	t.Helper()
	return makeKeyed(t, name, seed, false)
}

func makeKeyed(t testing.TB, name string, seed uint64, inHSM bool) keyed {
	t.Helper()
	rnd := seeded(seed)
	key := func() *ecdsa.PrivateKey {
		for {
			b := make([]byte, 32)
			_, _ = rnd.Read(b)
			if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b); err == nil {
				return k
			}
		}
	}
	s, e := key(), key()
	if inHSM {
		return keyed{Party: importedParty(t, name, s, e), sign: s, enc: e}
	}
	p, err := wire.NewPartyFromKeys(name, s, e)
	require.NoError(t, err)
	return keyed{Party: p, sign: s, enc: e}
}

// hsmParties makes newKeyed give the parties that are not phones their
// keys in a security module: TestMain runs every test once with each
// kind of party.
var hsmParties bool

func TestMain(m *testing.M) {
	if code := m.Run(); code != 0 {
		os.Exit(code)
	}
	hsmParties = true
	os.Exit(m.Run())
}

// importedParty is a party whose keys are imported into a fresh
// in-memory module: the same public keys as a party of the same keys in
// memory, so that the same tests hold for both.
func importedParty(t testing.TB, name string, sign, enc *ecdsa.PrivateKey) *wire.Party {
	t.Helper()
	mod := newModule(t)
	sh, err := mod.ImportP256(name+wire.HSMLabelSign, hsm.UsageECSign, sign)
	require.NoError(t, err)
	eh, err := mod.ImportP256(name+wire.HSMLabelEnc, hsm.UsageECDH, enc)
	require.NoError(t, err)
	p, err := wire.NewHSMParty(name, mod, sh, eh)
	require.NoError(t, err)
	require.True(t, p.InHSM())
	return p
}

// testLMK is the local master key of the test modules.
var testLMK = keys.MustHex(keys.AES, "0F1E2D3C4B5A69788796A5B4C3D2E1F00112233445566778899AABBCCDDEEFF1")

// newModule is an in-memory software module with a deterministic random
// source.
func newModule(t testing.TB) *soft.HSM {
	t.Helper()
	mod, err := soft.Open(soft.Config{LMK: testLMK, Rand: seeded(77)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = mod.Close() })
	return mod
}

// world is a wallet provider, a token service and a phone that trust
// each other, a rogue nobody trusts, and the token service's clock and
// replay cache.
type world struct {
	wallet, tsp, phone, rogue keyed
	trust                     *wire.TrustList
	now                       time.Time
	replay                    *wire.MemoryReplayCache
	rnd                       *rand.ChaCha8 // jti source of seal: deterministic, never repeating
}

var epoch = wiretest.Epoch

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{
		wallet: newKeyed(t, "wallet-provider", 1),
		tsp:    newKeyed(t, "token-service", 2),
		phone:  newKeyed(t, "phone-0102030405060708", 3),
		rogue:  newKeyed(t, "rogue", 4),
		now:    epoch,
		replay: wire.NewMemoryReplayCache(1000),
		rnd:    seeded(99),
	}
	var err error
	w.trust, err = wire.NewTrustList(w.wallet.Public(), w.tsp.Public(), w.phone.Public())
	require.NoError(t, err)
	return w
}

func (w *world) clock() time.Time { return w.now }

// seal seals v from one party to another at the world's time.
func (w *world) seal(t testing.TB, v any, from keyed, to keyed, typ string) string {
	t.Helper()
	tok, err := wire.Seal(v, from.Party, to.Public(), wire.Header{Type: typ, Clock: w.clock, Rand: w.rnd})
	require.NoError(t, err)
	return tok
}

// expect is what the token service expects of a message of type typ.
func (w *world) expect(typ string) wire.Expect {
	return wire.Expect{Type: typ, Replay: w.replay, Clock: w.clock}
}

// cardData is the test card.
func cardData() wire.CardData {
	return wire.CardData{PAN: testPAN, Expiry: "2812", SecurityCode: testCode}
}

// b64 and unb64 are base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

// header decodes a protected header.
func header(t testing.TB, seg string) map[string]any {
	t.Helper()
	var h map[string]any
	require.NoError(t, json.Unmarshal(unb64(t, seg), &h))
	return h
}

// signRaw makes a compact JWS of payload with any header, signed by key
// with ES256 (sig is replaced when sig is not nil).
func signRaw(t testing.TB, hdr map[string]any, payload []byte, key *ecdsa.PrivateKey, sig []byte) string {
	t.Helper()
	hb, err := json.Marshal(hdr)
	require.NoError(t, err)
	input := b64(hb) + "." + b64(payload)
	if sig == nil {
		sig = es256(t, key, []byte(input))
	}
	return input + "." + b64(sig)
}

// es256 signs input the way RFC 7518 §3.4 says: r || s, 32 bytes each.
func es256(t testing.TB, key *ecdsa.PrivateKey, input []byte) []byte {
	t.Helper()
	h := sha256sum(input)
	r, s, err := ecdsa.Sign(cryptorand.Reader, key, h[:])
	require.NoError(t, err)
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

// encryptRaw encrypts inner to the recipient's encryption key as a JWE
// compact with the envelope's algorithms.
func encryptRaw(t testing.TB, inner string, to *ecdsa.PublicKey, kid string) string {
	t.Helper()
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.ECDH_ES_A256KW, Key: to, KeyID: kid},
		(&jose.EncrypterOptions{}).WithContentType("JWT"))
	require.NoError(t, err)
	jwe, err := enc.Encrypt([]byte(inner))
	require.NoError(t, err)
	out, err := jwe.CompactSerialize()
	require.NoError(t, err)
	return out
}

// claims is a claim set for forged envelopes.
func (w *world) claims(iss, aud, typ string, iat time.Time, ttl time.Duration) []byte {
	b, _ := json.Marshal(map[string]any{
		"iss": iss, "aud": aud, "iat": iat.Unix(), "exp": iat.Add(ttl).Unix(),
		"jti": "AAAAAAAAAAAAAAAAAAAAAA", "typ": typ, "msg": map[string]string{"x": "y"},
	})
	return b
}

// forge signs claims with key under kid and seals them to the token
// service.
func (w *world) forge(t testing.TB, claims []byte, key *ecdsa.PrivateKey, kid string) string {
	t.Helper()
	jws := signRaw(t, map[string]any{"alg": "ES256", "kid": kid, "typ": "JWT"}, claims, key, nil)
	return encryptRaw(t, jws, w.tsp.Public().Enc, w.tsp.Public().EncKID)
}

// requireRefused checks err wraps want and names no secret.
func requireRefused(t testing.TB, err error, want ...error) {
	t.Helper()
	require.Error(t, err)
	ok := false
	for _, w := range want {
		ok = ok || errors.Is(err, w)
	}
	require.Truef(t, ok, "error %q wraps none of %v", err, want)
	for _, secret := range []string{testPAN, testCode, "2812"} {
		require.NotContains(t, err.Error(), secret)
	}
	require.Equal(t, strings.ToLower(err.Error()[:5]), err.Error()[:5], "errors are lower-case")
}

func sha256sum(b []byte) [32]byte { return sha256.Sum256(b) }

// decryptFor opens the outer JWE with the party's key.
func decryptFor(p keyed, tok string) (string, error) {
	jwe, err := jose.ParseEncryptedCompact(tok, []jose.KeyAlgorithm{jose.ECDH_ES_A256KW}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return "", err
	}
	b, err := jwe.Decrypt(p.enc)
	return string(b), err
}
