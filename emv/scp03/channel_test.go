package scp03_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/scp03"
)

func findTranscript(name string) transcript {
	for _, tc := range transcripts {
		if tc.name == name {
			return tc
		}
	}
	panic(name)
}

// hostAfterAuth replays a transcript's handshake on the host side.
func hostAfterAuth(t testing.TB, tc transcript) *scp03.Channel {
	hc, _ := challenges(tc)
	resp, err := scp03.ParseInitializeUpdateResponse(h(tc.initUpdRsp))
	require.NoError(t, err)
	ch, _, err := scp03.HostAuthenticate(tc.static, hc, resp, tc.wantLevel)
	require.NoError(t, err)
	return ch
}

// cardAfterAuth replays a transcript's handshake on the card side.
func cardAfterAuth(t testing.TB, tc transcript) *scp03.Channel {
	iu := h(tc.initUpdCmd)
	card := &scp03.Card{Keys: tc.static, KeyVersion: iu[2], Param: 0x70, AID: isdrAID, Counter: tc.wantSeq - 1}
	_, err := card.InitializeUpdate(iu)
	require.NoError(t, err)
	ch, err := card.ExternalAuthenticate(h(tc.extAuthCmd))
	require.NoError(t, err)
	return ch
}

// C-MAC chaining, step by step with direct CMAC computations: the
// EXTERNAL AUTHENTICATE MAC over a zero chaining value, then the GET DATA
// MAC over the previous full CMAC (transcript AES128 level 11).
func TestCMACStepByStep(t *testing.T) {
	tc := findTranscript("AES128 level 11")
	s := sessionOf(t, tc)
	hostCryptogram := h(tc.extAuthCmd)[5:13]

	in := append(make([]byte, 16), h("8482110010")...)
	mac1, err := mac.CMAC(s.SMAC, append(in, hostCryptogram...))
	require.NoError(t, err)
	require.Equal(t, h(tc.extAuthCmd)[13:], mac1[:8], "EXTERNAL AUTHENTICATE C-MAC")

	ch := hostAfterAuth(t, tc)
	require.Equal(t, mac1, ch.MACChainingValue())

	// GET DATA (EID): CLA 80 -> 84, Lc 06 -> 0E, C-MAC over chain || header || data.
	mac2, err := mac.CMAC(s.SMAC, append(append(bytes.Clone(mac1), h("84E291000E")...), h("BF3E035C015A")...))
	require.NoError(t, err)
	w, err := ch.WrapCommand(h(getEIDPlain))
	require.NoError(t, err)
	require.Equal(t, h("84E291000E BF3E035C015A"), w[:11])
	require.Equal(t, mac2[:8], w[11:19])
	require.Equal(t, h("00"), w[19:], "Le kept")
	require.Equal(t, mac2, ch.MACChainingValue())

	// R-MAC over the new chaining value, the response data and SW.
	rmac, err := mac.CMAC(s.SRMAC, append(append(bytes.Clone(mac2), h(getEIDRspPlain)...), 0x90, 0x00))
	require.NoError(t, err)
	require.Equal(t, h(tc.getEIDRsp)[len(h(getEIDRspPlain)):], rmac[:8])
}

func aesCBC(t testing.TB, key, iv, data []byte, encrypt bool) []byte {
	b, err := aes.NewCipher(key)
	require.NoError(t, err)
	out := make([]byte, len(data))
	if encrypt {
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, data)
	} else {
		cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, data)
	}
	return out
}

func aesECB(t testing.TB, key, block []byte) []byte {
	b, err := aes.NewCipher(key)
	require.NoError(t, err)
	out := make([]byte, 16)
	b.Encrypt(out, block)
	return out
}

func counterBlock(n byte, first byte) []byte {
	b := make([]byte, 16)
	b[0] = first
	b[15] = n
	return b
}

// Command encryption step by step with crypto/aes (transcript AES128
// level 03): ICV = AES(S-ENC, counter), AES-CBC over the data padded with
// '80' '00'..., the counter incremented for every command, also those
// without data (cases 1 and 2 take counters 2 and 3, case 3 takes 4).
func TestCDecryptionStepByStep(t *testing.T) {
	tc := findTranscript("AES128 level 03")
	s := sessionOf(t, tc)
	ch := hostAfterAuth(t, tc)
	require.Equal(t, make([]byte, 16), ch.EncryptionCounter())

	icv1 := aesECB(t, s.SENC.Bytes(), counterBlock(1, 0))
	want := aesCBC(t, s.SENC.Bytes(), icv1, h("BF3E035C015A 80000000000000000000"), true)
	w, err := ch.WrapCommand(h(getEIDPlain))
	require.NoError(t, err)
	require.Equal(t, h("84E2910018"), w[:5], "Lc = 16 enciphered + 8 MAC")
	require.Equal(t, want, w[5:21])
	require.Equal(t, counterBlock(1, 0), ch.EncryptionCounter())

	for _, c := range []string{case1Plain, case2Plain} {
		_, err := ch.WrapCommand(h(c))
		require.NoError(t, err)
	}
	require.Equal(t, counterBlock(3, 0), ch.EncryptionCounter())
	icv4 := aesECB(t, s.SENC.Bytes(), counterBlock(4, 0))
	clear := aesCBC(t, s.SENC.Bytes(), icv4, h(tc.case3)[5:21], false)
	require.Equal(t, h("4f0212345c054f9f70c5 800000000000"), clear)
}

// Response decryption step by step (transcript AES128 level 33): ICV =
// AES(S-ENC, counter with its first byte '80').
func TestREncryptionStepByStep(t *testing.T) {
	tc := findTranscript("AES128 level 33")
	s := sessionOf(t, tc)
	icv := aesECB(t, s.SENC.Bytes(), counterBlock(1, 0x80))
	rsp := h(tc.getEIDRsp)
	clear := aesCBC(t, s.SENC.Bytes(), icv, rsp[:32], false)
	require.Equal(t, append(h(getEIDRspPlain), h("8000000000000000000000")...), clear)
}

// handshake runs INITIALIZE UPDATE and EXTERNAL AUTHENTICATE between a
// host and a card of the given "i" parameter and returns both channels.
func handshake(t testing.TB, st scp03.StaticKeys, param scp03.Param, level scp03.SecurityLevel) (host, card *scp03.Channel) {
	m := param.Mode()
	hc := bytes.Repeat([]byte{0xA5}, m.Len())
	c := &scp03.Card{Keys: st, KeyVersion: 0x30, Param: param, AID: isdrAID,
		Rand: bytes.NewReader(bytes.Repeat([]byte{0x3C}, m.Len()))}
	cmd, err := scp03.InitializeUpdate(0x30, hc)
	require.NoError(t, err)
	rsp, err := c.InitializeUpdate(cmd)
	require.NoError(t, err)
	require.Equal(t, []byte{0x90, 0x00}, rsp[len(rsp)-2:])
	resp, err := scp03.ParseInitializeUpdateResponse(rsp[:len(rsp)-2])
	require.NoError(t, err)
	host, ea, err := scp03.HostAuthenticate(st, hc, resp, level)
	require.NoError(t, err)
	require.Equal(t, byte(2*m.Len()), ea[4])
	card, err = c.ExternalAuthenticate(ea)
	require.NoError(t, err)
	require.Equal(t, host.MACChainingValue(), card.MACChainingValue())
	return host, card
}

// Every level, both modes, all AES key lengths: commands of every case and
// many lengths, short and extended, and responses of many lengths, go from
// host to card and back intact.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	for _, n := range []int{16, 24, 32} {
		for _, param := range []scp03.Param{0x70, 0x71, 0x60, 0x61} {
			for _, level := range []scp03.SecurityLevel{scp03.LevelNone, scp03.LevelCMAC, scp03.LevelCMACCDec,
				scp03.LevelCMACRMAC, scp03.LevelCMACCDecRMAC, scp03.LevelFull} {
				name := fmt.Sprintf("AES%d i=%02X level %02X", 8*n, byte(param), byte(level))
				t.Run(name, func(t *testing.T) {
					host, card := handshake(t, keySet(n), param, level)
					ml := param.Mode().Len()
					for i, l := range []int{0, 1, 15, 16, 17, 31, 32, 100, 200} {
						data := make([]byte, l)
						for j := range data {
							data[j] = byte(rng.IntN(256))
						}
						var cmd []byte
						if l == 0 {
							cmd = []byte{0x80, 0xCA, 0x00, 0x66}
						} else {
							cmd = append([]byte{0x80, 0xE2, 0x91, byte(i), byte(l)}, data...)
						}
						if i%2 == 1 {
							cmd = append(cmd, 0x00)
						}
						w, err := host.WrapCommand(cmd)
						require.NoError(t, err)
						if level.Has(scp03.CMAC) {
							require.Equal(t, byte(0x84), w[0])
							wantLc := l
							if level.Has(scp03.CDecryption) && l > 0 {
								wantLc = (l/16 + 1) * 16
							}
							require.Equal(t, byte(wantLc+ml), w[4], "Lc")
						} else {
							require.Equal(t, cmd, w)
						}
						got, err := card.UnwrapCommand(w)
						require.NoError(t, err)
						require.Equal(t, cmd, got)

						rsp := append(bytes.Clone(data), 0x90, 0x00)
						wr, err := card.WrapResponse(rsp)
						require.NoError(t, err)
						if level.Has(scp03.RMAC) {
							require.Len(t, wr, len(rsp)+ml+func() int {
								if level.Has(scp03.REncryption) && l > 0 {
									return (l/16+1)*16 - l
								}
								return 0
							}())
						}
						back, err := host.UnwrapResponse(wr)
						require.NoError(t, err)
						require.Equal(t, rsp, back)
					}
					require.Equal(t, host.MACChainingValue(), card.MACChainingValue())
					require.Equal(t, host.EncryptionCounter(), card.EncryptionCounter())
				})
			}
		}
	}
}

// Extended-length commands keep their coding; a short command whose
// protected data would pass 255 bytes is refused without touching the
// session state.
func TestExtendedLength(t *testing.T) {
	host, card := handshake(t, keySet(16), 0x70, scp03.LevelFull)
	data := bytes.Repeat([]byte{0x5A}, 300)
	cmd := append([]byte{0x80, 0xE2, 0x90, 0x00, 0x00, 0x01, 0x2C}, data...)
	cmd = append(cmd, 0x00, 0x00)
	w, err := host.WrapCommand(cmd)
	require.NoError(t, err)
	require.Equal(t, []byte{0x84, 0xE2, 0x90, 0x00, 0x00, 0x01, 0x30 + 8}, w[:7], "Lc = 304 + 8 on 3 bytes")
	require.Equal(t, []byte{0x00, 0x00}, w[len(w)-2:])
	got, err := card.UnwrapCommand(w)
	require.NoError(t, err)
	require.Equal(t, cmd, got)

	chain, ctr := host.MACChainingValue(), host.EncryptionCounter()
	big := append([]byte{0x80, 0xE2, 0x90, 0x00, 0xF0}, bytes.Repeat([]byte{1}, 0xF0)...)
	_, err = host.WrapCommand(big)
	require.ErrorIs(t, err, scp03.ErrCommand)
	require.Equal(t, chain, host.MACChainingValue())
	require.Equal(t, ctr, host.EncryptionCounter())
	require.False(t, host.Closed())

	w, err = host.WrapCommand(h(case3Plain))
	require.NoError(t, err)
	got, err = card.UnwrapCommand(w)
	require.NoError(t, err)
	require.Equal(t, h(case3Plain), got)
}

// The logical channel stays on the wire but not in the MAC; the further
// interindustry class signals secure messaging in b6.
func TestLogicalChannels(t *testing.T) {
	for _, tc := range []struct{ plain, wrappedCLA byte }{{0x81, 0x85}, {0x83, 0x87}, {0xC2, 0xE2}} {
		host0, _ := handshake(t, keySet(16), 0x70, scp03.LevelCMAC)
		host, card := handshake(t, keySet(16), 0x70, scp03.LevelCMAC)
		cmd := append([]byte{tc.plain}, h(case3Plain)[1:]...)
		w, err := host.WrapCommand(cmd)
		require.NoError(t, err)
		require.Equal(t, tc.wrappedCLA, w[0])
		got, err := card.UnwrapCommand(w)
		require.NoError(t, err)
		require.Equal(t, cmd, got)
		if tc.plain&0x40 == 0 {
			w0, err := host0.WrapCommand(h(case3Plain))
			require.NoError(t, err)
			require.Equal(t, w0[1:], w[1:], "same MAC as on the basic channel")
		}
	}
}

// R-G4: a protected command is good once. Replayed, it fails the C-MAC
// check (the chaining value has moved on) and the session ends.
func TestReplayRejected(t *testing.T) {
	host, card := handshake(t, keySet(16), 0x70, scp03.LevelCMACCDec)
	w, err := host.WrapCommand(h(case3Plain))
	require.NoError(t, err)
	_, err = card.UnwrapCommand(w)
	require.NoError(t, err)
	_, err = card.UnwrapCommand(w)
	var me *scp03.MACError
	require.ErrorAs(t, err, &me)
	require.ErrorIs(t, err, scp03.ErrMAC)
	require.Equal(t, scp03.SWSecurityStatusNotSatisfied, scp03.StatusWord(err))
	require.True(t, card.Closed())
	w2, err := host.WrapCommand(h(case1Plain))
	require.NoError(t, err)
	_, err = card.UnwrapCommand(w2)
	require.ErrorIs(t, err, scp03.ErrClosed)
}

// Every byte but Le (which Amendment D leaves outside the C-MAC) is
// protected: changing any one of them is caught.
func TestTamperedCommand(t *testing.T) {
	for _, plain := range []string{case3Plain, case4Plain, getEIDPlain} {
		host, _ := handshake(t, keySet(16), 0x70, scp03.LevelFull)
		w, err := host.WrapCommand(h(plain))
		require.NoError(t, err)
		last := len(w)
		if len(h(plain)) > 5 && len(h(plain)) == int(h(plain)[4])+6 {
			last-- // Le
		}
		for i := 0; i < last; i++ {
			_, card := handshake(t, keySet(16), 0x70, scp03.LevelFull)
			bad := bytes.Clone(w)
			bad[i] ^= 0x10
			_, err := card.UnwrapCommand(bad)
			require.Error(t, err, "byte %d", i)
			require.True(t, errors.Is(err, scp03.ErrMAC) || errors.Is(err, scp03.ErrCommand), "byte %d: %v", i, err)
			require.True(t, card.Closed())
		}
	}
}

// Every byte of the enciphered data and of the R-MAC is protected.
func TestTamperedResponse(t *testing.T) {
	exchange := func() (*scp03.Channel, []byte) {
		host, card := handshake(t, keySet(16), 0x70, scp03.LevelFull)
		w, err := host.WrapCommand(h(getEIDPlain))
		require.NoError(t, err)
		_, err = card.UnwrapCommand(w)
		require.NoError(t, err)
		wr, err := card.WrapResponse(withSW(h(getEIDRspPlain)))
		require.NoError(t, err)
		return host, wr
	}
	_, wr := exchange()
	for i := 0; i < len(wr)-2; i++ {
		host, wr := exchange()
		wr[i] ^= 0x01
		_, err := host.UnwrapResponse(wr)
		var me *scp03.MACError
		require.ErrorAs(t, err, &me, "byte %d", i)
		require.Equal(t, "R-MAC", me.What)
		require.True(t, host.Closed())
	}
	host, wr := exchange()
	_, err := host.UnwrapResponse(wr[len(wr)-6:])
	require.ErrorIs(t, err, scp03.ErrMAC, "response too short for an R-MAC")
}

// A command without secure messaging where the level asks for a C-MAC is
// refused and ends the session.
func TestMissingCMAC(t *testing.T) {
	_, card := handshake(t, keySet(16), 0x70, scp03.LevelCMAC)
	_, err := card.UnwrapCommand(h(case3Plain))
	var me *scp03.MACError
	require.ErrorAs(t, err, &me)
	require.Equal(t, "C-MAC missing", me.What)
	require.True(t, card.Closed())

	_, card = handshake(t, keySet(16), 0x70, scp03.LevelCMAC)
	_, err = card.UnwrapCommand(h("84F2200204AABBCCDD"))
	require.ErrorIs(t, err, scp03.ErrMAC, "data shorter than a C-MAC")
}

// Bad padding, or enciphered data that is not whole blocks, after a good
// C-MAC ends the session too. The host here MACs without enciphering while
// the card expects C-DECRYPTION.
func TestBadCommandPadding(t *testing.T) {
	s := sessionOf(t, transcripts[0])
	zero := make([]byte, 16)
	for _, tc := range []struct {
		cmd  string
		want error
	}{
		{"80E2910010 00112233445566778899AABBCCDDEEFF", scp03.ErrPadding},
		{"80E291000A 00112233445566778899", scp03.ErrCommand},
	} {
		host, err := scp03.NewChannel(scp03.HostRole, s, scp03.S8, scp03.LevelCMAC, zero)
		require.NoError(t, err)
		card, err := scp03.NewChannel(scp03.CardRole, s, scp03.S8, scp03.LevelCMACCDec, zero)
		require.NoError(t, err)
		w, err := host.WrapCommand(h(tc.cmd))
		require.NoError(t, err)
		_, err = card.UnwrapCommand(w)
		require.ErrorIs(t, err, tc.want)
		require.True(t, card.Closed())
		require.NotContains(t, err.Error(), "0011223344")
	}
}

// Amendment D 6.2.5: a response with an error status word carries no R-MAC
// and no data; warnings ('62xx', '63xx') are protected like '9000'.
func TestErrorStatusWords(t *testing.T) {
	host, card := handshake(t, keySet(16), 0x70, scp03.LevelFull)
	for _, tc := range []struct {
		rsp       string
		protected bool
	}{
		{"6A88", false}, {"AABB6A82", false}, {"6982", false},
		{"6310", true}, {"AABBCC6283", true}, {"9000", true},
	} {
		w, err := host.WrapCommand(h(case1Plain))
		require.NoError(t, err)
		_, err = card.UnwrapCommand(w)
		require.NoError(t, err)
		wr, err := card.WrapResponse(h(tc.rsp))
		require.NoError(t, err)
		if !tc.protected {
			require.Equal(t, h(tc.rsp)[len(h(tc.rsp))-2:], wr, tc.rsp)
		} else {
			require.Greater(t, len(wr), len(h(tc.rsp)), tc.rsp)
		}
		back, err := host.UnwrapResponse(wr)
		require.NoError(t, err)
		require.Equal(t, wr[len(wr)-2:], back[len(back)-2:])
		if tc.protected {
			require.Equal(t, h(tc.rsp), back)
		}
	}
	_, err := card.WrapResponse([]byte{0x90})
	require.ErrorIs(t, err, scp03.ErrResponse)
	_, err = host.UnwrapResponse([]byte{0x90})
	require.ErrorIs(t, err, scp03.ErrResponse)
}

// Each end refuses the other end's operations.
func TestRoles(t *testing.T) {
	host, card := handshake(t, keySet(16), 0x70, scp03.LevelCMAC)
	_, err := host.UnwrapCommand(h(case1Plain))
	require.ErrorIs(t, err, scp03.ErrState)
	_, err = host.WrapResponse(h("9000"))
	require.ErrorIs(t, err, scp03.ErrState)
	_, err = card.WrapCommand(h(case1Plain))
	require.ErrorIs(t, err, scp03.ErrState)
	_, err = card.UnwrapResponse(h("9000"))
	require.ErrorIs(t, err, scp03.ErrState)
	require.Equal(t, scp03.HostRole, host.Role())
	require.Equal(t, "card", card.Role().String())
	require.False(t, host.Closed())
	host.Close()
	_, err = host.WrapCommand(h(case1Plain))
	require.ErrorIs(t, err, scp03.ErrClosed)
	require.Equal(t, make([]byte, 16), host.MACChainingValue(), "chaining value wiped")
}

// Level '00': authenticated, unprotected; secure messaging is refused.
func TestLevelNone(t *testing.T) {
	host, card := handshake(t, keySet(16), 0x00, scp03.LevelNone)
	w, err := host.WrapCommand(h(case4Plain))
	require.NoError(t, err)
	require.Equal(t, h(case4Plain), w)
	got, err := card.UnwrapCommand(w)
	require.NoError(t, err)
	require.Equal(t, w, got)
	_, err = card.UnwrapCommand(h("84F2200208C9811B11F1264CF1"))
	require.ErrorIs(t, err, scp03.ErrCommand)
	require.Equal(t, scp03.SWClassNotSupported, scp03.StatusWord(err))
}

func TestNewChannelErrors(t *testing.T) {
	s := sessionOf(t, transcripts[0])
	zero := make([]byte, 16)
	for _, tc := range []struct {
		name  string
		role  scp03.Role
		s     scp03.Session
		m     scp03.Mode
		level scp03.SecurityLevel
		chain []byte
		want  error
	}{
		{"role", scp03.Role(9), s, scp03.S8, scp03.LevelCMAC, zero, scp03.ErrState},
		{"keys", scp03.HostRole, scp03.Session{}, scp03.S8, scp03.LevelCMAC, zero, scp03.ErrKey},
		{"mode", scp03.HostRole, s, scp03.Mode(4), scp03.LevelCMAC, zero, scp03.ErrLength},
		{"level 02", scp03.HostRole, s, scp03.S8, scp03.CDecryption, zero, scp03.ErrSecurityLevel},
		{"level 31", scp03.HostRole, s, scp03.S8, 0x31, zero, scp03.ErrSecurityLevel},
		{"chain", scp03.CardRole, s, scp03.S8, scp03.LevelCMAC, zero[:8], scp03.ErrLength},
	} {
		_, err := scp03.NewChannel(tc.role, tc.s, tc.m, tc.level, tc.chain)
		require.ErrorIs(t, err, tc.want, tc.name)
	}
}

// String shows the role, mode and level and never a key or chaining value.
func TestChannelString(t *testing.T) {
	host, _ := handshake(t, keySet(16), 0x70, scp03.LevelFull)
	chain := fmt.Sprintf("%X", host.MACChainingValue())
	for _, out := range []string{fmt.Sprint(host), fmt.Sprintf("%#v", host), fmt.Sprintf("%+v", host)} {
		require.Contains(t, out, "SCP03 host channel S8 level 33")
		require.NotContains(t, out, chain[:8])
	}
}

func TestSecurityLevel(t *testing.T) {
	require.Equal(t, "33 (C-MAC, C-DECRYPTION, R-MAC, R-ENCRYPTION)", scp03.LevelFull.String())
	require.Equal(t, "00 (none)", scp03.LevelNone.String())
	require.Equal(t, "81 (C-MAC, RFU bits 80)", scp03.SecurityLevel(0x81).String())
	for l := 0; l < 256; l++ {
		lv := scp03.SecurityLevel(l)
		want := l == 0x00 || l == 0x01 || l == 0x03 || l == 0x11 || l == 0x13 || l == 0x33
		require.Equal(t, want, lv.Valid(), "%02X", l)
	}
	for _, tc := range []struct {
		p    scp03.Param
		l    scp03.SecurityLevel
		want bool
	}{
		{0x00, scp03.LevelCMACCDec, true}, {0x00, scp03.LevelCMACRMAC, false},
		{0x20, scp03.LevelCMACCDecRMAC, true}, {0x20, scp03.LevelFull, false},
		{0x60, scp03.LevelFull, true}, {0x70, 0x02, false},
	} {
		require.Equal(t, tc.want, tc.p.Supports(tc.l), "i=%02X level %02X", byte(tc.p), byte(tc.l))
	}
	require.Equal(t, scp03.S16, scp03.Param(0x71).Mode())
	require.True(t, scp03.Param(0x70).PseudoRandom())
	require.False(t, scp03.Param(0x60).PseudoRandom())
}

// Wrapping twice is refused and leaves the session as it was.
func TestDoubleWrapRefused(t *testing.T) {
	host, card := handshake(t, keySet(16), 0x70, scp03.LevelCMAC)
	w, err := host.WrapCommand(h(case3Plain))
	require.NoError(t, err)
	chain := host.MACChainingValue()
	_, err = host.WrapCommand(w)
	require.ErrorIs(t, err, scp03.ErrCommand)
	require.Equal(t, chain, host.MACChainingValue())
	got, err := card.UnwrapCommand(w)
	require.NoError(t, err)
	require.Equal(t, h(case3Plain), got)
}
