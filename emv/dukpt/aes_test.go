package dukpt_test

import (
	"bytes"
	"fmt"
	"math/bits"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
)

const (
	aesBDK128 = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
	aesBDK256 = aesBDK128 + aesBDK128
	aesIKID   = "1234567890123456"
	aesIK128  = "1273671EA26AC29AFA4D1084127652A1"
	aesIK256  = "CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F"
)

func aesKSN(t testing.TB, c uint32) []byte {
	t.Helper()
	k, err := dukpt.NewAESKSN(unhex(t, aesIKID), c)
	require.NoError(t, err)
	return k.Bytes()
}

func TestDeriveInitialKeyKnownAnswers(t *testing.T) {
	tests := []struct {
		bdk  string
		kt   dukpt.KeyType
		want string
	}{
		{aesBDK128, dukpt.KeyTypeAES128, aesIK128},
		{aesBDK256, dukpt.KeyTypeAES256, aesIK256},
	}
	for _, tc := range tests {
		ik, err := dukpt.DeriveInitialKey(keys.MustHex(keys.AES, tc.bdk), tc.kt, unhex(t, aesIKID))
		require.NoError(t, err)
		require.Equal(t, tc.want, keyHex(ik))
		require.Equal(t, keys.AES, ik.Alg())
	}
}

// Step by step: the initial key is AES(BDK, derivation data) with version
// 01, key block counter 01, usage 8001, algorithm 0002 (AES-128), length
// 0080 and the whole initial key ID.
func TestInitialKeyDerivationDataSteps(t *testing.T) {
	bdk := keys.MustHex(keys.AES, aesBDK128)
	enc, err := bdk.EncryptECB(unhex(t, "01018001 0002 0080 1234567890123456"))
	require.NoError(t, err)
	require.Equal(t, aesIK128, upper(enc))

	// AES-256: two blocks, key block counters 01 and 02, algorithm 0004, length 0100.
	bdk = keys.MustHex(keys.AES, aesBDK256)
	b1, err := bdk.EncryptECB(unhex(t, "01018001 0004 0100 1234567890123456"))
	require.NoError(t, err)
	b2, err := bdk.EncryptECB(unhex(t, "01028001 0004 0100 1234567890123456"))
	require.NoError(t, err)
	require.Equal(t, aesIK256, upper(append(b1, b2...)))
}

// Step by step: the transaction key of counter 3 is two derivations with
// usage 8000: counter 00000002 from the initial key, then 00000003; the
// derivation data carries the derivation ID 90123456 and the counter.
func TestTransactionKeySteps(t *testing.T) {
	ik := keys.MustHex(keys.AES, aesIK128)
	k2, err := ik.EncryptECB(unhex(t, "01018000 0002 0080 90123456 00000002"))
	require.NoError(t, err)
	require.Equal(t, aes128First[1].txnKey, upper(k2))
	k3, err := keys.MustNew(keys.AES, k2).EncryptECB(unhex(t, "01018000 0002 0080 90123456 00000003"))
	require.NoError(t, err)
	require.Equal(t, aes128First[2].txnKey, upper(k3))

	// Working keys: usage 1000 (PIN), 2000 (MAC generation), 3000 (data
	// encrypt), with the transaction counter itself.
	tk := keys.MustNew(keys.AES, k3)
	for _, tc := range []struct{ dd, want string }{
		{"01011000 0002 0080 90123456 00000003", aes128First[2].pinKey},
		{"01012000 0002 0080 90123456 00000003", aes128First[2].macKey},
		{"01013000 0002 0080 90123456 00000003", aes128First[2].dataKey},
	} {
		got, err := tk.EncryptECB(unhex(t, tc.dd))
		require.NoError(t, err)
		require.Equal(t, tc.want, upper(got))
	}
}

func TestAESHostKnownAnswers(t *testing.T) {
	sets := []struct {
		name    string
		ik      string
		vectors []aesVector
	}{
		{"AES-128 BDK", aesIK128, aes128First},
		{"AES-256 BDK", aesIK256, aes256First},
	}
	for _, set := range sets {
		ik := keys.MustHex(keys.AES, set.ik)
		for _, v := range set.vectors {
			t.Run(fmt.Sprintf("%s/%d", set.name, v.counter), func(t *testing.T) {
				ksn := aesKSN(t, v.counter)
				tk, err := dukpt.DeriveTransactionKey(ik, ksn)
				require.NoError(t, err)
				require.Equal(t, v.txnKey, keyHex(tk))
				for _, w := range []struct {
					u    dukpt.KeyUsage
					want string
				}{
					{dukpt.UsagePINEncryption, v.pinKey},
					{dukpt.UsageMACGeneration, v.macKey},
					{dukpt.UsageDataEncrypt, v.dataKey},
				} {
					got, err := dukpt.DeriveWorkingKey(tk, ksn, w.u, dukpt.KeyTypeAES128)
					require.NoError(t, err)
					require.Equal(t, w.want, keyHex(got), "%v", w.u)
				}
			})
		}
	}
}

func TestAES256WorkingKeys(t *testing.T) {
	bdk := keys.MustHex(keys.AES, aesBDK256)
	for _, v := range aes256WorkingAES256 {
		ksn := aesKSN(t, v.counter)
		for _, w := range []struct {
			u    dukpt.KeyUsage
			want string
		}{
			{dukpt.UsagePINEncryption, v.pinKey},
			{dukpt.UsageMACGeneration, v.macKey},
			{dukpt.UsageDataEncrypt, v.dataKey},
		} {
			got, err := dukpt.HostAESWorkingKey(bdk, ksn, w.u, dukpt.KeyTypeAES256)
			require.NoError(t, err)
			require.Equal(t, w.want, keyHex(got), "counter %d %v", v.counter, w.u)
			require.Equal(t, 32, got.Len())
		}
	}
}

func TestAESRolloverAndLastKeys(t *testing.T) {
	for _, set := range []struct {
		ik      string
		vectors []aesVector
	}{
		{aesIK128, aes128Rollover}, {aesIK128, aes128Last},
		{aesIK256, aes256Rollover}, {aesIK256, aes256Last},
	} {
		ik := keys.MustHex(keys.AES, set.ik)
		for _, v := range set.vectors {
			tk, err := dukpt.DeriveTransactionKey(ik, aesKSN(t, v.counter))
			require.NoError(t, err)
			require.Equal(t, v.txnKey, keyHex(tk), "counter %#x", v.counter)
		}
	}
}

// X9.24-3 supplement, format 4 PIN blocks under the AES DUKPT PIN keys.
func TestAESFormat4PINBlocks(t *testing.T) {
	bdk := keys.MustHex(keys.AES, aesBDK128)
	for i, want := range aes128PINBlocks {
		pk, err := dukpt.HostAESWorkingKey(bdk, aesKSN(t, uint32(i+1)), dukpt.UsagePINEncryption, dukpt.KeyTypeAES128)
		require.NoError(t, err)
		got, err := pin.EncipherFormat4(pk, "1234", "4111111111111111", bytes.NewReader(unhex(t, "2F69ADDE2E9E7ACE")))
		require.NoError(t, err)
		require.Equal(t, want, upper(got))
	}
}

// TDEA working keys from an AES derivation key: algorithm 0000 (2TDEA,
// length 0080, one block) and 0001 (3TDEA, length 00C0, two blocks cut to
// 24 bytes); AES-192 likewise two blocks cut to 24 bytes.
func TestWorkingKeyTypesSteps(t *testing.T) {
	tk := keys.MustHex(keys.AES, aes256First[0].txnKey)
	ksn := aesKSN(t, 1)
	tests := []struct {
		kt     dukpt.KeyType
		blocks []string
		alg    keys.Alg
		n      int
	}{
		{dukpt.KeyType2TDEA, []string{"01011000 0000 0080 90123456 00000001"}, keys.TDES, 16},
		{dukpt.KeyType3TDEA, []string{"01011000 0001 00C0 90123456 00000001", "01021000 0001 00C0 90123456 00000001"}, keys.TDES, 24},
		{dukpt.KeyTypeAES192, []string{"01011000 0003 00C0 90123456 00000001", "01021000 0003 00C0 90123456 00000001"}, keys.AES, 24},
		{dukpt.KeyTypeAES256, []string{"01011000 0004 0100 90123456 00000001", "01021000 0004 0100 90123456 00000001"}, keys.AES, 32},
	}
	for _, tc := range tests {
		t.Run(tc.kt.String(), func(t *testing.T) {
			var want []byte
			for _, dd := range tc.blocks {
				b, err := tk.EncryptECB(unhex(t, dd))
				require.NoError(t, err)
				want = append(want, b...)
			}
			got, err := dukpt.DeriveWorkingKey(tk, ksn, dukpt.UsagePINEncryption, tc.kt)
			require.NoError(t, err)
			require.Equal(t, tc.alg, got.Alg())
			require.Equal(t, tc.n, got.Len())
			require.Equal(t, upper(want[:tc.n]), keyHex(got))
		})
	}
	// The AES-256 PIN key of the supplement is this derivation.
	got, err := dukpt.DeriveWorkingKey(tk, ksn, dukpt.UsagePINEncryption, dukpt.KeyTypeAES256)
	require.NoError(t, err)
	require.Equal(t, aes256WorkingAES256[0].pinKey, keyHex(got))
}

func TestAESTerminalKnownAnswers(t *testing.T) {
	ik := keys.MustHex(keys.AES, aesIK128)
	term, err := dukpt.NewAESTerminal(ik, aesKSN(t, 0))
	require.NoError(t, err)
	for _, v := range aes128First {
		ksn, tk, err := term.Next()
		require.NoError(t, err)
		require.Equal(t, v.counter, ksn.Counter())
		require.Equal(t, v.txnKey, keyHex(tk))
		pk, err := dukpt.DeriveWorkingKey(tk, ksn[:], dukpt.UsagePINEncryption, dukpt.KeyTypeAES128)
		require.NoError(t, err)
		require.Equal(t, v.pinKey, keyHex(pk))
	}
	ksn, pk, err := term.NextWorkingKey(dukpt.UsagePINEncryption, dukpt.KeyTypeAES128)
	require.NoError(t, err)
	require.Equal(t, "123456789012345600000009", ksn.String())
	want, err := dukpt.HostAESWorkingKey(keys.MustHex(keys.AES, aesBDK128), ksn[:], dukpt.UsagePINEncryption, dukpt.KeyTypeAES128)
	require.NoError(t, err)
	require.True(t, want.Equal(pk))

	// Rollover: 1FFFE has 16 one bits, so 1FFFF (17) is skipped.
	term, err = dukpt.NewAESTerminal(ik, aesKSN(t, 0x1FFFE))
	require.NoError(t, err)
	for _, v := range aes128Rollover {
		ksn, tk, err := term.Next()
		require.NoError(t, err)
		require.Equal(t, v.counter, ksn.Counter())
		require.Equal(t, v.txnKey, keyHex(tk))
	}

	// The last four counters, then exhaustion.
	term, err = dukpt.NewAESTerminal(ik, aesKSN(t, 0xFFFE2000))
	require.NoError(t, err)
	require.Equal(t, 4, term.Remaining())
	for _, v := range aes128Last {
		require.Equal(t, v.counter, term.KSN().Counter())
		ksn, tk, err := term.Next()
		require.NoError(t, err)
		require.Equal(t, v.counter, ksn.Counter())
		require.Equal(t, v.txnKey, keyHex(tk))
	}
	require.True(t, term.Exhausted())
	_, _, err = term.Next()
	require.ErrorIs(t, err, dukpt.ErrExhausted)
	_, _, err = term.NextWorkingKey(dukpt.UsagePINEncryption, dukpt.KeyTypeAES128)
	require.ErrorIs(t, err, dukpt.ErrExhausted)
}

func TestAESTerminalMatchesHost(t *testing.T) {
	ik := keys.MustHex(keys.AES, aesIK256)
	for _, start := range []uint32{0, 0xFFF0, 0x7FFF0000} {
		term, err := dukpt.NewAESTerminal(ik, aesKSN(t, start))
		require.NoError(t, err)
		want := start
		for range 300 {
			for !dukpt.ValidAESCounter(want) {
				want++
			}
			ksn, tk, err := term.Next()
			require.NoError(t, err)
			require.Equal(t, want, ksn.Counter())
			hk, err := dukpt.DeriveTransactionKey(ik, ksn[:])
			require.NoError(t, err)
			require.True(t, hk.Equal(tk), "counter %#x", want)
			want++
		}
	}
}

func TestAESTerminalLifetime(t *testing.T) {
	term, err := dukpt.NewAESTerminal(keys.MustHex(keys.AES, aesIK128), aesKSN(t, 0))
	require.NoError(t, err)
	// Counters of 32 bits with 1 to 16 one bits: (2^32 + C(32,16))/2 - 1.
	require.Equal(t, (1<<32+601080390)/2-1, term.Remaining())
	// Brute force over the top: counters from FFF00000.
	term, err = dukpt.NewAESTerminal(keys.MustHex(keys.AES, aesIK128), aesKSN(t, 0xFFF00000))
	require.NoError(t, err)
	n := 0
	for c := uint64(0xFFF00000); c <= 0xFFFFFFFF; c++ {
		if bits.OnesCount64(c) <= 16 {
			n++
		}
	}
	require.Equal(t, n, term.Remaining())
}

func TestAESKSN(t *testing.T) {
	k, err := dukpt.ParseAESKSNHex("1234567890123456 0001FFFE")
	require.NoError(t, err)
	require.Equal(t, uint32(0x1FFFE), k.Counter())
	require.Equal(t, unhex(t, aesIKID), k.InitialKeyID())
	require.Equal(t, "1234567890123456FFFFFFFF", k.WithCounter(0xFFFFFFFF).String())
	require.Equal(t, unhex(t, "12345678901234560001FFFE"), k.Bytes())
	for _, s := range []string{"", "FFFF9876543210E00000", "1234567890123456000000010", "12345678901234560000000G"} {
		_, err := dukpt.ParseAESKSNHex(s)
		require.ErrorIs(t, err, dukpt.ErrKSN, s)
	}
	_, err = dukpt.NewAESKSN(unhex(t, "12345678"), 1)
	require.ErrorIs(t, err, dukpt.ErrKSN)
	require.True(t, dukpt.ValidAESCounter(0xFFFF0000))
	require.False(t, dukpt.ValidAESCounter(0x1FFFF))
	require.False(t, dukpt.ValidAESCounter(0))
}

func TestKeyTypesAndUsages(t *testing.T) {
	for in, want := range map[string]dukpt.KeyType{
		"2tdea": dukpt.KeyType2TDEA, "3TDEA": dukpt.KeyType3TDEA, "aes128": dukpt.KeyTypeAES128,
		"AES-192": dukpt.KeyTypeAES192, "aes256": dukpt.KeyTypeAES256,
	} {
		got, err := dukpt.ParseKeyType(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := dukpt.ParseKeyType("hmac")
	require.ErrorIs(t, err, dukpt.ErrKeyType)
	require.Equal(t, "AES-256", dukpt.KeyTypeAES256.String())
	require.Equal(t, 24, dukpt.KeyType3TDEA.Len())
	require.Equal(t, keys.TDES, dukpt.KeyType2TDEA.Alg())
	require.Equal(t, "KeyType(9)", dukpt.KeyType(9).String())
	require.Equal(t, "PIN encryption", dukpt.UsagePINEncryption.String())
	require.Equal(t, "KeyUsage(1234)", dukpt.KeyUsage(0x1234).String())
}

func TestAESErrors(t *testing.T) {
	bdk := keys.MustHex(keys.AES, aesBDK128)
	ikid := unhex(t, aesIKID)
	_, err := dukpt.DeriveInitialKey(bdk, dukpt.KeyTypeAES256, ikid)
	require.ErrorIs(t, err, dukpt.ErrKeyType, "initial key stronger than the BDK")
	_, err = dukpt.DeriveInitialKey(bdk, dukpt.KeyType2TDEA, ikid)
	require.ErrorIs(t, err, dukpt.ErrKeyType, "derivation keys are AES")
	_, err = dukpt.DeriveInitialKey(keys.MustHex(keys.TDES, aesBDK128), dukpt.KeyTypeAES128, ikid)
	require.ErrorIs(t, err, dukpt.ErrKey)
	_, err = dukpt.DeriveInitialKey(bdk, dukpt.KeyTypeAES128, ikid[:7])
	require.ErrorIs(t, err, dukpt.ErrKSN)

	ik := keys.MustHex(keys.AES, aesIK128)
	_, err = dukpt.DeriveTransactionKey(ik, aesKSN(t, 0))
	require.ErrorIs(t, err, dukpt.ErrCounter)
	_, err = dukpt.DeriveTransactionKey(ik, aesKSN(t, 0x1FFFF))
	require.ErrorIs(t, err, dukpt.ErrCounter)
	_, err = dukpt.DeriveTransactionKey(ik, unhex(t, tdesKSN))
	require.ErrorIs(t, err, dukpt.ErrKSN)
	_, err = dukpt.DeriveTransactionKey(keys.MustHex(keys.TDES, aesIK128), aesKSN(t, 1))
	require.ErrorIs(t, err, dukpt.ErrKey)

	tk := keys.MustHex(keys.AES, aes128First[0].txnKey)
	_, err = dukpt.DeriveWorkingKey(tk, aesKSN(t, 1), dukpt.UsagePINEncryption, dukpt.KeyTypeAES256)
	require.ErrorIs(t, err, dukpt.ErrKeyType, "working key stronger than its derivation key")
	_, err = dukpt.DeriveWorkingKey(tk, aesKSN(t, 1), dukpt.UsagePINEncryption, dukpt.KeyType(7))
	require.ErrorIs(t, err, dukpt.ErrKeyType)
	_, err = dukpt.DeriveWorkingKey(tk, aesKSN(t, 1), dukpt.UsageKeyDerivation, dukpt.KeyTypeAES128)
	require.ErrorIs(t, err, dukpt.ErrUsage)
	_, err = dukpt.DeriveWorkingKey(tk, aesKSN(t, 1), dukpt.KeyUsage(0x4000), dukpt.KeyTypeAES128)
	require.ErrorIs(t, err, dukpt.ErrUsage)
	_, err = dukpt.DeriveWorkingKey(tk, aesKSN(t, 1)[:11], dukpt.UsagePINEncryption, dukpt.KeyTypeAES128)
	require.ErrorIs(t, err, dukpt.ErrKSN)
	// TDEA working keys are allowed from any AES key.
	_, err = dukpt.DeriveWorkingKey(tk, aesKSN(t, 1), dukpt.UsageMACBoth, dukpt.KeyType3TDEA)
	require.NoError(t, err)

	_, err = dukpt.NewAESTerminal(ik, aesKSN(t, 0x1FFFF))
	require.ErrorIs(t, err, dukpt.ErrCounter)
	_, err = dukpt.NewAESTerminal(keys.MustHex(keys.TDES, aesIK128), aesKSN(t, 0))
	require.ErrorIs(t, err, dukpt.ErrKey)
	_, err = dukpt.NewAESTerminal(ik, unhex(t, tdesKSN))
	require.ErrorIs(t, err, dukpt.ErrKSN)
	_, err = dukpt.HostAESWorkingKey(keys.MustHex(keys.TDES, aesBDK128), aesKSN(t, 1), dukpt.UsagePINEncryption, dukpt.KeyTypeAES128)
	require.ErrorIs(t, err, dukpt.ErrKey)
	require.NotContains(t, err.Error(), "FEDCBA98", "errors never show key material")
}

func BenchmarkAESHostPINKey(b *testing.B) {
	bdk := keys.MustHex(keys.AES, aesBDK128)
	ksn := aesKSN(b, 0xFFFE2000) // 16 one bits: the longest derivation
	for b.Loop() {
		if _, err := dukpt.HostAESWorkingKey(bdk, ksn, dukpt.UsagePINEncryption, dukpt.KeyTypeAES128); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAESTerminalNext(b *testing.B) {
	ik := keys.MustHex(keys.AES, aesIK128)
	term, err := dukpt.NewAESTerminal(ik, aesKSN(b, 0))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := term.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
