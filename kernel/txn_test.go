package kernel

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAmountN12(t *testing.T) {
	tests := []struct {
		in   int64
		want []byte
	}{
		{0, []byte{0, 0, 0, 0, 0, 0}},
		{1, []byte{0, 0, 0, 0, 0, 0x01}},
		{300000, []byte{0, 0, 0, 0x30, 0x00, 0x00}},
		{123456789012, []byte{0x12, 0x34, 0x56, 0x78, 0x90, 0x12}},
		{999999999999, []byte{0x99, 0x99, 0x99, 0x99, 0x99, 0x99}},
		{1000000000000, []byte{0x99, 0x99, 0x99, 0x99, 0x99, 0x99}}, // clamped
		{-5, []byte{0, 0, 0, 0, 0, 0}},                              // clamped
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, AmountN12(tt.in), "amount %d", tt.in)
	}
}

func TestBCDAndParseN(t *testing.T) {
	require.Equal(t, []byte{0x01, 0x58}, BCD(158, 4))
	require.Equal(t, []byte{0x09, 0x01}, BCD(901, 3))
	require.Equal(t, []byte{0x02}, BCD(2, 2))
	v, ok := ParseN([]byte{0x00, 0x00, 0x00, 0x30, 0x00, 0x00})
	require.True(t, ok)
	require.Equal(t, int64(300000), v)
	_, ok = ParseN([]byte{0x1A})
	require.False(t, ok, "nibble A is not a digit")
	_, ok = ParseN(make([]byte, 10))
	require.False(t, ok, "more than 18 digits")
}

func TestDates(t *testing.T) {
	d := time.Date(2025, 3, 7, 14, 5, 9, 0, time.UTC)
	require.Equal(t, []byte{0x25, 0x03, 0x07}, DateYYMMDD(d))
	require.Equal(t, []byte{0x14, 0x05, 0x09}, TimeHHMMSS(d))

	v, ok := DateInt([]byte{0x49, 0x12, 0x31})
	require.True(t, ok)
	require.Equal(t, 20491231, v, "YY 00-49 is 20YY")
	v, ok = DateInt([]byte{0x99, 0x01, 0x01})
	require.True(t, ok)
	require.Equal(t, 19990101, v, "YY 50-99 is 19YY")
	_, ok = DateInt([]byte{0x25, 0x13, 0x01})
	require.False(t, ok, "month 13")
	_, ok = DateInt([]byte{0x25, 0x01})
	require.False(t, ok, "short")

	require.True(t, DateOnOrBefore([]byte{0x25, 0x03, 0x07}, []byte{0x25, 0x03, 0x07}), "same day")
	require.True(t, DateOnOrBefore([]byte{0x99, 0x12, 0x31}, []byte{0x00, 0x01, 0x01}), "1999 before 2000")
	require.False(t, DateOnOrBefore([]byte{0x25, 0x03, 0x08}, []byte{0x25, 0x03, 0x07}))
	require.False(t, DateOnOrBefore([]byte{0x25, 0x03, 0x08}, nil), "absent date")
}

func TestTxnType(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want TxnType
	}{
		{"purchase", Purchase}, {"cash", Cash}, {"cashback", PurchaseWithCashback},
		{"purchase_with_cashback", PurchaseWithCashback}, {"refund", Refund}, {"20", Refund}, {"00", Purchase},
	} {
		got, err := ParseTxnType(tt.in)
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
	_, err := ParseTxnType("steal")
	require.ErrorIs(t, err, ErrTransaction)
	require.Equal(t, "refund", Refund.String())
	require.Equal(t, "31", TxnType(0x31).String())
}

func TestTransactionValidate(t *testing.T) {
	require.NoError(t, Transaction{Amount: 100, Other: 50, Type: PurchaseWithCashback}.Validate())
	for _, bad := range []Transaction{{Amount: -1}, {Amount: 1, Other: 2}, {Amount: 1_000_000_000_000}} {
		err := bad.Validate()
		require.True(t, errors.Is(err, ErrTransaction), "%+v", bad)
	}
}
