package dukpt_test

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/pin"
)

const (
	tdesBDK    = "0123456789ABCDEFFEDCBA9876543210"
	tdesKSN    = "FFFF9876543210E00000"
	tdesIPEK   = "6AC292FAA1315B4D858AB3A3D7D5933A"
	annexPAN   = "4012345678909"
	annexData  = "4012345678909D987"
	annexBlock = "041274EDCBA9876F"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func upper(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

func keyHex(k keys.Key) string { return upper(k.Bytes()) }

func annexIPEK(t testing.TB) keys.Key {
	t.Helper()
	ipek, err := dukpt.DeriveIPEK(keys.MustHex(keys.TDES, tdesBDK), unhex(t, tdesKSN))
	require.NoError(t, err)
	return ipek
}

func TestDeriveIPEKKnownAnswer(t *testing.T) {
	ipek := annexIPEK(t)
	require.Equal(t, tdesIPEK, keyHex(ipek))
	// The counter bits of the KSN do not matter.
	other, err := dukpt.DeriveIPEK(keys.MustHex(keys.TDES, tdesBDK), unhex(t, "FFFF9876543210FFFFFF"))
	require.NoError(t, err)
	require.Equal(t, tdesIPEK, keyHex(other))
}

// Step by step: the IPEK halves are TDES encryptions of the KSN's leftmost
// 8 bytes (counter cleared) under the BDK and the masked BDK.
func TestDeriveIPEKSteps(t *testing.T) {
	bdk := keys.MustHex(keys.TDES, tdesBDK)
	data := unhex(t, "FFFF9876543210E0")
	left, err := bdk.EncryptECB(data)
	require.NoError(t, err)
	masked := keys.MustNew(keys.TDES, keys.XOR(bdk.Bytes(), unhex(t, "C0C0C0C000000000C0C0C0C000000000")))
	right, err := masked.EncryptECB(data)
	require.NoError(t, err)
	require.Equal(t, tdesIPEK, upper(append(left, right...)))
}

// Step by step: the non-reversible key generation process (X9.24-1 A.2).
// Right half: DES(KL, CR1 XOR KR) XOR KR; left half: the same with the key
// register XOR C0C0C0C000000000C0C0C0C000000000.
func nrkgpByHand(t *testing.T, key, cr1 []byte) string {
	t.Helper()
	half := func(key []byte) []byte {
		kl := keys.MustNew(keys.TDES, key[:8]) // single DES
		r, err := kl.EncryptECB(keys.XOR(cr1, key[8:]))
		require.NoError(t, err)
		return keys.XOR(r, key[8:])
	}
	right := half(key)
	left := half(keys.XOR(key, unhex(t, "C0C0C0C000000000C0C0C0C000000000")))
	return upper(append(left, right...))
}

func TestNonReversibleKeyGenerationSteps(t *testing.T) {
	ipek := annexIPEK(t)
	// Counter 1: one run on the IPEK with crypto register 1 = 9876543210E00001.
	want1 := nrkgpByHand(t, ipek.Bytes(), unhex(t, "9876543210E00001"))
	require.Equal(t, tdesInitialSequence[0].key, want1)
	// Counter 3 = bit 2 then bit 1: a run on the key of counter 2 with the
	// register holding both bits.
	want3 := nrkgpByHand(t, unhex(t, tdesInitialSequence[1].key), unhex(t, "9876543210E00003"))
	require.Equal(t, tdesInitialSequence[2].key, want3)
	// Counter 0FF800: nine runs, from bit 0x080000 down to 0x000800.
	k := ipek.Bytes()
	var set uint32
	for _, bit := range []uint32{0x80000, 0x40000, 0x20000, 0x10000, 0x8000, 0x4000, 0x2000, 0x1000, 0x800} {
		set |= bit
		cr1 := unhex(t, fmt.Sprintf("9876543210%06X", 0xE00000|set))
		k = unhex(t, nrkgpByHand(t, k, cr1))
	}
	require.Equal(t, tdesRollover[0].key, upper(k))
	got, err := dukpt.DeriveKey(ipek, unhex(t, "FFFF9876543210E00003"))
	require.NoError(t, err)
	require.Equal(t, want3, keyHex(got))
}

func checkTDESVector(t *testing.T, v tdesVector, k keys.Key) {
	t.Helper()
	require.Equal(t, v.key, keyHex(k))

	pk, err := dukpt.PINKey(k)
	require.NoError(t, err)
	clear, err := pin.Encode(pin.Format0, "1234", annexPAN, nil)
	require.NoError(t, err)
	require.Equal(t, annexBlock, upper(clear))
	enc, err := pin.Encrypt(pk, clear)
	require.NoError(t, err)
	require.Equal(t, v.pinBlock, upper(enc))

	mq, err := dukpt.MACRequestKey(k)
	require.NoError(t, err)
	m, err := mac.Alg3(mq, []byte(annexData), mac.Method1)
	require.NoError(t, err)
	require.Equal(t, v.macRequest, upper(m[:4]))

	mr, err := dukpt.MACResponseKey(k)
	require.NoError(t, err)
	m, err = mac.Alg3(mr, []byte(annexData), mac.Method1)
	require.NoError(t, err)
	require.Equal(t, v.macResponse, upper(m[:4]))

	dk, err := dukpt.DataRequestKey(k)
	require.NoError(t, err)
	ct, err := dk.EncryptCBC(nil, mac.Pad([]byte(annexData), 8, mac.Method1))
	require.NoError(t, err)
	require.Equal(t, v.dataRequest, upper(ct))
}

// ANSI X9.24-1:2009 A.4.2 and A.4.3, derived by the receiving host.
func TestDeriveKeyAnnexA(t *testing.T) {
	ipek := annexIPEK(t)
	for _, set := range [][]tdesVector{tdesInitialSequence, tdesRollover} {
		for _, v := range set {
			t.Run(v.ksn, func(t *testing.T) {
				k, err := dukpt.DeriveKey(ipek, unhex(t, v.ksn))
				require.NoError(t, err)
				checkTDESVector(t, v, k)
				// The one-call host path agrees.
				pk, err := dukpt.HostWorkingKey(keys.MustHex(keys.TDES, tdesBDK), unhex(t, v.ksn), dukpt.VariantPIN)
				require.NoError(t, err)
				want, err := dukpt.PINKey(k)
				require.NoError(t, err)
				require.True(t, want.Equal(pk))
			})
		}
	}
}

// The same vectors produced by the originating device, in order.
func TestTerminalAnnexA(t *testing.T) {
	term, err := dukpt.NewTerminal(annexIPEK(t), unhex(t, tdesKSN))
	require.NoError(t, err)
	for _, v := range tdesInitialSequence {
		require.Equal(t, v.ksn, term.KSN().String())
		ksn, k, err := term.Next()
		require.NoError(t, err)
		require.Equal(t, v.ksn, ksn.String())
		checkTDESVector(t, v, k)
	}

	// Rollover: resumed at counter 0FF800 (9 one bits); 0FF801 has 10 one
	// bits, so the counters after it jump by their lowest one bit.
	term, err = dukpt.NewTerminal(annexIPEK(t), unhex(t, tdesRollover[0].ksn))
	require.NoError(t, err)
	for _, v := range tdesRollover {
		ksn, k, err := term.Next()
		require.NoError(t, err)
		require.Equal(t, v.ksn, ksn.String())
		checkTDESVector(t, v, k)
	}
}

// Step by step: each variant XORs FF into one byte of each half; the data
// variants then encipher themselves.
func TestVariantSteps(t *testing.T) {
	k := keys.MustHex(keys.TDES, tdesInitialSequence[0].key)
	tests := []struct {
		v    dukpt.Variant
		mask string
		self bool
	}{
		{dukpt.VariantPIN, "00000000000000FF00000000000000FF", false},
		{dukpt.VariantMACRequest, "000000000000FF00000000000000FF00", false},
		{dukpt.VariantMACResponse, "00000000FF00000000000000FF000000", false},
		{dukpt.VariantDataRequest, "0000000000FF00000000000000FF0000", true},
		{dukpt.VariantDataResponse, "000000FF00000000000000FF00000000", true},
	}
	for _, tc := range tests {
		t.Run(tc.v.String(), func(t *testing.T) {
			want := keys.MustNew(keys.TDES, keys.XOR(k.Bytes(), unhex(t, tc.mask)))
			if tc.self {
				enc, err := want.EncryptECB(want.Bytes())
				require.NoError(t, err)
				want = keys.MustNew(keys.TDES, enc)
			}
			got, err := dukpt.WorkingKey(k, tc.v)
			require.NoError(t, err)
			require.Equal(t, keyHex(want), keyHex(got))
		})
	}
	require.Equal(t, "042666B49184CF5C68DE9628D0397B36", keyHex(must(dukpt.PINKey(k))))
	_, err := dukpt.WorkingKey(k, dukpt.Variant(9))
	require.ErrorIs(t, err, dukpt.ErrKey)
	for _, f := range []func(keys.Key) (keys.Key, error){
		dukpt.PINKey, dukpt.MACRequestKey, dukpt.MACResponseKey, dukpt.DataRequestKey, dukpt.DataResponseKey,
	} {
		_, err := f(keys.MustHex(keys.AES, tdesBDK))
		require.ErrorIs(t, err, dukpt.ErrKey)
	}
}

func must(k keys.Key, err error) keys.Key {
	if err != nil {
		panic(err)
	}
	return k
}

func TestParseVariant(t *testing.T) {
	for in, want := range map[string]dukpt.Variant{
		"pin": dukpt.VariantPIN, "MAC": dukpt.VariantMACRequest, "mac-response": dukpt.VariantMACResponse,
		"data": dukpt.VariantDataRequest, " data-response ": dukpt.VariantDataResponse,
	} {
		got, err := dukpt.ParseVariant(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := dukpt.ParseVariant("kek")
	require.Error(t, err)
	require.Equal(t, "Variant(0)", dukpt.Variant(0).String())
}

func TestKSN(t *testing.T) {
	k, err := dukpt.ParseKSNHex("FFFF 9876543210E00015")
	require.NoError(t, err)
	require.Equal(t, uint32(0x15), k.Counter())
	require.Equal(t, "FFFF9876543210E00000", k.Initial().String())
	// The counter is the low 5 bits of byte 7 and bytes 8-9; the top 3 bits
	// of byte 7 belong to the device ID and are kept.
	require.Equal(t, "FFFF9876543210FFFFFF", k.WithCounter(dukpt.MaxCounter).String())
	require.Equal(t, "FFFF9876543210E12345", k.WithCounter(0x12345).String())
	require.Equal(t, "FFFF9876543210E00000", k.WithCounter(1<<21).String(), "masked to 21 bits")
	k2, err := dukpt.ParseKSNHex("FFFF98765432101FFFFF")
	require.NoError(t, err)
	require.Equal(t, uint32(0x1FFFFF), k2.Counter())
	require.Equal(t, unhex(t, "FFFF9876543210E00015"), k.Bytes())

	for _, s := range []string{"", "FFFF9876543210E000", "FFFF9876543210E0000000", "FFFF9876543210E0000G", "F"} {
		_, err := dukpt.ParseKSNHex(s)
		require.ErrorIs(t, err, dukpt.ErrKSN, s)
	}
	_, err = dukpt.ParseKSN(make([]byte, 12))
	require.ErrorIs(t, err, dukpt.ErrKSN)
}

func TestValidCounter(t *testing.T) {
	tests := []struct {
		c  uint32
		ok bool
	}{
		{0, false}, {1, true}, {0x3FF, true}, {0x7FF, false}, {0x1FF800, true},
		{0x1FFC00, false}, {0x0FF801, true}, {0x0FF803, false}, {0x200000, false}, {0x100000, true},
	}
	for _, tc := range tests {
		require.Equal(t, tc.ok, dukpt.ValidCounter(tc.c), "%#x", tc.c)
	}
}

func TestDeriveKeyErrors(t *testing.T) {
	ipek := annexIPEK(t)
	tests := []struct {
		name string
		key  keys.Key
		ksn  string
		want error
	}{
		{"counter zero", ipek, "FFFF9876543210E00000", dukpt.ErrCounter},
		{"11 one bits", ipek, "FFFF9876543210E007FF", dukpt.ErrCounter},
		{"short KSN", ipek, "FFFF9876543210E000", dukpt.ErrKSN},
		{"long KSN", ipek, "123456789012345600000001", dukpt.ErrKSN},
		{"AES key", keys.MustHex(keys.AES, tdesIPEK), "FFFF9876543210E00001", dukpt.ErrKey},
		{"triple-length key", keys.MustHex(keys.TDES, tdesIPEK+"0123456789ABCDEF"), "FFFF9876543210E00001", dukpt.ErrKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dukpt.DeriveKey(tc.key, unhex(t, tc.ksn))
			require.ErrorIs(t, err, tc.want)
			require.NotContains(t, err.Error(), tdesIPEK[:8])
		})
	}
	for _, bdk := range []keys.Key{
		keys.MustHex(keys.AES, tdesBDK), keys.MustHex(keys.TDES, "0123456789ABCDEF"), {},
	} {
		_, err := dukpt.DeriveIPEK(bdk, unhex(t, tdesKSN))
		require.ErrorIs(t, err, dukpt.ErrKey)
	}
	_, err := dukpt.DeriveIPEK(keys.MustHex(keys.TDES, tdesBDK), unhex(t, "FFFF98765432"))
	require.ErrorIs(t, err, dukpt.ErrKSN)
	_, err = dukpt.HostWorkingKey(keys.MustHex(keys.TDES, tdesBDK), unhex(t, tdesKSN), dukpt.VariantPIN)
	require.ErrorIs(t, err, dukpt.ErrCounter)
}

// The terminal's future-key registers must give, transaction after
// transaction, exactly the keys the host derives from the IPEK, and use
// exactly the counters with at most 10 one bits, in order.
func TestTerminalMatchesHost(t *testing.T) {
	ipek := annexIPEK(t)
	check := func(t *testing.T, start uint32, n int) {
		ksn := must2(dukpt.ParseKSNHex(tdesKSN)).WithCounter(start)
		term, err := dukpt.NewTerminal(ipek, ksn[:])
		require.NoError(t, err)
		want := start
		for range n {
			for !dukpt.ValidCounter(want) {
				want++
			}
			got, k, err := term.Next()
			require.NoError(t, err)
			require.Equal(t, want, got.Counter())
			hk, err := dukpt.DeriveKey(ipek, got[:])
			require.NoError(t, err)
			require.True(t, hk.Equal(k), "counter %#x", want)
			want++
		}
	}
	t.Run("fresh", func(t *testing.T) { check(t, 0, 2500) })
	t.Run("across 10-bit counters", func(t *testing.T) { check(t, 0x0003FE, 600) })
	t.Run("high counters", func(t *testing.T) { check(t, 0x1F0000, 400) })
}

func must2(k dukpt.KSN, err error) dukpt.KSN {
	if err != nil {
		panic(err)
	}
	return k
}

// Exhaustion: the last counter is 1FF800 (10 one bits at the top); after it
// the terminal refuses to work.
func TestTerminalExhaustion(t *testing.T) {
	ipek := annexIPEK(t)
	ksn := must2(dukpt.ParseKSNHex(tdesKSN))
	// From 1FF000 (9 one bits): itself, then 1FF000 plus each of the 12
	// lower bits (10 one bits each, so no further children), then the end.
	term, err := dukpt.NewTerminal(ipek, ksn.WithCounter(0x1FF000).Bytes())
	require.NoError(t, err)
	require.Equal(t, 13, term.Remaining())
	want := []uint32{0x1FF000}
	for b := uint32(1); b < 0x1000; b <<= 1 {
		want = append(want, 0x1FF000|b)
	}
	for i, c := range want {
		require.Equal(t, c, term.KSN().Counter())
		got, k, err := term.Next()
		require.NoError(t, err)
		require.Equal(t, c, got.Counter())
		require.True(t, must(dukpt.DeriveKey(ipek, got[:])).Equal(k), "counter %#x", c)
		require.Equal(t, len(want)-1-i, term.Remaining())
	}
	require.True(t, term.Exhausted())
	require.Equal(t, 0, term.Remaining())
	for range 2 {
		_, _, err = term.Next()
		require.ErrorIs(t, err, dukpt.ErrExhausted)
		_, _, err = term.NextPINKey()
		require.ErrorIs(t, err, dukpt.ErrExhausted)
	}

	// Resumed at the very last counter.
	term, err = dukpt.NewTerminal(ipek, ksn.WithCounter(0x1FF800).Bytes())
	require.NoError(t, err)
	require.Equal(t, 1, term.Remaining())
	_, _, err = term.Next()
	require.NoError(t, err)
	_, _, err = term.Next()
	require.ErrorIs(t, err, dukpt.ErrExhausted)
}

// A fresh terminal has one transaction per 21-bit counter with 1 to 10 one
// bits: 2^20 - 1 = 1,048,575, which a brute-force count confirms.
func TestTerminalLifetime(t *testing.T) {
	n := 0
	for c := uint32(1); c <= dukpt.MaxCounter; c++ {
		if bits.OnesCount32(c) <= dukpt.MaxOneBits {
			n++
		}
	}
	require.Equal(t, 1<<20-1, n)
	term, err := dukpt.NewTerminal(annexIPEK(t), unhex(t, tdesKSN))
	require.NoError(t, err)
	require.Equal(t, n, term.Remaining())
	_, _, err = term.Next()
	require.NoError(t, err)
	require.Equal(t, n-1, term.Remaining())
}

// The whole life of a terminal, every key checked against the host at a
// stride; skipped with -short and under the race detector.
func TestTerminalFullLife(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("runs 1,048,575 transactions")
	}
	ipek := annexIPEK(t)
	term, err := dukpt.NewTerminal(ipek, unhex(t, tdesKSN))
	require.NoError(t, err)
	count := 0
	prev := uint32(0)
	for {
		ksn, k, err := term.Next()
		if err != nil {
			require.ErrorIs(t, err, dukpt.ErrExhausted)
			break
		}
		c := ksn.Counter()
		if c <= prev || !dukpt.ValidCounter(c) {
			t.Fatalf("counter %#x after %#x", c, prev)
		}
		prev = c
		count++
		if count%4099 == 0 || c == 0x1FF800 {
			require.True(t, must(dukpt.DeriveKey(ipek, ksn[:])).Equal(k), "counter %#x", c)
		}
	}
	require.Equal(t, 1<<20-1, count)
	require.Equal(t, uint32(0x1FF800), prev)
}

func TestNewTerminalErrors(t *testing.T) {
	ipek := annexIPEK(t)
	_, err := dukpt.NewTerminal(ipek, unhex(t, "FFFF9876543210E007FF"))
	require.ErrorIs(t, err, dukpt.ErrCounter)
	_, err = dukpt.NewTerminal(ipek, unhex(t, "FFFF9876543210E0"))
	require.ErrorIs(t, err, dukpt.ErrKSN)
	_, err = dukpt.NewTerminal(keys.MustHex(keys.AES, tdesIPEK), unhex(t, tdesKSN))
	require.ErrorIs(t, err, dukpt.ErrKey)
	var zero dukpt.Terminal
	_, _, err = zero.Next()
	require.ErrorIs(t, err, dukpt.ErrKey)
}

func TestNextPINKey(t *testing.T) {
	term, err := dukpt.NewTerminal(annexIPEK(t), unhex(t, tdesKSN))
	require.NoError(t, err)
	ksn, pk, err := term.NextPINKey()
	require.NoError(t, err)
	require.Equal(t, "FFFF9876543210E00001", ksn.String())
	require.Equal(t, "042666B49184CF5C68DE9628D0397B36", keyHex(pk))
	require.Equal(t, "FFFF9876543210E00002", term.KSN().String())
	// Keys print as check values only.
	require.NotContains(t, fmt.Sprint(pk), "042666")
}

func BenchmarkDeriveKey(b *testing.B) {
	ipek := annexIPEK(b)
	ksn := unhex(b, "FFFF9876543210EFF800") // 9 one bits: 9 key generations
	for b.Loop() {
		if _, err := dukpt.DeriveKey(ipek, ksn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTerminalNext(b *testing.B) {
	ipek := annexIPEK(b)
	ksn := unhex(b, tdesKSN)
	term, err := dukpt.NewTerminal(ipek, ksn)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := term.Next(); err != nil {
			if term, err = dukpt.NewTerminal(ipek, ksn); err != nil {
				b.Fatal(err)
			}
		}
	}
}
