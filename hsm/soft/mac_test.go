package soft_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/hsm"
)

// ANSI X9.24-1:2009 annex A: the MAC of "4012345678909D987" (ISO/IEC
// 9797-1 algorithm 3, padding 1, leftmost 4 bytes published) under the
// DUKPT MAC request and response keys of the first transaction.
const annexData = "4012345678909D987"

func TestDUKPTMACKnownAnswers(t *testing.T) {
	f := newHSM(t, "")
	bdk := mustImport(t, f.hsm, "bdk", hsm.UsageBDK, keys.TDES, x924BDK)
	vectors := []struct{ ksn, request, response string }{
		{"FFFF9876543210E00001", "9CCC7817", "20364223"},
		{"FFFF9876543210E00002", "F608A9BC", "D1FCA6BE"},
		{"FFFF9876543210E00010", "D39D3A59", "9E933C88"},
		{"FFFF9876543210F00000", "7DFA9315", "1444BEC3"},
	}
	for _, v := range vectors {
		t.Run(v.ksn, func(t *testing.T) {
			ksn := h(t, v.ksn)
			require.NoError(t, f.hsm.VerifyMACDUKPT(bdk, ksn, []byte(annexData), h(t, v.request)))
			m, err := f.hsm.GenerateMACDUKPT(bdk, ksn, []byte(annexData))
			require.NoError(t, err)
			require.Len(t, m, 8)
			require.Equal(t, v.response, hx(m[:4]))
			// A response MAC is not a request MAC: the variants differ.
			require.ErrorIs(t, f.hsm.VerifyMACDUKPT(bdk, ksn, []byte(annexData), h(t, v.response)), hsm.ErrMAC)
			require.ErrorIs(t, f.hsm.VerifyMACDUKPT(bdk, ksn, []byte(annexData+"0"), h(t, v.request)), hsm.ErrMAC)
		})
	}
}

// The static terminal MAC key of the same computation: the annex's MAC
// request key of counter 1 (its transaction key 042666B49184CFA368DE9628
// D0397BC9 with 000000000000FF00 in each half) imported as a TAK gives the
// published MAC.
func TestTAKKnownAnswer(t *testing.T) {
	f := newHSM(t, "")
	tak := mustImport(t, f.hsm, "tak", hsm.UsageTAK, keys.TDES, "042666B4918430A368DE9628D03984C9")
	m, err := f.hsm.GenerateMAC(tak, []byte(annexData))
	require.NoError(t, err)
	require.Equal(t, "9CCC7817", hx(m[:4]))
	require.NoError(t, f.hsm.VerifyMAC(tak, []byte(annexData), m))
	require.NoError(t, f.hsm.VerifyMAC(tak, []byte(annexData), m[:4]))
}

// AES keys use CMAC (RFC 4493 section 4 examples), 8 bytes.
func TestAESMACKnownAnswers(t *testing.T) {
	f := newHSM(t, "")
	zak := mustImport(t, f.hsm, "zak", hsm.UsageZAK, keys.AES, "2B7E151628AED2A6ABF7158809CF4F3C")
	tests := []struct{ msg, want string }{
		{"", "BB1D6929E9593728"},
		{"6BC1BEE22E409F96E93D7E117393172A", "070A16B46B4D4144"},
		{"6BC1BEE22E409F96E93D7E117393172A AE2D8A571E03AC9C9EB76FAC45AF8E51 30C81C46A35CE411", "DFA66747DE9AE630"},
	}
	for _, tc := range tests {
		m, err := f.hsm.GenerateMAC(zak, h(t, tc.msg))
		require.NoError(t, err)
		require.Equal(t, tc.want, hx(m))
		require.NoError(t, f.hsm.VerifyMAC(zak, h(t, tc.msg), m))
	}
}

// AES DUKPT (X9.24-3:2017 supplement, AES-128 BDK, initial key ID
// 1234567890123456, counter 1): the published MAC generation working key
// A2DC23DE6FDE0824A2BC321E08E4B8B7 is the key the host verifies a
// terminal's request MAC with.
func TestAESDUKPTMAC(t *testing.T) {
	f := newHSM(t, "")
	bdk := mustImport(t, f.hsm, "aes-bdk", hsm.UsageBDK, keys.AES, "FEDCBA9876543210F1F1F1F1F1F1F1F1")
	ksn := h(t, "123456789012345600000001")
	data := []byte(annexData)
	full, err := mac.CMAC(keys.MustHex(keys.AES, "A2DC23DE6FDE0824A2BC321E08E4B8B7"), data)
	require.NoError(t, err)
	require.NoError(t, f.hsm.VerifyMACDUKPT(bdk, ksn, data, full[:8]))
	resp, err := f.hsm.GenerateMACDUKPT(bdk, ksn, data)
	require.NoError(t, err)
	require.NotEqual(t, full[:8], resp) // the response key is another working key
	require.ErrorIs(t, f.hsm.VerifyMACDUKPT(bdk, ksn, data, resp), hsm.ErrMAC)
}

func TestMACRefusals(t *testing.T) {
	f := newHSM(t, "")
	tak := mustImport(t, f.hsm, "tak", hsm.UsageTAK, keys.TDES, "042666B4918430A368DE9628D03984C9")
	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	bdk := mustImport(t, f.hsm, "bdk", hsm.UsageBDK, keys.TDES, x924BDK)
	m, err := f.hsm.GenerateMAC(tak, []byte(annexData))
	require.NoError(t, err)

	bad := append([]byte(nil), m...)
	bad[7] ^= 1
	require.ErrorIs(t, f.hsm.VerifyMAC(tak, []byte(annexData), bad), hsm.ErrMAC)
	require.ErrorIs(t, f.hsm.VerifyMAC(tak, []byte(annexData), m[:3]), hsm.ErrInput)
	require.ErrorIs(t, f.hsm.VerifyMAC(tak, []byte(annexData), append(m, 0)), hsm.ErrInput)
	require.ErrorIs(t, f.hsm.VerifyMAC(tak, []byte(annexData), nil), hsm.ErrInput)
	_, err = f.hsm.GenerateMAC(zpk, []byte(annexData))
	require.ErrorIs(t, err, hsm.ErrUsage) // a PIN key never MACs
	require.ErrorIs(t, f.hsm.VerifyMAC(bdk, []byte(annexData), m), hsm.ErrUsage)
	_, err = f.hsm.GenerateMACDUKPT(tak, h(t, "FFFF9876543210E00001"), nil)
	require.ErrorIs(t, err, hsm.ErrUsage)
	require.ErrorIs(t, f.hsm.VerifyMACDUKPT(bdk, h(t, "FFFF9876543210E000"), nil, m), hsm.ErrInput)
}
