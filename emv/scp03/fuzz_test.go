package scp03_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/scp03"
)

// typed reports whether err is one of the package's sentinel errors.
func typed(err error) bool {
	for _, s := range []error{scp03.ErrMAC, scp03.ErrCommand, scp03.ErrPadding, scp03.ErrLength,
		scp03.ErrResponse, scp03.ErrState, scp03.ErrCryptogram, scp03.ErrSecurityLevel,
		scp03.ErrKeyVersion, scp03.ErrClosed, scp03.ErrSequenceCounter} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzUnwrapCommand feeds arbitrary bytes to a card channel at level '33'
// just after the EXTERNAL AUTHENTICATE of the "AES128 level 33" transcript.
// It must never panic; a failure is a typed error and ends the session; a
// bad C-MAC is a *MACError; and whatever it accepts, a host in the same
// state wraps back to the very same bytes (so nothing unauthenticated got
// through).
func FuzzUnwrapCommand(f *testing.F) {
	tc := findTranscript("AES128 level 33")
	f.Add(h(tc.getEIDCmd))
	f.Add(h(tc.case1))
	f.Add(h(tc.case3))
	f.Add(h("84F2200218"))
	f.Add(h("80F22002"))
	f.Add(h("84E2910000001800112233445566778899AABBCCDDEEFF0011223344556677"))
	for _, plain := range []string{getEIDPlain, case1Plain, case2Plain, case3Plain, case4Plain, "81CA00FE00", "C2F2400004AABBCCDD", "80E20000000003AABBCC0000"} {
		host := hostAfterAuth(f, tc)
		w, err := host.WrapCommand(h(plain))
		require.NoError(f, err)
		f.Add(w)
	}
	s := sessionOf(f, tc)
	chain := hostAfterAuth(f, tc).MACChainingValue()
	f.Fuzz(func(t *testing.T, b []byte) {
		card, err := scp03.NewChannel(scp03.CardRole, s, scp03.S8, scp03.LevelFull, chain)
		require.NoError(t, err)
		in := bytes.Clone(b)
		plain, err := card.UnwrapCommand(b)
		require.Equal(t, in, b, "input not modified")
		if err != nil {
			require.True(t, typed(err), "untyped error %v", err)
			require.True(t, card.Closed())
			var me *scp03.MACError
			if errors.Is(err, scp03.ErrMAC) {
				require.ErrorAs(t, err, &me)
			}
			return
		}
		host, err := scp03.NewChannel(scp03.HostRole, s, scp03.S8, scp03.LevelFull, chain)
		require.NoError(t, err)
		again, err := host.WrapCommand(plain)
		require.NoError(t, err)
		extendedCase1 := len(plain) == 4 && len(b) > 5 && b[4] == 0
		if !extendedCase1 {
			require.Equal(t, b, again)
		}
		require.Equal(t, card.MACChainingValue(), host.MACChainingValue())
	})
}

// FuzzUnwrapResponse feeds arbitrary bytes to a host channel waiting for
// the response to the transcript's GET DATA at level '33'. It must never
// panic; a failure is a typed error; an accepted response with a success
// status word is exactly what the card side would have produced.
func FuzzUnwrapResponse(f *testing.F) {
	tc := findTranscript("AES128 level 33")
	f.Add(withSW(h(tc.getEIDRsp)))
	f.Add(h("6A88"))
	f.Add(h("9000"))
	f.Add(h("00112233445566779000"))
	f.Add(h("001122334455667788996310"))
	f.Fuzz(func(t *testing.T, b []byte) {
		host := hostAfterAuth(t, tc)
		_, err := host.WrapCommand(h(getEIDPlain))
		require.NoError(t, err)
		card := cardAfterAuth(t, tc)
		_, err = card.UnwrapCommand(h(tc.getEIDCmd))
		require.NoError(t, err)

		clear, err := host.UnwrapResponse(b)
		if err != nil {
			require.True(t, typed(err), "untyped error %v", err)
			require.True(t, host.Closed())
			return
		}
		sw := b[len(b)-2:]
		if (sw[0] == 0x90 && sw[1] == 0x00) || sw[0] == 0x62 || sw[0] == 0x63 {
			again, err := card.WrapResponse(clear)
			require.NoError(t, err)
			require.Equal(t, b, again)
		} else {
			require.Equal(t, b, clear)
		}
	})
}

// FuzzParseInitializeUpdateResponse: never panics, and what parses codes
// back to the same bytes.
func FuzzParseInitializeUpdateResponse(f *testing.F) {
	for _, tc := range transcripts {
		f.Add(h(tc.initUpdRsp))
	}
	f.Add(h("0011223344556677889930030011111111111111112222222222222222"))
	f.Add(h("001122334455667788993003711111111111111111111111111111111122222222222222222222222222222222000001"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := scp03.ParseInitializeUpdateResponse(b)
		if err != nil {
			require.ErrorIs(t, err, scp03.ErrResponse)
			return
		}
		require.Equal(t, b, r.Bytes())
	})
}

// FuzzCardHandshake feeds an arbitrary INITIALIZE UPDATE and EXTERNAL
// AUTHENTICATE to a card: never a panic, only typed errors, and a channel
// only for the transcript's genuine pair.
func FuzzCardHandshake(f *testing.F) {
	tc := findTranscript("AES128 level 11")
	f.Add(h(tc.initUpdCmd), h(tc.extAuthCmd))
	f.Add(h(tc.initUpdCmd), h("8482110010"))
	f.Add(h("8050000008"), h(""))
	f.Fuzz(func(t *testing.T, iu, ea []byte) {
		c := &scp03.Card{Keys: tc.static, KeyVersion: 0x30, Param: 0x70, AID: isdrAID, Counter: tc.wantSeq - 1}
		if _, err := c.InitializeUpdate(iu); err != nil {
			require.True(t, typed(err), "untyped error %v", err)
			return
		}
		ch, err := c.ExternalAuthenticate(ea)
		if err != nil {
			require.True(t, typed(err), "untyped error %v", err)
			return
		}
		require.NotNil(t, ch)
		require.Equal(t, h(tc.initUpdCmd)[5:13], iu[5:13])
	})
}
