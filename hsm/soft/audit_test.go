package soft_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

// walk calls fn on every string value of a decoded JSON document.
func walk(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case map[string]any:
		for _, e := range x {
			walk(e, fn)
		}
	case []any:
		for _, e := range x {
			walk(e, fn)
		}
	}
}

// R-G5b, R-S4d: every operation, successful or not, leaves an audit line
// with the operation, the keys' labels and check values and the result;
// no line ever holds a key, a PIN, a PIN block, a PVV, a cryptogram or a
// PAN.
func TestAuditLog(t *testing.T) {
	f := newHSM(t, tempStore(t))
	s := f.hsm
	kekHex := "1F2E3D4C5B6A79880F1E2D3C4B5A69780F1E2D3C4B5A69781F2E3D4C5B6A7988"
	pvkHex := "5CA64B3C22BEC347CA7E6609904BAAED"
	takHex := "042666B4918430A368DE9628D03984C9"
	clearKeys := []string{katIMK, x924BDK, zpkHex, pvkHex, takHex, kekHex, "00112233445566778899AABBCCDDEEFF"}

	imk := mustImport(t, s, "iss/imk-ac", hsm.UsageIMKAC, keys.TDES, katIMK)
	bdk := mustImport(t, s, "acq/bdk", hsm.UsageBDK, keys.TDES, x924BDK)
	zpk := mustImport(t, s, "acq/zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	pvk := mustImport(t, s, "iss/pvk", hsm.UsagePVK, keys.TDES, pvkHex)
	tak := mustImport(t, s, "acq/tak", hsm.UsageTAK, keys.TDES, takHex)
	kek := mustImport(t, s, "zmk", hsm.UsageKEK, keys.AES, kekHex)
	_, err := s.ImportKey("weak", hsm.UsageZPK, keys.MustHex(keys.TDES, "0123456789ABCDEF0123456789ABCDEF"))
	require.Error(t, err)
	gen, err := s.GenerateKey("iss/zak", hsm.UsageZAK, keys.TDES, 16)
	require.NoError(t, err)

	v := arqcVectors(t)[1]
	require.NoError(t, s.VerifyARQC(imk, v.cvn, katPAN, "00", v.tags, h(t, v.arqc)))
	bad := h(t, v.arqc)
	bad[0] ^= 1
	require.Error(t, s.VerifyARQC(imk, v.cvn, katPAN, "00", v.tags, bad))
	arpc, err := s.GenerateARPC(imk, v.cvn, katPAN, "00", v.tags, h(t, v.arqc), h(t, v.resp), nil)
	require.NoError(t, err)

	zblock, err := s.TranslatePINDUKPT(bdk, h(t, "FFFF9876543210E00001"), h(t, "1B9C1845EB993A7A"), zpk, x924PAN)
	require.NoError(t, err)
	_, err = s.TranslatePINDUKPT(zpk, h(t, "FFFF9876543210E00001"), h(t, "1B9C1845EB993A7A"), zpk, x924PAN)
	require.Error(t, err)
	pvvRef, err := s.GeneratePVV(pvk, x924PAN, "1234", 1)
	require.NoError(t, err)
	require.NoError(t, s.VerifyPIN(zpk, zblock, x924PAN, pvk, 1, pvvRef))
	wrong := encPIN(t, zpkHex, "4321", x924PAN)
	require.ErrorIs(t, s.VerifyPIN(zpk, wrong, x924PAN, pvk, 1, pvvRef), hsm.ErrPIN)
	tblock, err := s.TranslatePIN(zpk, zblock, zpk, x924PAN)
	require.NoError(t, err)

	m, err := s.GenerateMAC(tak, []byte(annexData))
	require.NoError(t, err)
	require.ErrorIs(t, s.VerifyMAC(tak, []byte("other"), m), hsm.ErrMAC)
	dm, err := s.GenerateMACDUKPT(bdk, h(t, "FFFF9876543210E00001"), []byte(annexData))
	require.NoError(t, err)
	require.NoError(t, s.VerifyMACDUKPT(bdk, h(t, "FFFF9876543210E00001"), []byte(annexData), h(t, "9CCC7817")))
	exported, err := s.ExportKey(zpk, kek)
	require.NoError(t, err)
	_, err = s.ImportWrappedKey("zpk-copy", hsm.UsageZPK, kek, exported)
	require.NoError(t, err)
	_, err = s.KeyInfo(gen)
	require.NoError(t, err)
	_, err = s.Lookup("nope")
	require.Error(t, err)
	_, err = s.List()
	require.NoError(t, err)
	require.NoError(t, s.DeleteKey(gen))

	// What must never appear.
	var secrets []string
	for _, k := range clearKeys {
		alg := keys.TDES
		if len(k) == 64 || k == "00112233445566778899AABBCCDDEEFF" {
			alg = keys.AES
		}
		kk := keys.MustHex(alg, k)
		secrets = append(secrets, k, hx(kk.WithOddParity().Bytes()))
	}
	secrets = append(secrets, katPAN, x924PAN, "1B9C1845EB993A7A", "041274EDCBA9876F", hx(zblock), hx(wrong),
		hx(tblock), v.arqc, hx(bad), hx(arpc), hx(m), hx(dm), "9CCC7817", hx(exported), hx(testLMK.Bytes()))
	exact := []string{"1234", "4321", pvvRef}

	log := f.log.String()
	upper := strings.ToUpper(log)
	for _, sec := range secrets {
		require.NotContains(t, upper, strings.ToUpper(sec))
		require.NotContains(t, upper, strings.ToUpper(hex.EncodeToString([]byte(sec))))
	}

	ops := map[string]int{}
	results := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
		walk(line, func(s string) {
			for _, e := range exact {
				require.NotEqual(t, e, s)
				require.NotContains(t, s, "PIN "+e)
			}
		})
		if line["msg"] != "hsm" {
			continue
		}
		op, _ := line["op"].(string)
		require.NotEmpty(t, op)
		ops[op]++
		res, _ := line["result"].(string)
		require.Contains(t, []string{"ok", "refused", "mismatch"}, res)
		results[op+"/"+res] = true
		if res != "ok" {
			require.Equal(t, "WARN", line["level"])
			require.NotEmpty(t, line["error"])
		}
	}
	for _, op := range []string{"import-key", "generate-key", "verify-arqc", "generate-arpc",
		"translate-pin-dukpt", "generate-pvv", "verify-pin", "translate-pin", "generate-mac", "verify-mac",
		"generate-mac-dukpt", "verify-mac-dukpt", "export-key", "import-wrapped-key", "key-info", "lookup",
		"list", "delete-key"} {
		require.Positive(t, ops[op], op)
	}
	for _, r := range []string{"verify-arqc/ok", "verify-arqc/mismatch", "verify-pin/ok", "verify-pin/mismatch",
		"import-key/refused", "translate-pin-dukpt/refused", "verify-mac/mismatch"} {
		require.True(t, results[r], r)
	}
	// Keys are named by label and check value.
	require.Contains(t, log, `"imk":{"label":"iss/imk-ac","usage":"IMK-AC","kcv":"`+imk.KCV+`"}`)
	require.Contains(t, log, `"bdk":{"label":"acq/bdk","usage":"BDK","kcv":"`+bdk.KCV+`"}`)
	require.Contains(t, log, `"ksn":"FFFF9876543210E00001"`)
	// A refused key is named too.
	require.Contains(t, log, `"result":"refused","bdk":{"label":"acq/zpk","usage":"ZPK","kcv":"`+zpk.KCV+`"}`)
}
