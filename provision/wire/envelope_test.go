package wire_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/wire"
)

// R-G1, R-G2: what one party seals only the addressee opens, and it comes
// out as it went in, with who sent it and when.
func TestSealOpenRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		msg  any
		into func() any
	}{
		{"card data", wire.TypeCardData, cardData(), func() any { return new(wire.CardData) }},
		{"submit OTP", wire.TypeSubmitOTP, wire.SubmitOTP{TaskID: "t-1", TokenUniqueReference: "TUR-1", OTP: "123456"}, func() any { return new(wire.SubmitOTP) }},
		{"lifecycle", wire.TypeLifecycleRequest, wire.LifecycleRequest{TaskID: "t-2", Action: wire.ActionSuspend, TokenUniqueReferences: []string{"TUR-1"}, Actor: wire.ActorCardholder, Reason: "DEVICE_LOST"}, func() any { return new(wire.LifecycleRequest) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tok := w.seal(t, tc.msg, w.wallet, w.tsp, tc.typ)
			require.NotContains(t, tok, testPAN, "R-G1: no card data in clear")
			require.NotContains(t, tok, b64([]byte(testPAN)))

			got := tc.into()
			c, err := wire.OpenInto(tok, w.tsp.Party, w.trust, w.expect(tc.typ), got)
			require.NoError(t, err)
			require.Equal(t, "wallet-provider", c.Issuer)
			require.Equal(t, "token-service", c.Audience)
			require.Equal(t, tc.typ, c.Type)
			require.Equal(t, w.now, c.IssuedAt.UTC())
			require.Equal(t, w.now.Add(wire.DefaultTTL), c.Expiry.UTC())
			require.Equal(t, w.wallet.Public().SignKID, c.Sender.SignKID)
			require.Len(t, c.ID, 22)
			want, _ := json.Marshal(tc.msg)
			have, _ := json.Marshal(got)
			require.JSONEq(t, string(want), string(have))
		})
	}
}

// The envelope's headers are exactly the documented profile.
func TestSealHeaders(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.phone, w.tsp, wire.TypeCardData)
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 5)
	h := header(t, parts[0])
	require.Equal(t, "ECDH-ES+A256KW", h["alg"])
	require.Equal(t, "A256GCM", h["enc"])
	require.Equal(t, "JWT", h["cty"])
	require.Equal(t, w.tsp.Public().EncKID, h["kid"])
	epk := h["epk"].(map[string]any)
	require.Equal(t, "P-256", epk["crv"])
	require.NotContains(t, epk, "d")
	require.Len(t, h, 5)

	// Inside, as the token service sees it: ES256 by the phone's key.
	signed, err := decryptFor(w.tsp, tok)
	require.NoError(t, err)
	sp := strings.Split(signed, ".")
	require.Len(t, sp, 3)
	sh := header(t, sp[0])
	require.Equal(t, map[string]any{"alg": "ES256", "kid": w.phone.Public().SignKID, "typ": "JWT"}, sh)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(unb64(t, sp[1]), &claims))
	for _, k := range []string{"iss", "aud", "iat", "exp", "jti", "typ", "msg"} {
		require.Contains(t, claims, k)
	}
	require.Len(t, claims, 7)
}

// Two seals of the same message differ (fresh ephemeral key, IV and jti).
func TestSealFresh(t *testing.T) {
	w := newWorld(t)
	a, err := wire.Seal(cardData(), w.phone.Party, w.tsp.Public(), wire.Header{Type: wire.TypeCardData, Clock: w.clock})
	require.NoError(t, err)
	b, err := wire.Seal(cardData(), w.phone.Party, w.tsp.Public(), wire.Header{Type: wire.TypeCardData, Clock: w.clock})
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	ca, err := wire.Open(a, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	require.NoError(t, err)
	cb, err := wire.Open(b, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	require.NoError(t, err)
	require.NotEqual(t, ca.ID, cb.ID)
}

// R-G1, R-G2: a byte flipped anywhere in any of the five JWE parts is
// refused.
func TestOpenTamperedCiphertext(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.phone, w.tsp, wire.TypeCardData)
	parts := strings.Split(tok, ".")
	names := []string{"protected header", "encrypted key", "iv", "ciphertext", "tag"}
	for i, name := range names {
		raw := unb64(t, parts[i])
		for _, at := range []int{0, len(raw) / 2, len(raw) - 1} {
			t.Run(name, func(t *testing.T) {
				b := append([]byte(nil), raw...)
				b[at] ^= 0x01
				p := append([]string(nil), parts...)
				p[i] = b64(b)
				_, err := wire.Open(strings.Join(p, "."), w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
				requireRefused(t, err, wire.ErrDecrypt, wire.ErrMalformed, wire.ErrAlgorithm)
			})
		}
	}
	// The untouched envelope still opens: the refusals recorded nothing.
	_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	require.NoError(t, err)
}

// R-G1: parts dropped, added or emptied are malformed.
func TestOpenStructure(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.phone, w.tsp, wire.TypeCardData)
	parts := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"empty":        "",
		"four parts":   strings.Join(parts[:4], "."),
		"six parts":    tok + ".AA",
		"jws":          strings.Join(parts[:3], "."),
		"no header":    "." + strings.Join(parts[1:], "."),
		"not base64":   "!!!!" + tok[4:],
		"json header":  b64([]byte(`[1,2]`)) + "." + strings.Join(parts[1:], "."),
		"dup alg":      b64([]byte(`{"alg":"ECDH-ES+A256KW","alg":"ECDH-ES+A256KW","enc":"A256GCM","kid":"x","cty":"JWT"}`)) + "." + strings.Join(parts[1:], "."),
		"trailing":     b64([]byte(`{"alg":"ECDH-ES+A256KW","enc":"A256GCM","kid":"x","cty":"JWT"}{}`)) + "." + strings.Join(parts[1:], "."),
		"whitespace":   " " + tok,
		"no ciphertxt": strings.Join([]string{parts[0], parts[1], parts[2], "", parts[4]}, "."),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := wire.Open(bad, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
			requireRefused(t, err, wire.ErrMalformed, wire.ErrDecrypt)
		})
	}
}

// R-G2: an envelope signed by a key nobody trusts is refused, whatever
// name it claims.
func TestOpenUntrustedSigner(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.rogue, w.tsp, wire.TypeCardData)
	_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrUnknownKey)

	claims := w.claims("wallet-provider", "token-service", wire.TypeCardData, w.now, time.Minute)
	forged := w.forge(t, claims, w.rogue.sign, w.rogue.Public().SignKID)
	_, err = wire.Open(forged, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrUnknownKey)
}

// R-G2: re-signed by an untrusted key under the kid of a trusted one:
// the signature does not verify.
func TestOpenResignedUnderTrustedKID(t *testing.T) {
	w := newWorld(t)
	claims := w.claims("wallet-provider", "token-service", wire.TypeCardData, w.now, time.Minute)
	forged := w.forge(t, claims, w.rogue.sign, w.wallet.Public().SignKID)
	_, err := wire.Open(forged, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrSignature)
}

// R-G2: the payload of a genuine signature changed (a claim swapped in)
// does not verify.
func TestOpenTamperedSignedPayload(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	signed, err := decryptFor(w.tsp, tok)
	require.NoError(t, err)
	sp := strings.Split(signed, ".")
	other := w.claims("wallet-provider", "token-service", wire.TypeCardData, w.now, time.Minute)
	resealed := encryptRaw(t, sp[0]+"."+b64(other)+"."+sp[2], w.tsp.Public().Enc, w.tsp.Public().EncKID)
	_, err = wire.Open(resealed, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrSignature)
}

// R-G2: a trusted party cannot speak for another: iss must be the owner of
// the signing key, and the sender the caller expects.
func TestOpenIssuer(t *testing.T) {
	w := newWorld(t)
	claims := w.claims("token-service", "token-service", wire.TypeCardData, w.now, time.Minute)
	forged := w.forge(t, claims, w.wallet.sign, w.wallet.Public().SignKID)
	_, err := wire.Open(forged, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrIssuer)

	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	want := w.expect(wire.TypeCardData)
	want.From = "phone-0102030405060708"
	_, err = wire.Open(tok, w.tsp.Party, w.trust, want)
	requireRefused(t, err, wire.ErrIssuer)
}

// R-G1: an envelope sealed to someone else does not open.
func TestOpenOtherRecipient(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.wallet, w.phone, wire.TypeCardData)
	_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrDecrypt)

	// Its kid rewritten to the token service's: the key unwrap fails.
	parts := strings.Split(tok, ".")
	h := header(t, parts[0])
	h["kid"] = w.tsp.Public().EncKID
	hb, _ := json.Marshal(h)
	parts[0] = b64(hb)
	_, err = wire.Open(strings.Join(parts, "."), w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrDecrypt)
}

// R-G2: the phone opens a message meant for it and re-encrypts the signed
// content to the token service: the signed aud gives it away.
func TestOpenForwardedToAnotherAudience(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.wallet, w.phone, wire.TypeCardData)
	signed, err := decryptFor(w.phone, tok)
	require.NoError(t, err)
	forwarded := encryptRaw(t, signed, w.tsp.Public().Enc, w.tsp.Public().EncKID)
	_, err = wire.Open(forwarded, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrAudience)
}

// R-G4: an envelope accepted once is refused the second time, even when
// both arrive together.
func TestOpenReplay(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	require.NoError(t, err)
	_, err = wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrReplay)

	// Re-encrypted (a new outer JWE around the same signed content): the
	// jti is the same, so it is the same message.
	signed, err := decryptFor(w.tsp, tok)
	require.NoError(t, err)
	again := encryptRaw(t, signed, w.tsp.Public().Enc, w.tsp.Public().EncKID)
	_, err = wire.Open(again, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrReplay)
}

// R-G4: of many concurrent deliveries of one envelope exactly one is
// accepted.
func TestOpenReplayConcurrent(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		} else {
			requireRefused(t, err, wire.ErrReplay)
		}
	}
	require.Equal(t, 1, ok)
}

// R-G4: an envelope is good only around its time: expired, issued in the
// future, or valid for too long is refused; a clock within the skew is
// tolerated.
func TestOpenTimes(t *testing.T) {
	tests := []struct {
		name   string
		sealAt time.Duration // from the receiver's now
		ttl    time.Duration
		ok     bool
	}{
		{"fresh", 0, time.Minute, true},
		{"sender 20s ahead", 20 * time.Second, time.Minute, true},
		{"sender 20s behind, nearly expired", -80 * time.Second, time.Minute, true},
		{"expired", -3 * time.Minute, time.Minute, false},
		{"future iat", 5 * time.Minute, time.Minute, false},
		{"lifetime too long", 0, wire.MaxLifetime + time.Minute, false},
		{"exp before iat", 0, -time.Minute, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			claims := w.claims("wallet-provider", "token-service", wire.TypeCardData, w.now.Add(tc.sealAt), tc.ttl)
			tok := w.forge(t, claims, w.wallet.sign, w.wallet.Public().SignKID)
			_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
			if tc.ok {
				require.NoError(t, err)
				return
			}
			requireRefused(t, err, wire.ErrExpired)
		})
	}
}

// R-G4: Seal's own envelopes expire after their TTL plus the skew.
func TestOpenExpiredBySeal(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	w.now = w.now.Add(wire.DefaultTTL + wire.DefaultSkew)
	_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrExpired)
}

// A message opened as another type is refused: an endpoint takes only its
// own.
func TestOpenWrongType(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeSubmitOTP))
	requireRefused(t, err, wire.ErrType)
}

// R-G1, R-G2: only ECDH-ES+A256KW/A256GCM outside and ES256 inside: "none",
// direct and symmetric key management, RSA and HMAC are refused before any
// key is used.
func TestOpenRefusesOtherAlgorithms(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	parts := strings.Split(tok, ".")
	for _, alg := range [][2]string{
		{"none", "A256GCM"}, {"dir", "A256GCM"}, {"RSA-OAEP-256", "A256GCM"}, {"RSA1_5", "A256GCM"},
		{"A256GCMKW", "A256GCM"}, {"ECDH-ES", "A256GCM"}, {"PBES2-HS256+A128KW", "A256GCM"},
		{"ECDH-ES+A256KW", "A128CBC-HS256"}, {"ECDH-ES+A256KW", "A128GCM"},
	} {
		t.Run("jwe "+alg[0]+" "+alg[1], func(t *testing.T) {
			h := header(t, parts[0])
			h["alg"], h["enc"] = alg[0], alg[1]
			hb, _ := json.Marshal(h)
			p := append([]string(nil), parts...)
			p[0] = b64(hb)
			_, err := wire.Open(strings.Join(p, "."), w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
			requireRefused(t, err, wire.ErrAlgorithm)
		})
	}
	claims := w.claims("wallet-provider", "token-service", wire.TypeCardData, w.now, time.Minute)
	walletKID := w.wallet.Public().SignKID
	for _, alg := range []string{"none", "HS256", "RS256", "PS256", "ES384", "EdDSA"} {
		t.Run("jws "+alg, func(t *testing.T) {
			// HS256 keyed with the wallet's public key: the classic
			// confusion; none with an empty signature.
			jws := signRaw(t, map[string]any{"alg": alg, "kid": walletKID, "typ": "JWT"}, claims, nil, []byte("sig"))
			if alg == "none" {
				jws = strings.TrimSuffix(jws, b64([]byte("sig")))
			}
			tok := encryptRaw(t, jws, w.tsp.Public().Enc, w.tsp.Public().EncKID)
			_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
			requireRefused(t, err, wire.ErrAlgorithm)
		})
	}
}

// R-G2: keys come from the directory only; header members that carry or
// point to keys, ask for compression or add critical extensions are
// refused.
func TestOpenRefusesHeaderMembers(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	parts := strings.Split(tok, ".")
	for _, member := range []string{"zip", "jku", "jwk", "x5u", "x5c", "crit", "p2s", "typ"} {
		t.Run("jwe "+member, func(t *testing.T) {
			h := header(t, parts[0])
			h[member] = "x"
			hb, _ := json.Marshal(h)
			p := append([]string(nil), parts...)
			p[0] = b64(hb)
			_, err := wire.Open(strings.Join(p, "."), w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
			requireRefused(t, err, wire.ErrMalformed)
		})
	}
	claims := w.claims("wallet-provider", "token-service", wire.TypeCardData, w.now, time.Minute)
	for _, member := range []string{"jwk", "jku", "x5c", "crit", "b64", "cty"} {
		t.Run("jws "+member, func(t *testing.T) {
			hdr := map[string]any{"alg": "ES256", "kid": w.wallet.Public().SignKID, "typ": "JWT", member: "x"}
			jws := signRaw(t, hdr, claims, w.wallet.sign, nil)
			tok := encryptRaw(t, jws, w.tsp.Public().Enc, w.tsp.Public().EncKID)
			_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
			requireRefused(t, err, wire.ErrMalformed)
		})
	}
}

// Input longer than the limit is refused before it is parsed.
func TestOpenOversize(t *testing.T) {
	w := newWorld(t)
	big := strings.Repeat("A", wire.MaxEnvelope+1)
	_, err := wire.Open(big, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrTooLarge)

	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	want := w.expect(wire.TypeCardData)
	want.MaxSize = len(tok) - 1
	_, err = wire.Open(tok, w.tsp.Party, w.trust, want)
	requireRefused(t, err, wire.ErrTooLarge)
}

// Claims that are not the documented set are malformed.
func TestOpenMalformedClaims(t *testing.T) {
	w := newWorld(t)
	kid := w.wallet.Public().SignKID
	for name, claims := range map[string]string{
		"extra claim": `{"iss":"wallet-provider","aud":"token-service","iat":1796605200,"exp":1796605260,"jti":"AAAAAAAAAAAAAAAAAAAAAA","typ":"card-data","msg":{},"nbf":0}`,
		"short jti":   `{"iss":"wallet-provider","aud":"token-service","iat":1796605200,"exp":1796605260,"jti":"A","typ":"card-data","msg":{}}`,
		"no msg":      `{"iss":"wallet-provider","aud":"token-service","iat":1796605200,"exp":1796605260,"jti":"AAAAAAAAAAAAAAAAAAAAAA","typ":"card-data"}`,
		"not json":    `nope`,
		"array":       `[]`,
	} {
		t.Run(name, func(t *testing.T) {
			tok := w.forge(t, []byte(claims), w.wallet.sign, kid)
			_, err := wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
			requireRefused(t, err, wire.ErrMalformed)
		})
	}
}

// Seal and Open refuse a caller's mistakes rather than send or accept
// something weaker.
func TestSealOpenConfig(t *testing.T) {
	w := newWorld(t)
	_, err := wire.Seal(cardData(), nil, w.tsp.Public(), wire.Header{Type: wire.TypeCardData})
	require.ErrorIs(t, err, wire.ErrConfig)
	_, err = wire.Seal(cardData(), w.wallet.Party, w.tsp.Public(), wire.Header{})
	require.ErrorIs(t, err, wire.ErrType)
	_, err = wire.Seal(cardData(), w.wallet.Party, w.tsp.Public(), wire.Header{Type: wire.TypeCardData, TTL: time.Hour})
	require.ErrorIs(t, err, wire.ErrConfig)
	_, err = wire.Seal(cardData(), w.wallet.Party, wire.PublicKeys{Name: "x"}, wire.Header{Type: wire.TypeCardData})
	require.ErrorIs(t, err, wire.ErrKey)
	_, err = wire.Seal(make(chan int), w.wallet.Party, w.tsp.Public(), wire.Header{Type: wire.TypeCardData})
	require.ErrorIs(t, err, wire.ErrInvalid)

	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	want := w.expect(wire.TypeCardData)
	want.Replay = nil
	_, err = wire.Open(tok, w.tsp.Party, w.trust, want)
	require.ErrorIs(t, err, wire.ErrConfig, "R-G4: no replay cache, no opening")
	_, err = wire.Open(tok, nil, w.trust, w.expect(wire.TypeCardData))
	require.ErrorIs(t, err, wire.ErrConfig)
}

// Decode is strict: a message with a field the type does not have is
// malformed.
func TestClaimsDecodeStrict(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, map[string]string{"accountNumber": testPAN, "expiry": "2812", "cvv2": testCode}, w.phone, w.tsp, wire.TypeCardData)
	var cd wire.CardData
	_, err := wire.OpenInto(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData), &cd)
	requireRefused(t, err, wire.ErrMalformed)
}

// R-G1: an ephemeral key that is not a point of P-256 (invalid-curve
// attack) is refused before any key agreement result is used.
func TestOpenInvalidCurvePoint(t *testing.T) {
	w := newWorld(t)
	tok := w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData)
	parts := strings.Split(tok, ".")
	for name, edit := range map[string]func(map[string]any){
		"off curve": func(epk map[string]any) { epk["y"] = epk["x"] },
		"p-384":     func(epk map[string]any) { epk["crv"] = "P-384" },
		"zero":      func(epk map[string]any) { epk["x"], epk["y"] = b64(make([]byte, 32)), b64(make([]byte, 32)) },
		"missing":   func(epk map[string]any) { delete(epk, "x") },
	} {
		t.Run(name, func(t *testing.T) {
			h := header(t, parts[0])
			edit(h["epk"].(map[string]any))
			hb, _ := json.Marshal(h)
			p := append([]string(nil), parts...)
			p[0] = b64(hb)
			_, err := wire.Open(strings.Join(p, "."), w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
			requireRefused(t, err, wire.ErrDecrypt, wire.ErrMalformed)
		})
	}
}

// Times out of any sane range are malformed, not arithmetic surprises.
func TestOpenTimeRange(t *testing.T) {
	w := newWorld(t)
	kid := w.wallet.Public().SignKID
	for name, iat := range map[string]int64{"zero": 0, "negative": -1 << 62, "far": 1 << 62} {
		t.Run(name, func(t *testing.T) {
			claims := fmt.Sprintf(`{"iss":"wallet-provider","aud":"token-service","iat":%d,"exp":%d,"jti":"AAAAAAAAAAAAAAAAAAAAAA","typ":"card-data","msg":{}}`, iat, iat+60)
			_, err := wire.Open(w.forge(t, []byte(claims), w.wallet.sign, kid), w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
			requireRefused(t, err, wire.ErrMalformed)
		})
	}
}

// R-G1, R-G5g: the card travels sealed by the phone to the token service
// inside the wallet provider's request; the wallet provider cannot open
// it, the token service can, once.
func TestTokenizeNestedCardData(t *testing.T) {
	w := newWorld(t)
	req := w.tokenizeRequest(t)

	walletTrust, err := wire.NewTrustList(w.phone.Public())
	require.NoError(t, err)
	_, err = wire.Open(req.FundingAccountInfo.EncryptedPayload, w.wallet.Party, walletTrust, w.expect(wire.TypeCardData))
	requireRefused(t, err, wire.ErrDecrypt)

	outer := w.seal(t, req, w.wallet, w.tsp, wire.TypeTokenizeRequest)
	require.NotContains(t, outer, testPAN)
	var got wire.TokenizeRequest
	_, err = wire.OpenInto(outer, w.tsp.Party, w.trust, w.expect(wire.TypeTokenizeRequest), &got)
	require.NoError(t, err)
	require.NoError(t, got.Validate())
	cd, c, err := got.OpenCardData(w.tsp.Party, wire.Expect{Replay: w.replay, Clock: w.clock})
	require.NoError(t, err)
	require.Equal(t, cardData(), cd)
	require.Equal(t, "phone-0102030405060708", c.Issuer)

	_, _, err = got.OpenCardData(w.tsp.Party, wire.Expect{Replay: w.replay, Clock: w.clock})
	requireRefused(t, err, wire.ErrReplay)

	// Card data sealed by someone other than the device named in the
	// request is refused.
	other := w.tokenizeRequest(t)
	other.FundingAccountInfo.EncryptedPayload = w.seal(t, cardData(), w.rogue, w.tsp, wire.TypeCardData)
	_, _, err = other.OpenCardData(w.tsp.Party, wire.Expect{Replay: w.replay, Clock: w.clock})
	requireRefused(t, err, wire.ErrUnknownKey)
}

// R-G1, R-G5e, R-G5g: token data (token PAN, ICC master key) is sealed by
// the token service to the device key of the request: the wallet provider
// forwards what it cannot open; the phone opens it with its own trust list
// and answers with a signed acknowledgement.
func TestTokenDataToDevice(t *testing.T) {
	w := newWorld(t)
	dev, err := w.tokenizeRequest(t).DeviceKeys()
	require.NoError(t, err)
	tok, err := wire.Seal(tokenData(), w.tsp.Party, dev, wire.Header{Type: wire.TypeTokenData, Clock: w.clock, Rand: w.rnd})
	require.NoError(t, err)
	require.NotContains(t, tok, "0123456789ABCDEF")

	_, err = wire.Open(tok, w.wallet.Party, w.trust, w.expect(wire.TypeTokenData))
	requireRefused(t, err, wire.ErrDecrypt)

	phoneTrust, err := wire.NewTrustList(w.tsp.Public()) // the app's own list
	require.NoError(t, err)
	var td wire.TokenData
	_, err = wire.OpenInto(tok, w.phone.Party, phoneTrust, wire.Expect{
		Type: wire.TypeTokenData, From: "token-service", Replay: wire.NewMemoryReplayCache(0), Clock: w.clock,
	}, &td)
	require.NoError(t, err)
	require.NoError(t, td.Validate())
	require.Equal(t, tokenData(), td)

	ack := w.seal(t, wire.TokenDataAck{TokenUniqueReference: td.TokenUniqueReference, DeviceID: "0102030405060708", Result: wire.AckInstalled}, w.phone, w.tsp, wire.TypeTokenDataAck)
	var got wire.TokenDataAck
	_, err = wire.OpenInto(ack, w.tsp.Party, w.trust, w.expect(wire.TypeTokenDataAck), &got)
	require.NoError(t, err)
	require.NoError(t, got.Validate())
}

// A sender that puts card data where names go does not get it into the
// receiver's logs through an error.
func TestOpenErrorsQuoteNoCardData(t *testing.T) {
	w := newWorld(t)
	kid := w.wallet.Public().SignKID
	claim := func(iss, aud, typ string) []byte {
		return fmt.Appendf(nil, `{"iss":%q,"aud":%q,"iat":%d,"exp":%d,"jti":"AAAAAAAAAAAAAAAAAAAAAA","typ":%q,"msg":{}}`,
			iss, aud, w.now.Unix(), w.now.Unix()+60, typ)
	}
	for name, tok := range map[string]string{
		"iss":  w.forge(t, claim(testPAN, "token-service", wire.TypeCardData), w.wallet.sign, kid),
		"aud":  w.forge(t, claim("wallet-provider", testPAN, wire.TypeCardData), w.wallet.sign, kid),
		"typ":  w.forge(t, claim("wallet-provider", "token-service", testPAN), w.wallet.sign, kid),
		"kid":  w.forge(t, claim("wallet-provider", "token-service", wire.TypeCardData), w.wallet.sign, testPAN),
		"alg":  encryptRaw(t, signRaw(t, map[string]any{"alg": testPAN, "kid": kid, "typ": "JWT"}, claim("a", "b", "c"), nil, []byte("s")), w.tsp.Public().Enc, w.tsp.Public().EncKID),
		"type": w.seal(t, cardData(), w.wallet, w.tsp, wire.TypeCardData),
	} {
		t.Run(name, func(t *testing.T) {
			want := w.expect(wire.TypeCardData)
			if name == "type" {
				want.Type = testPAN // a caller's mistake is no excuse either
			}
			_, err := wire.Open(tok, w.tsp.Party, w.trust, want)
			require.Error(t, err)
			require.NotContains(t, err.Error(), testPAN)
		})
	}
	var rd wire.RiskData
	rd.Recommendation = testPAN
	require.NotContains(t, rd.Validate().Error(), testPAN)
}
