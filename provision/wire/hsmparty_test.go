package wire_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	josecipher "github.com/go-jose/go-jose/v4/cipher"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/provision/wire"
)

// The Concat KDF gives the key of the ECDH-ES example of RFC 7518
// Appendix C, from Z computed with the example's keys, and agrees with
// go-jose's own derivation for ECDH-ES+A256KW.
func TestConcatKDFKnownAnswer(t *testing.T) {
	d := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	alice, err := ecdh.P256().NewPrivateKey(d("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"))
	require.NoError(t, err)
	bob, err := ecdh.P256().NewPrivateKey(d("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"))
	require.NoError(t, err)
	z, err := alice.ECDH(bob.PublicKey())
	require.NoError(t, err)
	require.Equal(t, []byte{158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156,
		251, 49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196}, z)
	require.Equal(t, "VqqN6vgjbSBcIijNcacQGg", b64(wire.ConcatKDF(z, "A128GCM", []byte("Alice"), []byte("Bob"), 16)))

	a, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"))
	require.NoError(t, err)
	b, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"))
	require.NoError(t, err)
	for _, n := range []int{16, 32, 48} {
		want := josecipher.DeriveECDHES("ECDH-ES+A256KW", []byte("u"), nil, a, &b.PublicKey, n)
		require.Equal(t, want, wire.ConcatKDF(z, "ECDH-ES+A256KW", []byte("u"), nil, n))
	}
}

// hsmWorld is a token service whose keys are generated in a software
// module with a keystore file, and a wallet provider with keys in memory.
type hsmWorld struct {
	*world
	mod  *soft.HSM
	path string
	log  *bytes.Buffer
	tsp  *wire.Party
}

func openModule(t testing.TB, path string, log *bytes.Buffer) *soft.HSM {
	t.Helper()
	mod, err := soft.Open(soft.Config{LMK: testLMK, Path: path, Rand: seeded(5),
		Logger: slog.New(slog.NewJSONHandler(log, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = mod.Close() })
	return mod
}

func newHSMWorld(t testing.TB) *hsmWorld {
	t.Helper()
	w := &hsmWorld{world: newWorld(t), path: filepath.Join(t.TempDir(), "keys.json"), log: &bytes.Buffer{}}
	w.mod = openModule(t, w.path, w.log)
	var err error
	w.tsp, err = wire.HSMParty("token-service", w.mod, "provision/token-service")
	require.NoError(t, err)
	require.True(t, w.tsp.InHSM())
	w.trust.Remove("token-service")
	require.NoError(t, w.trust.Add(w.tsp.Public()))
	return w
}

// An envelope sealed to a party whose keys the module holds opens with
// it; one it seals opens at a party with keys in memory, and its inner
// JWS verifies with its public key through go-jose directly.
func TestHSMPartySealOpen(t *testing.T) {
	w := newHSMWorld(t)
	hdr := wire.Header{Type: wire.TypeCardData, Clock: w.clock, Rand: w.rnd}
	tok, err := wire.Seal(cardData(), w.wallet.Party, w.tsp.Public(), hdr)
	require.NoError(t, err)
	c, err := wire.Open(tok, w.tsp, w.trust, w.expect(wire.TypeCardData))
	require.NoError(t, err)
	require.Equal(t, "wallet-provider", c.Issuer)

	tok, err = wire.Seal(cardData(), w.tsp, w.wallet.Public(), hdr)
	require.NoError(t, err)
	c, err = wire.Open(tok, w.wallet.Party, w.trust, wire.Expect{Type: wire.TypeCardData, Replay: wire.NewMemoryReplayCache(10), Clock: w.clock})
	require.NoError(t, err)
	require.Equal(t, "token-service", c.Issuer)

	signed, err := decryptFor(w.wallet, tok)
	require.NoError(t, err)
	jws, err := jose.ParseSignedCompact(signed, []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	require.Equal(t, w.tsp.Public().SignKID, jws.Signatures[0].Header.KeyID)
	_, err = jws.Verify(w.tsp.Public().Sign)
	require.NoError(t, err)
	_, err = jws.Verify(w.wallet.Public().Sign)
	require.Error(t, err)

	// Two HSM parties talk to each other.
	other, err := wire.HSMParty("wallet-provider-2", w.mod, "provision/wallet-provider-2")
	require.NoError(t, err)
	require.NoError(t, w.trust.Add(other.Public()))
	tok, err = wire.Seal(cardData(), other, w.tsp.Public(), hdr)
	require.NoError(t, err)
	_, err = wire.Open(tok, w.tsp, w.trust, w.expect(wire.TypeCardData))
	require.NoError(t, err)

	log := w.log.String()
	require.Contains(t, log, `"op":"sign-es256"`)
	require.Contains(t, log, `"op":"ecdh"`)
	require.Contains(t, log, `"label":"provision/token-service/enc"`)
}

// A tampered envelope or one sealed to another key does not open.
func TestHSMPartyRefuses(t *testing.T) {
	w := newHSMWorld(t)
	hdr := wire.Header{Type: wire.TypeCardData, Clock: w.clock, Rand: w.rnd}
	tok, err := wire.Seal(cardData(), w.wallet.Party, w.tsp.Public(), hdr)
	require.NoError(t, err)
	parts := strings.Split(tok, ".")
	ek := unb64(t, parts[1])
	ek[3] ^= 1
	parts[1] = b64(ek)
	_, err = wire.Open(strings.Join(parts, "."), w.tsp, w.trust, w.expect(wire.TypeCardData))
	require.ErrorIs(t, err, wire.ErrDecrypt)

	// Sealed to the old in-memory token service key: another kid.
	tok, err = wire.Seal(cardData(), w.wallet.Party, w.world.tsp.Public(), hdr)
	require.NoError(t, err)
	_, err = wire.Open(tok, w.tsp, w.trust, w.expect(wire.TypeCardData))
	require.ErrorIs(t, err, wire.ErrDecrypt)

	_, err = w.tsp.MarshalPEM()
	require.ErrorIs(t, err, wire.ErrKey)
	_, err = w.tsp.UnwrapHCEKey(wire.HCEKey{})
	require.ErrorIs(t, err, wire.ErrKey)
	_, _, err = w.tsp.UnwrapHCESUK(wire.HCESUK{})
	require.ErrorIs(t, err, wire.ErrKey)
}

// A key pair of the wrong usage is refused: when the party is made, and
// by the module when a handle claims another usage than its key's.
func TestHSMPartyWrongUsage(t *testing.T) {
	w := newHSMWorld(t)
	sh, err := w.mod.Lookup("provision/token-service/sign")
	require.NoError(t, err)
	eh, err := w.mod.Lookup("provision/token-service/enc")
	require.NoError(t, err)
	_, err = wire.NewHSMParty("token-service", w.mod, eh, sh)
	require.ErrorIs(t, err, wire.ErrKey)
	_, err = wire.NewHSMParty("token-service", w.mod, sh, sh)
	require.ErrorIs(t, err, wire.ErrKey)
	zpk, err := w.mod.GenerateKey("zpk", hsm.UsageZPK, keys.TDES, 16)
	require.NoError(t, err)
	_, err = wire.NewHSMParty("token-service", w.mod, sh, hsm.Handle{ID: zpk.ID, Usage: hsm.UsageECDH})
	require.ErrorIs(t, err, wire.ErrKey)
	require.ErrorIs(t, err, hsm.ErrUsage)

	// Handles that lie about their usage: the module goes by the key.
	swapped, err := wire.NewHSMParty("token-service", w.mod,
		hsm.Handle{ID: eh.ID, Label: eh.Label, Usage: hsm.UsageECSign},
		hsm.Handle{ID: sh.ID, Label: sh.Label, Usage: hsm.UsageECDH})
	require.NoError(t, err) // public keys are readable for both usages
	_, err = wire.Seal(cardData(), swapped, w.wallet.Public(), wire.Header{Type: wire.TypeCardData, Clock: w.clock, Rand: w.rnd})
	require.ErrorIs(t, err, wire.ErrKey)
	require.NoError(t, w.trust.Add(w.wallet.Public()))
	tok, err := wire.Seal(cardData(), w.wallet.Party, swapped.Public(), wire.Header{Type: wire.TypeCardData, Clock: w.clock, Rand: w.rnd})
	require.NoError(t, err)
	_, err = wire.Open(tok, swapped, w.trust, w.expect(wire.TypeCardData))
	require.ErrorIs(t, err, wire.ErrDecrypt)
	require.Contains(t, w.log.String(), `"result":"refused"`)

	// A label taken by a key of another usage is not reused.
	_, err = w.mod.GenerateKey("other/sign", hsm.UsageKEK, keys.AES, 32)
	require.NoError(t, err)
	_, err = wire.HSMParty("other", w.mod, "other")
	require.ErrorIs(t, err, wire.ErrKey)
}

// The keys survive a restart: the same labels give the same public keys,
// and an envelope sealed before the restart opens after it.
func TestHSMPartySurvivesRestart(t *testing.T) {
	w := newHSMWorld(t)
	before := w.tsp.Public()
	tok, err := wire.Seal(cardData(), w.wallet.Party, before, wire.Header{Type: wire.TypeCardData, Clock: w.clock, Rand: w.rnd})
	require.NoError(t, err)
	require.NoError(t, w.mod.Close())

	mod := openModule(t, w.path, &bytes.Buffer{})
	again, err := wire.HSMParty("token-service", mod, "provision/token-service")
	require.NoError(t, err)
	require.Equal(t, before.SignKID, again.Public().SignKID)
	require.Equal(t, before.EncKID, again.Public().EncKID)
	_, err = wire.Open(tok, again, w.trust, w.expect(wire.TypeCardData))
	require.NoError(t, err)
	list, err := mod.List()
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "party token-service (sig "+before.SignKID+", enc "+before.EncKID+")", again.String())
}

// A party on a ModuleFunc follows its module through a restart on the
// same keystore; while the module is down, what it seals fails with the
// module's error and what is sealed to it is refused as ErrUnavailable,
// not as an envelope that does not decrypt.
func TestHSMPartyModuleFunc(t *testing.T) {
	w := newHSMWorld(t)
	cur, down := wire.PartyModule(w.mod), false
	errDown := errors.New("module host down")
	f := wire.ModuleFunc(func() (wire.PartyModule, error) {
		if down {
			return nil, errDown
		}
		return cur, nil
	})
	p, err := wire.HSMParty("token-service", f, "provision/token-service")
	require.NoError(t, err)
	require.Equal(t, w.tsp.Public().EncKID, p.Public().EncKID, "the keys are found, not made again")
	hdr := wire.Header{Type: wire.TypeCardData, Clock: w.clock, Rand: w.rnd}
	seal := func() string {
		tok, err := wire.Seal(cardData(), w.wallet.Party, p.Public(), hdr)
		require.NoError(t, err)
		return tok
	}
	_, err = wire.Open(seal(), p, w.trust, w.expect(wire.TypeCardData))
	require.NoError(t, err)

	down = true
	_, err = wire.Open(seal(), p, w.trust, w.expect(wire.TypeCardData))
	require.ErrorIs(t, err, wire.ErrUnavailable)
	require.ErrorIs(t, err, errDown)
	require.Equal(t, wire.ReasonUnavailable, wire.RefusalFor(err).Reason)
	_, err = wire.Seal(cardData(), p, w.wallet.Public(), hdr)
	require.ErrorIs(t, err, wire.ErrKey)
	require.ErrorIs(t, err, errDown)

	require.NoError(t, w.mod.Close())
	cur, down = openModule(t, w.path, &bytes.Buffer{}), false
	_, err = wire.Open(seal(), p, w.trust, w.expect(wire.TypeCardData))
	require.NoError(t, err)
	_, err = wire.Seal(cardData(), p, w.wallet.Public(), hdr)
	require.NoError(t, err)
}
