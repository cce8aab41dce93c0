package soft_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
)

// The issuer host keeps its keys across restarts: what one module stored,
// a module opened later on the same file with the same LMK finds and uses,
// under the same IDs.
func TestKeystoreRoundTrip(t *testing.T) {
	path := tempStore(t)
	f := newHSM(t, path)
	imk := mustImport(t, f.hsm, "iss/imk-ac", hsm.UsageIMKAC, keys.TDES, katIMK)
	zak, err := f.hsm.GenerateKey("iss/zak", hsm.UsageZAK, keys.AES, 32)
	require.NoError(t, err)
	gone, err := f.hsm.GenerateKey("iss/old", hsm.UsageZPK, keys.TDES, 16)
	require.NoError(t, err)
	require.NoError(t, f.hsm.DeleteKey(gone))
	mac1, err := f.hsm.GenerateMAC(zak, []byte("0100 message"))
	require.NoError(t, err)
	require.NoError(t, f.hsm.Close())

	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	again := newHSM(t, path)
	list, err := again.hsm.List()
	require.NoError(t, err)
	require.Equal(t, []hsm.Handle{imk, zak}, list)
	v := arqcVectors(t)[0]
	require.NoError(t, again.hsm.VerifyARQC(imk, v.cvn, katPAN, "00", v.tags, h(t, v.arqc)))
	mac2, err := again.hsm.GenerateMAC(zak, []byte("0100 message"))
	require.NoError(t, err)
	require.Equal(t, mac1, mac2)
	_, err = again.hsm.Lookup("iss/old")
	require.ErrorIs(t, err, hsm.ErrUnknownKey)
	require.Contains(t, again.log.String(), `"msg":"hsm keystore loaded"`)
}

// R-G5b: the keystore file holds no key in clear, only sealed records.
func TestKeystoreHoldsNoClearKey(t *testing.T) {
	path := tempStore(t)
	f := newHSM(t, path)
	clear := []string{katIMK, "5CA64B3C22BEC347CA7E6609904BAAED", zpkHex}
	mustImport(t, f.hsm, "imk", hsm.UsageIMKAC, keys.TDES, clear[0])
	mustImport(t, f.hsm, "pvk", hsm.UsagePVK, keys.TDES, clear[1])
	mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, clear[2])
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	text := strings.ToUpper(string(data))
	for _, k := range clear {
		require.NotContains(t, text, k)
		require.NotContains(t, text, hex.EncodeToString(keys.MustHex(keys.TDES, k).WithOddParity().Bytes()))
		require.NotContains(t, text, strings.ToUpper(hex.EncodeToString(keys.MustHex(keys.TDES, k).WithOddParity().Bytes())))
	}
	require.NotContains(t, text, strings.ToUpper(hex.EncodeToString(testLMK.Bytes())))
	require.Contains(t, text, `"LMK_KCV": "`+testLMK.KCVHex()+`"`)
}

// A module opened with another LMK fails cleanly: no key is loaded, the
// file is left as it was, and the error names only check values.
func TestKeystoreWrongLMK(t *testing.T) {
	path := tempStore(t)
	f := newHSM(t, path)
	mustImport(t, f.hsm, "imk", hsm.UsageIMKAC, keys.TDES, katIMK)
	require.NoError(t, f.hsm.Close())
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	other := keys.MustHex(keys.AES, "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0")
	s, err := soft.Open(soft.Config{LMK: other, Path: path})
	require.ErrorIs(t, err, soft.ErrLMK)
	require.Nil(t, s)
	require.Contains(t, err.Error(), other.KCVHex())
	require.NotContains(t, err.Error(), hex.EncodeToString(other.Bytes()))
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

// Every clear field of a record is bound to its key: changing the usage,
// label, ID, algorithm or check value in the file, or the sealed key
// itself, makes the whole keystore refused.
func TestKeystoreTampering(t *testing.T) {
	path := tempStore(t)
	f := newHSM(t, path)
	mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	mustImport(t, f.hsm, "zak", hsm.UsageZAK, keys.TDES, "FEDCBA98765432100123456789ABCDEF")
	require.NoError(t, f.hsm.Close())
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	edit := func(change func(rec map[string]any, all []any) []any) []byte {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(good, &doc))
		ks := doc["keys"].([]any)
		require.Len(t, ks, 2)
		if ks[0].(map[string]any)["label"] != "zpk" {
			ks[0], ks[1] = ks[1], ks[0]
		}
		doc["keys"] = change(ks[0].(map[string]any), ks)
		b, err := json.Marshal(doc)
		require.NoError(t, err)
		return b
	}
	set := func(field string, v any) []byte {
		return edit(func(rec map[string]any, all []any) []any { rec[field] = v; return all })
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"usage changed to ZAK", set("usage", "ZAK")},
		{"usage changed to one of another type", set("usage", "PVK")},
		{"label swapped", set("label", "zpk2")},
		{"ID changed", set("id", "k0000000000000000")},
		{"check value changed", set("kcv", "000000")},
		{"algorithm changed", set("alg", "AES")},
		{"length changed", set("length", 24)},
		{"sealed key altered", edit(func(rec map[string]any, all []any) []any {
			w := []byte(rec["wrapped"].(string))
			if w[0] == '0' {
				w[0] = '1'
			} else {
				w[0] = '0'
			}
			rec["wrapped"] = string(w)
			return all
		})},
		{"nonce altered", set("nonce", "000000000000000000000000")},
		{"records swapped fields", edit(func(rec map[string]any, all []any) []any {
			other := all[1].(map[string]any)
			rec["wrapped"], other["wrapped"] = other["wrapped"], rec["wrapped"]
			rec["nonce"], other["nonce"] = other["nonce"], rec["nonce"]
			return all
		})},
		{"record duplicated", edit(func(_ map[string]any, all []any) []any { return append(all, all[0]) })},
		{"unknown field", set("clear", "0123")},
		{"not JSON", []byte("{\"format\":")},
		{"trailing data", append(append([]byte(nil), good...), []byte("{}")...)},
		{"empty", []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, tc.data, 0o600))
			s, err := soft.Open(soft.Config{LMK: testLMK, Path: path})
			require.ErrorIs(t, err, soft.ErrKeystore)
			require.Nil(t, s)
		})
	}
	// The untouched file still opens.
	require.NoError(t, os.WriteFile(path, good, 0o600))
	s, err := soft.Open(soft.Config{LMK: testLMK, Path: path})
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

// A keystore that cannot be written makes the change fail and leaves the
// module as it was.
func TestKeystoreWriteFailure(t *testing.T) {
	path := tempStore(t)
	f := newHSM(t, path)
	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	// Replace the file by a directory: the atomic rename now fails.
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Mkdir(path, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(path, "x"), []byte("x"), 0o600))

	_, err := f.hsm.GenerateKey("tak", hsm.UsageTAK, keys.TDES, 16)
	require.ErrorIs(t, err, soft.ErrKeystore)
	_, err = f.hsm.Lookup("tak")
	require.ErrorIs(t, err, hsm.ErrUnknownKey)
	require.ErrorIs(t, f.hsm.DeleteKey(zpk), soft.ErrKeystore)
	got, err := f.hsm.Lookup("zpk")
	require.NoError(t, err)
	require.Equal(t, zpk, got)
	// Nothing is left behind in the directory but the files already there.
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1)

	// A parent that is a file cannot hold a keystore at all.
	_, err = soft.Open(soft.Config{LMK: testLMK, Path: filepath.Join(path, "x", "keys.json")})
	require.ErrorIs(t, err, soft.ErrKeystore)
}

func TestLMKSources(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lmk.hex")
	k, err := soft.CreateLMK(p, nil)
	require.NoError(t, err)
	require.Equal(t, keys.AES, k.Alg())
	require.Equal(t, 32, k.Len())
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	_, err = soft.CreateLMK(p, nil)
	require.ErrorIs(t, err, soft.ErrLMK) // never overwritten

	loaded, err := soft.LoadLMK(p)
	require.NoError(t, err)
	require.True(t, k.Equal(loaded))
	again, err := soft.LoadOrCreateLMK(p, nil)
	require.NoError(t, err)
	require.True(t, k.Equal(again))
	fresh, err := soft.LoadOrCreateLMK(filepath.Join(dir, "sub", "lmk2.hex"), nil)
	require.NoError(t, err)
	require.False(t, k.Equal(fresh))

	t.Setenv("TEST_HSM_LMK", "  "+strings.ToLower(hex.EncodeToString(testLMK.Bytes()[:16]))+"\n"+hex.EncodeToString(testLMK.Bytes()[16:])+"\n")
	env, err := soft.LMKFromEnv("TEST_HSM_LMK")
	require.NoError(t, err)
	require.True(t, testLMK.Equal(env))
	_, err = soft.LMKFromEnv("TEST_HSM_LMK_UNSET")
	require.ErrorIs(t, err, soft.ErrLMK)

	for _, bad := range []string{"", "zz", "00112233445566778899AABBCCDDEEFF", strings.Repeat("00", 32)} {
		_, err := soft.ParseLMK(bad)
		require.ErrorIs(t, err, soft.ErrLMK, "%q", bad)
		if bad != "" {
			require.NotContains(t, err.Error(), bad)
		}
	}
	_, err = soft.LoadLMK(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, soft.ErrLMK)
}
