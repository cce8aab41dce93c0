package scp03_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/scp03"
)

func TestInitializeUpdateCommand(t *testing.T) {
	cmd, err := scp03.InitializeUpdate(0x30, h("b13e5f938fc108c4"))
	require.NoError(t, err)
	require.Equal(t, h("8050300008b13e5f938fc108c400"), cmd)
	cmd, err = scp03.InitializeUpdate(0x00, bytes.Repeat([]byte{0x11}, 16))
	require.NoError(t, err)
	require.Equal(t, append(append(h("8050000010"), bytes.Repeat([]byte{0x11}, 16)...), 0x00), cmd)
	_, err = scp03.InitializeUpdate(0x30, h("01020304050607"))
	require.ErrorIs(t, err, scp03.ErrLength)
}

func TestParseInitializeUpdateResponse(t *testing.T) {
	div := "00112233445566778899"
	for _, tc := range []struct {
		name, in         string
		mode             scp03.Mode
		challenge, cgram string
		seq              string
		wantErr          bool
	}{
		{name: "S8 random", in: div + "300300" + "1111111111111111" + "2222222222222222",
			mode: scp03.S8, challenge: "1111111111111111", cgram: "2222222222222222"},
		{name: "S8 pseudo-random", in: div + "300370" + "1111111111111111" + "2222222222222222" + "00002A",
			mode: scp03.S8, challenge: "1111111111111111", cgram: "2222222222222222", seq: "00002A"},
		{name: "S16 pseudo-random", in: div + "300371" + "11111111111111111111111111111111" + "22222222222222222222222222222222" + "000001",
			mode: scp03.S16, challenge: "11111111111111111111111111111111", cgram: "22222222222222222222222222222222", seq: "000001"},
		{name: "S8 random with counter", in: div + "300360" + "1111111111111111" + "2222222222222222" + "000005",
			mode: scp03.S8, challenge: "1111111111111111", cgram: "2222222222222222", seq: "000005"},
		{name: "pseudo-random without counter", in: div + "300370" + "1111111111111111" + "2222222222222222", wantErr: true},
		{name: "SCP02 key information", in: div + "300270" + "1111111111111111" + "2222222222222222" + "000001", wantErr: true},
		{name: "S16 lengths with S8 i", in: div + "300370" + "11111111111111111111111111111111" + "22222222222222222222222222222222" + "000001", wantErr: true},
		{name: "cut", in: div + "3003", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "one byte short", in: div + "300300" + "1111111111111111" + "22222222222222", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := scp03.ParseInitializeUpdateResponse(h(tc.in))
			if tc.wantErr {
				require.ErrorIs(t, err, scp03.ErrResponse)
				return
			}
			require.NoError(t, err)
			require.Equal(t, h(div), r.DiversificationData[:])
			require.Equal(t, byte(0x30), r.KeyVersion)
			require.Equal(t, tc.mode, r.Param.Mode())
			require.Equal(t, h(tc.challenge), r.CardChallenge)
			require.Equal(t, h(tc.cgram), r.CardCryptogram)
			if tc.seq == "" {
				require.Nil(t, r.SequenceCounter)
			} else {
				require.Equal(t, h(tc.seq), r.SequenceCounter)
			}
			require.Equal(t, h(tc.in), r.Bytes())
			out := fmt.Sprintf("%v %+v %#v", r, r, r)
			require.NotContains(t, out, "2222222222")
			require.NotContains(t, out, "1111111111")
			require.Contains(t, out, "key version 30")
		})
	}
}

func TestHostAuthenticateErrors(t *testing.T) {
	tc := transcripts[0]
	hc, _ := challenges(tc)
	resp, err := scp03.ParseInitializeUpdateResponse(h(tc.initUpdRsp))
	require.NoError(t, err)

	bad := resp
	bad.CardCryptogram = bytes.Clone(resp.CardCryptogram)
	bad.CardCryptogram[7] ^= 1
	_, _, err = scp03.HostAuthenticate(tc.static, hc, bad, scp03.LevelFull)
	require.ErrorIs(t, err, scp03.ErrCryptogram)

	wrongKeys := keySet(16)
	wrongKeys.MAC = keySet(16).ENC
	_, _, err = scp03.HostAuthenticate(wrongKeys, hc, resp, scp03.LevelFull)
	require.ErrorIs(t, err, scp03.ErrCryptogram, "wrong K-MAC")

	noRMAC := resp
	noRMAC.Param = 0x10
	_, _, err = scp03.HostAuthenticate(tc.static, hc, noRMAC, scp03.LevelCMACRMAC)
	require.ErrorIs(t, err, scp03.ErrSecurityLevel)
	_, _, err = scp03.HostAuthenticate(tc.static, hc, resp, 0x07)
	require.ErrorIs(t, err, scp03.ErrSecurityLevel)
	_, _, err = scp03.HostAuthenticate(tc.static, append(bytes.Clone(hc), hc...), resp, scp03.LevelCMAC)
	require.ErrorIs(t, err, scp03.ErrLength)

	require.ErrorIs(t, resp.CheckPseudoRandomChallenge(tc.static.ENC, h("A000000151000000")), scp03.ErrCryptogram)
	noSeq := resp
	noSeq.SequenceCounter = nil
	require.ErrorIs(t, noSeq.CheckPseudoRandomChallenge(tc.static.ENC, isdrAID), scp03.ErrResponse)
}

func newCard() *scp03.Card {
	return &scp03.Card{Keys: keySet(16), KeyVersion: 0x30, Param: 0x70, AID: isdrAID}
}

// What the card answers to malformed or unexpected handshake commands.
func TestCardInitializeUpdateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  string
		sw   uint16
	}{
		{"other key version", "8050310008b13e5f938fc108c400", scp03.SWReferencedDataNotFound},
		{"ISO class", "0050300008b13e5f938fc108c400", scp03.SWClassNotSupported},
		{"SM class", "8450300008b13e5f938fc108c400", scp03.SWClassNotSupported},
		{"other INS", "8052300008b13e5f938fc108c400", scp03.SWInsNotSupported},
		{"P2", "8050300108b13e5f938fc108c400", scp03.SWIncorrectP1P2},
		{"S16 challenge to an S8 card", "805030001000112233445566778899AABBCCDDEEFF00", scp03.SWWrongLength},
		{"no challenge", "8050300000", scp03.SWWrongLength},
		{"Lc mismatch", "8050300009b13e5f938fc108c400", scp03.SWWrongLength},
	} {
		c := newCard()
		_, err := c.InitializeUpdate(h(tc.cmd))
		require.Error(t, err, tc.name)
		require.Equal(t, tc.sw, scp03.StatusWord(err), "%s: %v", tc.name, err)
		require.Equal(t, uint32(0), c.Counter, tc.name)
	}
	c := newCard()
	rsp, err := c.InitializeUpdate(h("8050000008b13e5f938fc108c400"))
	require.NoError(t, err, "key version 00: first available")
	require.Equal(t, byte(0x30), rsp[10])
	rsp, err = c.InitializeUpdate(h("8150300008b13e5f938fc108c4"))
	require.NoError(t, err, "logical channel 1, no Le")
	require.Equal(t, h("000002"), rsp[29:32])
}

func TestCardExternalAuthenticateErrors(t *testing.T) {
	tc := findTranscript("AES128 level 33")
	iu := h(tc.initUpdCmd)
	ready := func() *scp03.Card {
		c := &scp03.Card{Keys: tc.static, KeyVersion: 0x30, Param: 0x70, AID: isdrAID, Counter: tc.wantSeq - 1}
		_, err := c.InitializeUpdate(iu)
		require.NoError(t, err)
		return c
	}
	ea := h(tc.extAuthCmd)

	// Without INITIALIZE UPDATE.
	_, err := newCard().ExternalAuthenticate(ea)
	require.ErrorIs(t, err, scp03.ErrState)
	require.Equal(t, scp03.SWConditionsNotSatisfied, scp03.StatusWord(err))

	// A bad C-MAC.
	bad := bytes.Clone(ea)
	bad[len(bad)-1] ^= 1
	_, err = ready().ExternalAuthenticate(bad)
	var me *scp03.MACError
	require.ErrorAs(t, err, &me)
	require.Equal(t, scp03.SWSecurityStatusNotSatisfied, scp03.StatusWord(err))

	// A good C-MAC over a wrong host cryptogram.
	s := sessionOf(t, tc)
	host, err := scp03.NewChannel(scp03.HostRole, s, scp03.S8, scp03.LevelCMAC, make([]byte, 16))
	require.NoError(t, err)
	forged, err := host.WrapCommand(h("8082330008 0102030405060708"))
	require.NoError(t, err)
	_, err = ready().ExternalAuthenticate(forged)
	require.ErrorIs(t, err, scp03.ErrCryptogram)
	require.Equal(t, scp03.SWAuthenticationFailed, scp03.StatusWord(err))

	// A level the "i" parameter does not support, and a level SCP03 does not define.
	c := ready()
	c.Param = 0x10
	_, err = c.ExternalAuthenticate(ea)
	require.ErrorIs(t, err, scp03.ErrSecurityLevel)
	require.Equal(t, scp03.SWIncorrectP1P2, scp03.StatusWord(err))
	for _, cmd := range []string{"8482310010", "8482330110", "8082330010", "8484330010"} {
		b := append(h(cmd), ea[5:]...)
		_, err = ready().ExternalAuthenticate(b)
		require.Error(t, err, cmd)
	}
	_, err = ready().ExternalAuthenticate(ea[:len(ea)-1])
	require.Error(t, err)
	_, err = ready().ExternalAuthenticate(append(h("8482330008"), ea[5:13]...))
	require.ErrorIs(t, err, scp03.ErrLength)
}

// R-G4: an EXTERNAL AUTHENTICATE is good once. Replayed, it finds no
// pending handshake; replayed after a fresh INITIALIZE UPDATE with the same
// host challenge, it fails because the card challenge has moved on with
// the sequence counter.
func TestHandshakeReplay(t *testing.T) {
	tc := findTranscript("AES128 level 11")
	c := &scp03.Card{Keys: tc.static, KeyVersion: 0x30, Param: 0x70, AID: isdrAID, Counter: tc.wantSeq - 1}
	_, err := c.InitializeUpdate(h(tc.initUpdCmd))
	require.NoError(t, err)
	_, err = c.ExternalAuthenticate(h(tc.extAuthCmd))
	require.NoError(t, err)
	_, err = c.ExternalAuthenticate(h(tc.extAuthCmd))
	require.ErrorIs(t, err, scp03.ErrState)

	rsp, err := c.InitializeUpdate(h(tc.initUpdCmd))
	require.NoError(t, err)
	require.NotEqual(t, h(tc.initUpdRsp)[13:21], rsp[13:21], "new card challenge")
	_, err = c.ExternalAuthenticate(h(tc.extAuthCmd))
	require.ErrorIs(t, err, scp03.ErrMAC)
}

func TestSequenceCounterExhausted(t *testing.T) {
	c := newCard()
	c.Counter = scp03.MaxSequenceCounter - 1
	rsp, err := c.InitializeUpdate(h("8050300008b13e5f938fc108c400"))
	require.NoError(t, err)
	require.Equal(t, h("FFFFFF"), rsp[29:32])
	_, err = c.InitializeUpdate(h("8050300008b13e5f938fc108c400"))
	require.ErrorIs(t, err, scp03.ErrSequenceCounter)
	require.Equal(t, scp03.SWConditionsNotSatisfied, scp03.StatusWord(err))
	require.Equal(t, uint32(scp03.MaxSequenceCounter), c.Counter)
}

// A card with random challenges draws them from the injected source.
func TestRandomCardChallenge(t *testing.T) {
	c := &scp03.Card{Keys: keySet(16), KeyVersion: 0x30, Param: 0x60, Rand: bytes.NewReader(h("0102030405060708"))}
	rsp, err := c.InitializeUpdate(h("8050300008b13e5f938fc108c400"))
	require.NoError(t, err)
	require.Len(t, rsp, 29+2, "no sequence counter")
	require.Equal(t, h("0102030405060708"), rsp[13:21])
	require.Equal(t, uint32(0), c.Counter)
	_, err = c.InitializeUpdate(h("8050300008b13e5f938fc108c400"))
	require.ErrorIs(t, err, scp03.ErrRandom, "source ran dry")

	c = &scp03.Card{Keys: keySet(16), KeyVersion: 0x30, Param: 0x60}
	r1, err := c.InitializeUpdate(h("8050300008b13e5f938fc108c400"))
	require.NoError(t, err)
	r2, err := c.InitializeUpdate(h("8050300008b13e5f938fc108c400"))
	require.NoError(t, err)
	require.NotEqual(t, r1[13:21], r2[13:21], "crypto/rand by default")

	c = &scp03.Card{Keys: keySet(16), KeyVersion: 0x30, Param: 0x70}
	_, err = c.InitializeUpdate(h("8050300008b13e5f938fc108c400"))
	require.ErrorIs(t, err, scp03.ErrLength, "pseudo-random needs the AID")
	require.Equal(t, uint32(0), c.Counter)
}
