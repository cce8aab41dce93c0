package kernel

import (
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/tlv"
)

// TxnType is the Transaction Type (tag 9C): the first two digits of the ISO
// 8583 processing code, coded n2.
type TxnType byte

// Transaction types a contactless reader handles.
const (
	// Purchase is a purchase of goods or services ('00').
	Purchase TxnType = 0x00
	// Cash is a cash advance ('01').
	Cash TxnType = 0x01
	// PurchaseWithCashback is a purchase with cashback ('09').
	PurchaseWithCashback TxnType = 0x09
	// Refund is a refund ('20').
	Refund TxnType = 0x20
)

var txnTypeNames = []struct {
	t    TxnType
	name string
}{
	{Purchase, "purchase"},
	{Cash, "cash"},
	{PurchaseWithCashback, "cashback"},
	{Refund, "refund"},
}

// String names the type ("purchase", "cash", "cashback", "refund") or gives
// its two digits.
func (t TxnType) String() string {
	for _, n := range txnTypeNames {
		if n.t == t {
			return n.name
		}
	}
	return fmt.Sprintf("%02X", byte(t))
}

// ParseTxnType reads a transaction type by name or as its two digits ("00",
// "09", "20").
func ParseTxnType(s string) (TxnType, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, n := range txnTypeNames {
		if n.name == s {
			return n.t, nil
		}
	}
	if s == "purchase_with_cashback" {
		return PurchaseWithCashback, nil
	}
	if len(s) == 2 && isDigits(s) {
		return TxnType((s[0]-'0')<<4 | (s[1] - '0')), nil
	}
	return 0, fmt.Errorf("%w: unknown transaction type %q", ErrTransaction, s)
}

// Transaction is what the terminal asks the kernel to do: the amounts in
// minor units of the terminal currency, the type, and the date and time of
// the transaction (the zero time means "now" by Config.Clock).
type Transaction struct {
	// Amount is Amount, Authorised (9F02), including any cashback.
	Amount int64
	// Other is Amount, Other (9F03): the cashback part.
	Other int64
	// Type is the Transaction Type (9C).
	Type TxnType
	// Date is the transaction date and time (9A, 9F21).
	Date time.Time
}

// Validate checks the amounts.
func (t Transaction) Validate() error {
	switch {
	case t.Amount < 0 || t.Other < 0:
		return fmt.Errorf("%w: negative amount", ErrTransaction)
	case t.Amount > 999999999999 || t.Other > 999999999999:
		return fmt.Errorf("%w: amount over 12 digits", ErrTransaction)
	case t.Other > t.Amount:
		return fmt.Errorf("%w: amount other above amount authorised", ErrTransaction)
	}
	return nil
}

// AmountN12 codes an amount as format n12 (6 bytes of BCD), the coding of
// 9F02, 9F03 and the C-2 limits. Amounts out of 0..999999999999 are clamped.
func AmountN12(v int64) []byte {
	if v < 0 {
		v = 0
	}
	if v > 999999999999 {
		v = 999999999999
	}
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		lo := byte(v % 10)
		v /= 10
		hi := byte(v % 10)
		v /= 10
		out[i] = hi<<4 | lo
	}
	return out
}

// BCD codes a non-negative number as n digits of BCD, right-justified in
// (n+1)/2 bytes; it is how 9F1A, 5F2A and the other numeric codes are coded.
func BCD(v int, n int) []byte {
	if v < 0 {
		v = 0
	}
	out := make([]byte, (n+1)/2)
	for i := len(out) - 1; i >= 0; i-- {
		lo := byte(v % 10)
		v /= 10
		hi := byte(v % 10)
		v /= 10
		out[i] = hi<<4 | lo
	}
	return out
}

// ParseN reads format n (BCD digits) into a number (tlv.ParseN). It
// fails on a nibble above 9 or more than 18 digits; an empty value is 0.
func ParseN(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	return tlv.ParseN(b)
}

// DateYYMMDD codes a date as format n6 YYMMDD (tags 9A, 5F24, 5F25).
func DateYYMMDD(t time.Time) []byte {
	return []byte{bcd2(t.Year() % 100), bcd2(int(t.Month())), bcd2(t.Day())}
}

// TimeHHMMSS codes a time of day as format n6 HHMMSS (tag 9F21).
func TimeHHMMSS(t time.Time) []byte {
	return []byte{bcd2(t.Hour()), bcd2(t.Minute()), bcd2(t.Second())}
}

func bcd2(v int) byte { return byte(v/10%10)<<4 | byte(v%10) }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DateInt reads a date coded n6 YYMMDD into YYYYMMDD, years 00 to 49 being
// 2000 to 2049 and 50 to 99 being 1950 to 1999 (EMV Book 3 section 4.3).
// It fails on a malformed date.
func DateInt(yymmdd []byte) (int, bool) {
	if len(yymmdd) != 3 {
		return 0, false
	}
	v, ok := ParseN(yymmdd)
	if !ok {
		return 0, false
	}
	yy, mm, dd := int(v/10000), int(v/100%100), int(v%100)
	if mm < 1 || mm > 12 || dd < 1 || dd > 31 {
		return 0, false
	}
	if yy < 50 {
		yy += 2000
	} else {
		yy += 1900
	}
	return yy*10000 + mm*100 + dd, true
}

// DateOnOrBefore reports whether date a is on or before date b, both n6
// YYMMDD. A malformed or absent date makes it false.
func DateOnOrBefore(a, b []byte) bool {
	x, ok1 := DateInt(a)
	y, ok2 := DateInt(b)
	return ok1 && ok2 && x <= y
}
