package soft

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

var fuzzLMK = keys.MustHex(keys.AES, "7D1A3C5E9B2F4866A1C3E5079B2D4F6183A5C7E90B2D4F6183A5C7E90B2D4F61")

// sampleStore is a valid keystore file under fuzzLMK with two keys.
func sampleStore(t testing.TB) []byte {
	t.Helper()
	rnd := rand.NewChaCha8([32]byte{9})
	entries := map[string]*entry{}
	for i, k := range []struct {
		label string
		usage hsm.Usage
		key   keys.Key
	}{
		{"zpk", hsm.UsageZPK, keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")},
		{"kek", hsm.UsageKEK, keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F")},
	} {
		h := hsm.Handle{ID: "k" + string(rune('0'+i)), Label: k.label, Usage: k.usage, Alg: k.key.Alg(), Len: k.key.Len(), KCV: k.key.KCVHex()}
		rec, err := seal(fuzzLMK, h, k.key, time.Unix(0, 0).UTC(), rnd)
		if err != nil {
			t.Fatal(err)
		}
		entries[h.ID] = &entry{h: h, key: k.key, rec: rec}
	}
	b, err := encodeStore(fuzzLMK, entries)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeStore feeds arbitrary files to the keystore loader: it must
// never panic, and a file it accepts must encode back to one that decodes
// to the same keys.
func FuzzDecodeStore(f *testing.F) {
	good := sampleStore(f)
	f.Add(good)
	f.Add([]byte(`{"format":"tapsim-soft-hsm-keystore","version":1,"lmk_kcv":"","keys":[]}`))
	f.Add([]byte(`{"format":"tapsim-soft-hsm-keystore","version":1,"lmk_kcv":"2ED513845B","keys":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	f.Add(bytes.Replace(good, []byte(`"ZPK"`), []byte(`"TPK"`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := decodeStore(data, fuzzLMK)
		if err != nil {
			return
		}
		m := map[string]*entry{}
		for _, e := range es {
			m[e.h.ID] = e
		}
		again, err := encodeStore(fuzzLMK, m)
		if err != nil {
			t.Fatal(err)
		}
		es2, err := decodeStore(again, fuzzLMK)
		if err != nil {
			t.Fatalf("re-encoded keystore refused: %v", err)
		}
		if len(es2) != len(es) {
			t.Fatalf("%d keys, then %d", len(es), len(es2))
		}
		for _, e := range es2 {
			if !m[e.h.ID].key.Equal(e.key) || m[e.h.ID].h != e.h {
				t.Fatal("a key changed through encode and decode")
			}
		}
	})
}

// The sample file decodes, so that the fuzz seed exercises the whole path.
func TestSampleStoreDecodes(t *testing.T) {
	es, err := decodeStore(sampleStore(t), fuzzLMK)
	require.NoError(t, err)
	require.Len(t, es, 2)
}
