package scp03_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/scp03"
)

// challenges returns the host and card challenges of a transcript.
func challenges(tc transcript) (host, card []byte) {
	return h(tc.initUpdCmd)[5:13], h(tc.initUpdRsp)[13:21]
}

func sessionOf(t testing.TB, tc transcript) scp03.Session {
	hc, cc := challenges(tc)
	s, err := scp03.SessionKeys(tc.static, hc, cc)
	require.NoError(t, err)
	return s
}

// Each session key is KDF(static key, constant, host || card challenge,
// static key length), as the Amendment D table of constants says.
func TestSessionKeysStepByStep(t *testing.T) {
	for _, tc := range transcripts {
		hc, cc := challenges(tc)
		ctx := append(append([]byte{}, hc...), cc...)
		s := sessionOf(t, tc)
		l := 8 * tc.static.ENC.Len()
		for _, k := range []struct {
			static   keys.Key
			constant byte
			got      keys.Key
		}{
			{tc.static.ENC, 0x04, s.SENC}, {tc.static.MAC, 0x06, s.SMAC}, {tc.static.MAC, 0x07, s.SRMAC},
		} {
			want, err := scp03.KDF(k.static, k.constant, ctx, l)
			require.NoError(t, err)
			require.Equal(t, want, k.got.Bytes(), "%s constant %02X", tc.name, k.constant)
			require.Equal(t, tc.static.ENC.Len(), k.got.Len())
		}
	}
}

// Card and host cryptograms of the transcripts: the card's is in the
// INITIALIZE UPDATE response, the host's opens the EXTERNAL AUTHENTICATE
// data. Each is the first 8 bytes of one CMAC under S-MAC.
func TestCryptograms(t *testing.T) {
	for _, tc := range transcripts {
		hc, cc := challenges(tc)
		s := sessionOf(t, tc)
		card, err := scp03.CardCryptogram(s, hc, cc)
		require.NoError(t, err)
		require.Equal(t, h(tc.initUpdRsp)[21:29], card, tc.name)
		host, err := scp03.HostCryptogram(s, hc, cc)
		require.NoError(t, err)
		require.Equal(t, h(tc.extAuthCmd)[5:13], host, tc.name)

		d := scp03.DerivationData(0x00, append(append([]byte{}, hc...), cc...), 64, 1)
		full, err := mac.CMAC(s.SMAC, d)
		require.NoError(t, err)
		require.Equal(t, full[:8], card)

		require.NoError(t, scp03.VerifyCardCryptogram(s, hc, cc, card))
		require.NoError(t, scp03.VerifyHostCryptogram(s, hc, cc, host))
		require.ErrorIs(t, scp03.VerifyHostCryptogram(s, hc, cc, card), scp03.ErrCryptogram)
		require.ErrorIs(t, scp03.VerifyCardCryptogram(s, hc, cc, host), scp03.ErrCryptogram)
		require.ErrorIs(t, scp03.VerifyCardCryptogram(s, hc, cc, card[:7]), scp03.ErrCryptogram)
	}
}

// S16 mode: 16-byte challenges, 128-bit cryptograms (L = '0080').
func TestCryptogramS16(t *testing.T) {
	st := keySet(16)
	hc := h("00112233445566778899AABBCCDDEEFF")
	cc := h("FFEEDDCCBBAA99887766554433221100")
	s, err := scp03.SessionKeys(st, hc, cc)
	require.NoError(t, err)
	got, err := scp03.CardCryptogram(s, hc, cc)
	require.NoError(t, err)
	want, err := mac.CMAC(s.SMAC, scp03.DerivationData(0x00, append(append([]byte{}, hc...), cc...), 128, 1))
	require.NoError(t, err)
	require.Equal(t, want, got)
	host, err := scp03.HostCryptogram(s, hc, cc)
	require.NoError(t, err)
	require.Len(t, host, 16)
	require.NotEqual(t, got, host)
}

func TestSessionKeysErrors(t *testing.T) {
	st := keySet(16)
	eight := h("0102030405060708")
	for _, tc := range []struct {
		name   string
		static scp03.StaticKeys
		hc, cc []byte
		want   error
	}{
		{"TDES K-ENC", scp03.StaticKeys{ENC: keys.MustHex(keys.TDES, "404142434445464748494A4B4C4D4E4F"), MAC: st.MAC}, eight, eight, scp03.ErrKey},
		{"missing K-MAC", scp03.StaticKeys{ENC: st.ENC}, eight, eight, scp03.ErrKey},
		{"12-byte challenges", st, h("010203040506070809101112"), h("010203040506070809101112"), scp03.ErrLength},
		{"mixed lengths", st, eight, h("00112233445566778899AABBCCDDEEFF"), scp03.ErrLength},
		{"no challenges", st, nil, nil, scp03.ErrLength},
	} {
		_, err := scp03.SessionKeys(tc.static, tc.hc, tc.cc)
		require.ErrorIs(t, err, tc.want, tc.name)
		if tc.want == scp03.ErrLength {
			_, err = scp03.CardCryptogram(scp03.Session{SMAC: st.MAC}, tc.hc, tc.cc)
			require.ErrorIs(t, err, scp03.ErrLength, tc.name)
		}
	}
	_, err := scp03.HostCryptogram(scp03.Session{SMAC: keys.MustHex(keys.TDES, "404142434445464748494A4B4C4D4E4F")}, eight, eight)
	require.ErrorIs(t, err, scp03.ErrKey)
}

// Session keys are as long as their static keys, even when K-ENC and K-MAC
// differ in length; K-DEK takes no part.
func TestSessionKeyLengths(t *testing.T) {
	st := scp03.StaticKeys{ENC: keySet(16).ENC, MAC: keySet(32).MAC}
	s, err := scp03.SessionKeys(st, h("0102030405060708"), h("1112131415161718"))
	require.NoError(t, err)
	require.Equal(t, 16, s.SENC.Len())
	require.Equal(t, 32, s.SMAC.Len())
	require.Equal(t, 32, s.SRMAC.Len())
	st.DEK = keySet(24).DEK
	s2, err := scp03.SessionKeys(st, h("0102030405060708"), h("1112131415161718"))
	require.NoError(t, err)
	require.Equal(t, s, s2)
}

// Pseudo-random card challenges of the transcripts (AES-128 key set,
// counters 1, 2, 3) and the derivation step behind them.
func TestPseudoRandomCardChallenge(t *testing.T) {
	enc := keySet(16).ENC
	for seq, want := range map[uint32]string{1: "30760cd2c47c1dd3", 2: "3eb51047495b249f", 3: "3b1aca81e821f219"} {
		sc, err := scp03.SequenceCounter(seq)
		require.NoError(t, err)
		got, err := scp03.PseudoRandomCardChallenge(enc, sc, isdrAID)
		require.NoError(t, err)
		require.Equal(t, h(want), got)
		full, err := mac.CMAC(enc, scp03.DerivationData(0x02, append(sc[:], isdrAID...), 64, 1))
		require.NoError(t, err)
		require.Equal(t, full[:8], got)
	}
	sc := [3]byte{0, 0, 1}
	c16, err := scp03.PseudoRandomCardChallengeMode(scp03.S16, enc, sc, isdrAID)
	require.NoError(t, err)
	full, err := mac.CMAC(enc, scp03.DerivationData(0x02, append(sc[:], isdrAID...), 128, 1))
	require.NoError(t, err)
	require.Equal(t, full, c16)

	for _, aid := range [][]byte{nil, h("A000000003"[:8]), make([]byte, 17)} {
		_, err := scp03.PseudoRandomCardChallenge(enc, sc, aid)
		require.ErrorIs(t, err, scp03.ErrLength)
	}
	_, err = scp03.PseudoRandomCardChallengeMode(scp03.Mode(12), enc, sc, isdrAID)
	require.ErrorIs(t, err, scp03.ErrLength)
	_, err = scp03.PseudoRandomCardChallenge(keys.MustHex(keys.TDES, "404142434445464748494A4B4C4D4E4F"), sc, isdrAID)
	require.ErrorIs(t, err, scp03.ErrKey)
}

func TestSequenceCounter(t *testing.T) {
	sc, err := scp03.SequenceCounter(0x0102FE)
	require.NoError(t, err)
	require.Equal(t, [3]byte{0x01, 0x02, 0xFE}, sc)
	sc, err = scp03.SequenceCounter(scp03.MaxSequenceCounter)
	require.NoError(t, err)
	require.Equal(t, [3]byte{0xFF, 0xFF, 0xFF}, sc)
	_, err = scp03.SequenceCounter(scp03.MaxSequenceCounter + 1)
	require.ErrorIs(t, err, scp03.ErrSequenceCounter)
}

// R-G5b: printing key sets and sessions, in any verb, shows key check
// values only.
func TestKeysNeverPrinted(t *testing.T) {
	tc := transcripts[0]
	s := sessionOf(t, tc)
	out := fmt.Sprintf("%v %+v %#v %s %x", tc.static, tc.static, tc.static, s, s)
	for _, k := range []keys.Key{tc.static.ENC, tc.static.MAC, tc.static.DEK, s.SENC, s.SMAC, s.SRMAC} {
		hexKey := fmt.Sprintf("%X", k.Bytes())
		require.NotContains(t, strings.ToUpper(out), hexKey[:12])
	}
	require.Contains(t, out, s.SMAC.KCVHex())
}

func TestMode(t *testing.T) {
	require.Equal(t, 8, scp03.S8.Len())
	require.Equal(t, 128, scp03.S16.Bits())
	require.Equal(t, "S16", scp03.S16.String())
	require.Equal(t, "Mode(3)", scp03.Mode(3).String())
	require.False(t, scp03.Mode(0).Valid())
}
