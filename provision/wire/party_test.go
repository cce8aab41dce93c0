package wire_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/wire"
)

// The same random source gives the same keys; key IDs are the RFC 7638
// thumbprints and differ between the two keys.
func TestNewPartyDeterministic(t *testing.T) {
	a, err := wire.NewParty("token-service", seeded(7))
	require.NoError(t, err)
	b, err := wire.NewParty("token-service", seeded(7))
	require.NoError(t, err)
	c, err := wire.NewParty("token-service", seeded(8))
	require.NoError(t, err)
	require.Equal(t, a.Public().SignKID, b.Public().SignKID)
	require.Equal(t, a.Public().EncKID, b.Public().EncKID)
	require.NotEqual(t, a.Public().SignKID, c.Public().SignKID)
	require.NotEqual(t, a.Public().SignKID, a.Public().EncKID)
	require.Len(t, a.Public().SignKID, 43)

	kid, err := wire.Thumbprint(a.Public().Sign)
	require.NoError(t, err)
	require.Equal(t, a.Public().SignKID, kid)
}

// RFC 7638 §3.1 computes thumbprints over the required members in
// lexicographic order; this is the published thumbprint of the P-256 key
// of RFC 7517 A.1.
func TestThumbprintKnownKey(t *testing.T) {
	j := wire.JWK{Kty: "EC", Crv: "P-256", X: "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", Y: "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}
	k, err := j.PublicKey()
	require.NoError(t, err)
	kid, err := wire.Thumbprint(k)
	require.NoError(t, err)
	// sha256(`{"crv":"P-256","kty":"EC","x":"MKBC…","y":"4Etl…"}`), base64url.
	require.Equal(t, "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s", kid)
}

// A party prints its name and key IDs, never a key.
func TestPartyPrintsNoKey(t *testing.T) {
	k := newKeyed(t, "wallet-provider", 1)
	d := k.sign.D.Text(16)
	for _, s := range []string{fmt.Sprint(k.Party), fmt.Sprintf("%v %+v %#v %s", k.Party, k.Party, k.Party, k.Party)} {
		require.NotContains(t, s, d)
		require.NotContains(t, s, k.enc.D.Text(16))
		require.Contains(t, s, "wallet-provider")
	}
}

func TestPartyNames(t *testing.T) {
	for _, name := range []string{"", "a b", strings.Repeat("a", 65), "wallet/provider", "é"} {
		_, err := wire.NewParty(name, seeded(1))
		require.ErrorIs(t, err, wire.ErrKey, name)
	}
	_, err := wire.NewParty("issuer:0158.bank-1_x", seeded(1))
	require.NoError(t, err)

	k := newKeyed(t, "x", 1)
	_, err = wire.NewPartyFromKeys("x", k.sign, k.sign)
	require.ErrorIs(t, err, wire.ErrKey, "one key for both uses")
	p384 := &ecdsa.PrivateKey{PublicKey: ecdsa.PublicKey{Curve: elliptic.P384()}}
	_, err = wire.NewPartyFromKeys("x", k.sign, p384)
	require.ErrorIs(t, err, wire.ErrKey)
}

// The published form round-trips and carries no private member.
func TestPartyKeysJSON(t *testing.T) {
	k := newKeyed(t, "token-service", 2)
	b, err := json.Marshal(k.Public())
	require.NoError(t, err)
	require.NotContains(t, string(b), `"d"`)
	var pk wire.PartyKeys
	require.NoError(t, json.Unmarshal(b, &pk))
	require.Equal(t, "token-service", pk.Name)
	require.Len(t, pk.Keys, 2)
	require.Equal(t, wire.JWK{Kty: "EC", Crv: "P-256", X: pk.Keys[0].X, Y: pk.Keys[0].Y, Use: "sig", Alg: "ES256", Kid: k.Public().SignKID}, pk.Keys[0])
	require.Equal(t, "ECDH-ES+A256KW", pk.Keys[1].Alg)

	var back wire.PublicKeys
	require.NoError(t, json.Unmarshal(b, &back))
	require.True(t, back.Sign.Equal(k.Public().Sign))
	require.True(t, back.Enc.Equal(k.Public().Enc))
	require.Equal(t, k.Public().EncKID, back.EncKID)
}

// Keys that are not what they claim are refused: a private member, a
// kid that is not the thumbprint, a point off the curve, another curve,
// two keys for one use.
func TestPartyKeysRefused(t *testing.T) {
	k := newKeyed(t, "token-service", 2)
	pk, err := k.Public().Keys()
	require.NoError(t, err)
	good, _ := json.Marshal(pk)
	offCurve := pk.Keys[0]
	offCurve.Y = b64(new(big.Int).Add(k.sign.Y, big.NewInt(1)).FillBytes(make([]byte, 32)))
	offCurve.Kid = ""
	for name, doc := range map[string]string{
		"private d":   strings.Replace(string(good), `"use":"sig"`, `"use":"sig","d":"AAAA"`, 1),
		"wrong kid":   strings.Replace(string(good), pk.Keys[0].Kid, pk.Keys[1].Kid, 1),
		"other curve": strings.Replace(string(good), `"P-256"`, `"P-384"`, 1),
		"rsa":         strings.Replace(string(good), `"EC"`, `"RSA"`, 1),
		"alg for use": strings.Replace(string(good), `"ES256"`, `"ECDH-ES+A256KW"`, 1),
		"two sig":     strings.Replace(string(good), `"use":"enc"`, `"use":"sig"`, 1),
		"off curve":   mustJSON(wire.PartyKeys{Name: "token-service", Keys: []wire.JWK{offCurve, pk.Keys[1]}}),
		"no enc":      mustJSON(wire.PartyKeys{Name: "token-service", Keys: pk.Keys[:1]}),
		"extra":       strings.Replace(string(good), `"name"`, `"x":1,"name"`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			var back wire.PublicKeys
			err := json.Unmarshal([]byte(doc), &back)
			require.ErrorIs(t, err, wire.ErrKey)
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// R-S6a spirit: an app's trust list names each party once; a name cannot
// be taken over by other keys without removing it first.
func TestTrustList(t *testing.T) {
	w := newWorld(t)
	_, ok := w.trust.Signer(w.rogue.Public().SignKID)
	require.False(t, ok)
	p, ok := w.trust.Signer(w.wallet.Public().SignKID)
	require.True(t, ok)
	require.Equal(t, "wallet-provider", p.Name)
	_, ok = w.trust.Signer(w.wallet.Public().EncKID)
	require.False(t, ok, "an encryption key does not sign")

	require.NoError(t, w.trust.Add(w.wallet.Public()), "adding the same keys again is harmless")
	impostor := w.rogue.Public()
	impostor.Name = "wallet-provider"
	require.ErrorIs(t, w.trust.Add(impostor), wire.ErrKey)
	stolen := w.wallet.Public()
	stolen.Name = "rogue"
	require.ErrorIs(t, w.trust.Add(stolen), wire.ErrKey, "one signing key, one name")

	b, err := json.Marshal(w.trust)
	require.NoError(t, err)
	back, err := wire.ParseTrustList(b)
	require.NoError(t, err)
	require.Equal(t, w.trust.Names(), back.Names())

	w.trust.Remove("wallet-provider")
	_, ok = w.trust.Signer(w.wallet.Public().SignKID)
	require.False(t, ok)
	require.NoError(t, w.trust.Add(impostor), "rotation is explicit: remove, then add")

	// Safe for concurrent readers and writers.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				w.trust.Remove("phone-0102030405060708")
				_ = w.trust.Add(w.phone.Public())
			} else {
				w.trust.Signer(w.phone.Public().SignKID)
				w.trust.Names()
			}
		})
	}
	wg.Wait()
}
