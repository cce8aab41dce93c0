package pinpad

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
)

var (
	testBDK  = keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	testKSN  = mustKSN("FFFF9876543210E00000")
	testIPEK = keys.MustHex(keys.TDES, "6AC292FAA1315B4D858AB3A3D7D5933A")
)

func mustKSN(s string) dukpt.KSN {
	k, err := dukpt.ParseKSNHex(s)
	if err != nil {
		panic(err)
	}
	return k
}

func TestNewPIN(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"1234", true},
		{"123456789012", true},
		{"123", false},
		{"1234567890123", false},
		{"12a4", false},
		{"", false},
		{"12 34", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := NewPIN(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, ErrPIN)
				if tc.in != "" {
					require.NotContains(t, err.Error(), tc.in)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, len(tc.in), p.Len())
		})
	}
}

func TestPINNeverPrints(t *testing.T) {
	p, err := NewPIN("8642")
	require.NoError(t, err)
	for _, f := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d"} {
		out := fmt.Sprintf(f, p)
		require.NotContains(t, out, "8642", f)
		require.NotContains(t, strings.ToLower(out), hex.EncodeToString([]byte("8642")), f)
	}
	s := struct{ P PIN }{p}
	require.NotContains(t, fmt.Sprintf("%+v %#v", s, s), "8642")
	require.Equal(t, "****", p.String())
}

func TestScript(t *testing.T) {
	ctx := context.Background()
	s := NewScript("1234", Cancel, Bypass, "12")
	p, err := s.ReadPIN(ctx, Prompt{Attempt: 1})
	require.NoError(t, err)
	require.Equal(t, 4, p.Len())
	_, err = s.ReadPIN(ctx, Prompt{Attempt: 2})
	require.ErrorIs(t, err, ErrCancelled)
	_, err = s.ReadPIN(ctx, Prompt{})
	require.ErrorIs(t, err, ErrBypassed)
	_, err = s.ReadPIN(ctx, Prompt{})
	require.ErrorIs(t, err, ErrPIN)
	_, err = s.ReadPIN(ctx, Prompt{})
	require.ErrorIs(t, err, ErrNoEntry)
	require.Len(t, s.Prompts(), 5)
	require.Equal(t, 2, s.Prompts()[1].Attempt)
	require.Equal(t, 0, s.Left())

	a := Always("9999")
	for range 3 {
		p, err := a.ReadPIN(ctx, Prompt{})
		require.NoError(t, err)
		require.Equal(t, 4, p.Len())
	}
	require.Equal(t, -1, a.Left())

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = a.ReadPIN(cctx, Prompt{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestPromptString(t *testing.T) {
	require.Equal(t, "TWD 3,500.00 Please Enter Your PIN (476173******0010)",
		Prompt{Amount: "TWD 3,500.00", MaskedPAN: "476173******0010"}.String())
	require.Equal(t, "Please Enter Your PIN", Prompt{}.String())
}

// ANSI X9.24-1:2009 Annex A: PIN 1234 for PAN 4012345678909 enciphered
// under the DUKPT keys of the first KSNs of the example BDK.
func TestEncipherX924Vectors(t *testing.T) {
	ipek, err := dukpt.DeriveIPEK(testBDK, testKSN.Bytes())
	require.NoError(t, err)
	require.Equal(t, testIPEK.Bytes(), ipek.Bytes())
	pad, err := New(Always("1234"), ipek, testKSN)
	require.NoError(t, err)
	require.Equal(t, "FFFF9876543210E00001", pad.NextKSN().String())
	want := []struct{ ksn, block string }{
		{"FFFF9876543210E00001", "1B9C1845EB993A7A"},
		{"FFFF9876543210E00002", "10A01C8D02C69107"},
		{"FFFF9876543210E00003", "18DC07B94797B466"},
	}
	for _, w := range want {
		b, err := pad.EnterPIN(context.Background(), Prompt{}, "4012345678909")
		require.NoError(t, err)
		require.Equal(t, w.ksn, b.KSN().String())
		require.Equal(t, w.block, strings.ToUpper(hex.EncodeToString(b.PINBlock())))
	}
	require.Equal(t, "FFFF9876543210E00004", pad.NextKSN().String())
}

// Step by step: the host side derives the PIN key of the KSN from the BDK
// and recovers the PIN, and the block is a format 0 block bound to the PAN.
func TestEncipherHostRecovers(t *testing.T) {
	const pan = "4761739001010010"
	pad, err := New(NewScript("1234", "987654"), testIPEK, testKSN)
	require.NoError(t, err)
	for _, want := range []string{"1234", "987654"} {
		b, err := pad.EnterPIN(context.Background(), Prompt{Attempt: 1}, pan)
		require.NoError(t, err)
		pk, err := dukpt.HostWorkingKey(testBDK, b.KSN().Bytes(), dukpt.VariantPIN)
		require.NoError(t, err)
		clear, err := pin.Decrypt(pk, b.PINBlock())
		require.NoError(t, err)
		f, err := pin.DetectFormat(clear)
		require.NoError(t, err)
		require.Equal(t, pin.Format0, f)
		got, err := pin.Decode(pin.Format0, clear, pan)
		require.NoError(t, err)
		require.Equal(t, want, got)
		// The wrong PAN does not give the PIN back.
		other, err := pin.Decode(pin.Format0, clear, "5413330089010012")
		if err == nil {
			require.NotEqual(t, want, other)
		}
	}
}

func TestResumeCounter(t *testing.T) {
	pad, err := New(Always("1234"), testIPEK, testKSN)
	require.NoError(t, err)
	for range 5 {
		_, err := pad.EnterPIN(context.Background(), Prompt{}, "4012345678909")
		require.NoError(t, err)
	}
	next := pad.NextKSN()
	again, err := New(Always("1234"), testIPEK, next)
	require.NoError(t, err)
	b1, err := pad.EnterPIN(context.Background(), Prompt{}, "4012345678909")
	require.NoError(t, err)
	b2, err := again.EnterPIN(context.Background(), Prompt{}, "4012345678909")
	require.NoError(t, err)
	require.Equal(t, b1.KSN(), b2.KSN())
	require.Equal(t, b1.PINBlock(), b2.PINBlock())
	require.Equal(t, pad.Remaining(), again.Remaining())
}

func TestEnterPINErrors(t *testing.T) {
	ctx := context.Background()
	pad, err := New(NewScript(Cancel, Bypass, "1234"), testIPEK, testKSN)
	require.NoError(t, err)
	_, err = pad.EnterPIN(ctx, Prompt{}, "4012345678909")
	require.ErrorIs(t, err, ErrCancelled)
	_, err = pad.EnterPIN(ctx, Prompt{}, "4012345678909")
	require.ErrorIs(t, err, ErrBypassed)
	// No key used by a cancellation or a bypass.
	require.Equal(t, "FFFF9876543210E00001", pad.NextKSN().String())
	_, err = pad.EnterPIN(ctx, Prompt{}, "40123")
	require.ErrorIs(t, err, ErrDevice)
	require.NotContains(t, err.Error(), "40123")
	require.NotContains(t, err.Error(), "1234")

	zero := KeypadFunc(func(context.Context, Prompt) (PIN, error) { return PIN{}, nil })
	pz, err := New(zero, testIPEK, testKSN)
	require.NoError(t, err)
	_, err = pz.EnterPIN(ctx, Prompt{}, "4012345678909")
	require.ErrorIs(t, err, ErrBypassed)

	_, err = New(nil, testIPEK, testKSN)
	require.ErrorIs(t, err, ErrDevice)
	_, err = New(Always("1234"), keys.MustHex(keys.AES, "00112233445566778899AABBCCDDEEFF"), testKSN)
	require.ErrorIs(t, err, ErrDevice)
	_, err = New(Always("1234"), testIPEK, testKSN.WithCounter(0x7FF))
	require.ErrorIs(t, err, ErrDevice)
	require.True(t, errors.Is(err, dukpt.ErrCounter))
}

func TestBlockNeverPrintsPINBlock(t *testing.T) {
	pad, err := New(Always("1234"), testIPEK, testKSN)
	require.NoError(t, err)
	b, err := pad.EnterPIN(context.Background(), Prompt{}, "4012345678909")
	require.NoError(t, err)
	hexBlock := hex.EncodeToString(b.PINBlock())
	for _, f := range []string{"%s", "%v", "%+v", "%#v", "%x", "%X"} {
		out := strings.ToLower(fmt.Sprintf(f, b))
		require.NotContains(t, out, hexBlock, f)
		require.Contains(t, out, "ffff9876543210e00001", f)
	}
	require.False(t, b.IsZero())
	require.True(t, Block{}.IsZero())

	nb, err := NewBlock(b.PINBlock(), b.KSN())
	require.NoError(t, err)
	require.Equal(t, b, nb)
	_, err = NewBlock([]byte{1, 2, 3}, b.KSN())
	require.ErrorIs(t, err, ErrDevice)
}
