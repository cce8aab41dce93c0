package oda

import (
	"fmt"
	"time"
)

// Date is a certificate expiration date: a month, valid through its last day.
// On the wire it is two bytes of BCD, MMYY; YY from 00 to 49 means 20YY and
// from 50 to 99 means 19YY, as EMV reads two-digit years.
type Date struct {
	Year  int
	Month time.Month
}

// ParseMMYY reads a two-byte BCD MMYY date.
func ParseMMYY(b []byte) (Date, error) {
	if len(b) != 2 {
		return Date{}, fmt.Errorf("%w: MMYY takes 2 bytes, got %d", ErrDate, len(b))
	}
	mm, ok1 := bcdByte(b[0])
	yy, ok2 := bcdByte(b[1])
	if !ok1 || !ok2 || mm < 1 || mm > 12 {
		return Date{}, fmt.Errorf("%w: %02X%02X is not a BCD MMYY date", ErrDate, b[0], b[1])
	}
	year := 2000 + yy
	if yy >= 50 {
		year = 1900 + yy
	}
	return Date{Year: year, Month: time.Month(mm)}, nil
}

// MMYY encodes the date as two BCD bytes. The year must lie in 1950..2049.
func (d Date) MMYY() ([2]byte, error) {
	if d.Month < time.January || d.Month > time.December || d.Year < 1950 || d.Year > 2049 {
		return [2]byte{}, fmt.Errorf("%w: %04d-%02d cannot be written as MMYY", ErrDate, d.Year, int(d.Month))
	}
	m, y := int(d.Month), d.Year%100
	return [2]byte{byte(m/10<<4 | m%10), byte(y/10<<4 | y%10)}, nil
}

// Expired reports whether the last day of the date's month is before the
// calendar date of now (Book 2 sections 5.3 and 6.3: the certificate is
// valid through the last day of its expiration month).
func (d Date) Expired(now time.Time) bool {
	y, m, _ := now.Date()
	return y > d.Year || (y == d.Year && m > d.Month)
}

// String prints the date as MM/YY.
func (d Date) String() string {
	return fmt.Sprintf("%02d/%02d", int(d.Month), d.Year%100)
}

// bcdByte decodes one byte of two BCD digits.
func bcdByte(b byte) (int, bool) {
	hi, lo := b>>4, b&0x0F
	if hi > 9 || lo > 9 {
		return 0, false
	}
	return int(hi)*10 + int(lo), true
}
