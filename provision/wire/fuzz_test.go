package wire_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/wire"
)

var update = flag.Bool("update", false, "rewrite the seed corpus under testdata/fuzz/FuzzOpen")

// refusals are the sentinels an envelope may be refused with.
var refusals = []error{
	wire.ErrTooLarge, wire.ErrMalformed, wire.ErrAlgorithm, wire.ErrUnknownKey, wire.ErrDecrypt,
	wire.ErrSignature, wire.ErrIssuer, wire.ErrAudience, wire.ErrType, wire.ErrExpired, wire.ErrReplay,
	wire.ErrCapacity,
}

// corpus are envelopes worth mutating: a valid one and variants of it.
func corpus(t testing.TB) map[string]string {
	w := newWorld(t)
	good := w.seal(t, cardData(), w.phone, w.tsp, wire.TypeCardData)
	parts := strings.Split(good, ".")
	none := b64([]byte(`{"alg":"none","enc":"A256GCM","kid":"x","cty":"JWT"}`))
	return map[string]string{
		"valid":          good,
		"other-type":     w.seal(t, wire.SubmitOTP{TaskID: "t", TokenUniqueReference: "TUR-1", OTP: "123456"}, w.wallet, w.tsp, wire.TypeSubmitOTP),
		"for-the-phone":  w.seal(t, cardData(), w.wallet, w.phone, wire.TypeCardData),
		"untrusted":      w.seal(t, cardData(), w.rogue, w.tsp, wire.TypeCardData),
		"truncated":      good[:len(good)/2],
		"no-tag":         strings.Join(parts[:4], ".") + ".",
		"alg-none":       none + "." + strings.Join(parts[1:], "."),
		"empty-parts":    "....",
		"jws-only":       strings.Join(parts[:3], "."),
		"header-garbage": b64([]byte(`{"alg":`)) + ".a.b.c.d",
	}
}

// Garbage never panics, and whatever opens is from a trusted sender, to
// the token service, of the expected type.
func FuzzOpen(f *testing.F) {
	w := newWorld(f)
	for _, tok := range corpus(f) {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		want := w.expect(wire.TypeCardData)
		want.Replay = wire.NewMemoryReplayCache(4)
		c, err := wire.Open(tok, w.tsp.Party, w.trust, want)
		if err != nil {
			for _, r := range refusals {
				if errors.Is(err, r) {
					return
				}
			}
			t.Fatalf("refusal without a sentinel: %v", err)
		}
		require.Equal(t, "token-service", c.Audience)
		require.Equal(t, wire.TypeCardData, c.Type)
		_, trusted := w.trust.Signer(c.Sender.SignKID)
		require.True(t, trusted)
		var cd wire.CardData
		_ = c.Decode(&cd)
	})
}

// TestFuzzCorpus keeps testdata/fuzz/FuzzOpen in step with corpus
// (rewritten with -update) and checks the stored valid envelope still
// opens at the world's time: the parties' keys are deterministic.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	if *update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for name, tok := range corpus(t) {
			body := fmt.Sprintf("go test fuzz v1\nstring(%s)\n", strconv.Quote(tok))
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "valid"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2)
	tok, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
	require.NoError(t, err)
	w := newWorld(t)
	_, err = wire.Open(tok, w.tsp.Party, w.trust, w.expect(wire.TypeCardData))
	require.NoError(t, err)
}
