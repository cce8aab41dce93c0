// Package magstripe places and reads the dynamic digits of a contactless
// mag-stripe mode transaction (EMV Contactless Book C-2) in the
// discretionary data of the track data: the CVC3 the card computed, the
// reader's Unpredictable Number (Numeric) and the card's ATC, at the
// positions the card's bitmaps PCVC3 and PUNATC name, and the number of
// unpredictable digits nUN in the last digit.
//
// Positions count discretionary data digits from the right: bit 0 of a
// bitmap is the last digit, which always holds nUN. The digits go in from
// the lowest marked position up, least significant digit first: the CVC3
// (as five decimal digits) into the PCVC3 positions; into the nUN lowest
// PUNATC positions the nUN least significant digits of the Unpredictable
// Number, into the NATC highest ones the NATC least significant decimal
// digits of the ATC. The
// reader (Fill) and the issuer (Read) use the same rules, so that the
// issuer finds the numbers the card's CVC3 covered.
//
// Track 2 is BCD digits with a 'D' separator and 'F' padding (tag 57, 9F6B);
// its discretionary data follow the separator, the expiry date (4 digits)
// and the service code (3). Track 1 is ASCII (tag 56, "B" PAN "^" name "^"
// expiry service code discretionary data); its discretionary data follow
// the second '^', the expiry and the service code.
package magstripe

import (
	"errors"
	"fmt"
	"math/bits"
)

// ErrTrack reports track data, bitmaps or counts that do not fit.
var ErrTrack = errors.New("magstripe: unusable track data")

// Layout is where the dynamic digits go: the PCVC3 and PUNATC bitmaps
// (2 bytes for track 2, 6 for track 1, as a number) and NATC, the number
// of ATC digits.
type Layout struct {
	PCVC3  uint64
	PUNATC uint64
	NATC   int
}

// DefaultLayout is the layout tapsim's virtual cards personalise on both
// tracks and its issuer expects: CVC3 in positions 1 to 3, Unpredictable
// Number (5 digits) in positions 4 to 8 and ATC (3 digits) in 9 to 11.
var DefaultLayout = Layout{PCVC3: 0x000E, PUNATC: 0x0FF0, NATC: 3}

// NUN is the number of Unpredictable Number digits: the PUNATC positions
// less the ATC's.
func (l Layout) NUN() int { return bits.OnesCount64(l.PUNATC) - l.NATC }

// check validates the layout against n discretionary digits.
func (l Layout) check(n int) error {
	switch {
	case n < 2:
		return fmt.Errorf("%w: %d discretionary digits", ErrTrack, n)
	case l.PCVC3&1 != 0 || l.PUNATC&1 != 0:
		return fmt.Errorf("%w: the last discretionary digit is nUN's", ErrTrack)
	case l.PCVC3&l.PUNATC != 0:
		return fmt.Errorf("%w: PCVC3 and PUNATC overlap", ErrTrack)
	case n < 64 && (l.PCVC3|l.PUNATC)>>uint(n) != 0:
		return fmt.Errorf("%w: bitmaps beyond the %d discretionary digits", ErrTrack, n)
	case l.NATC < 0 || l.NUN() < 0 || l.NUN() > 8 || bits.OnesCount64(l.PCVC3) > 5:
		return fmt.Errorf("%w: %d ATC digits in %d positions", ErrTrack, l.NATC, bits.OnesCount64(l.PUNATC))
	}
	return nil
}

// Dynamic is what a mag-stripe mode transaction writes in the track.
type Dynamic struct {
	// CVC3 is the card's 2-byte CVC3.
	CVC3 []byte
	// UN is the Unpredictable Number (Numeric), 4 bytes of BCD.
	UN []byte
	// ATC is the card's Application Transaction Counter.
	ATC uint16
	// ODCVM is set when the card's POS Cardholder Interaction Information
	// (DF4B) shows a successful on-device CVM: the last discretionary
	// digit is then nUN' = (nUN + 5) mod 10 instead of nUN.
	ODCVM bool
}

// NUNPrime is nUN', the last digit written instead of nUN after a
// successful on-device CVM: (nUN + 5) mod 10.
func (l Layout) NUNPrime() int { return (l.NUN() + 5) % 10 }

// Track is track data as digits: the prefix before the discretionary
// data, the discretionary digits, and how to code it back.
type Track struct {
	head []byte // everything before the discretionary data, coded
	dd   []byte // discretionary digits, as values 0-9
	one  bool   // track 1 (ASCII) rather than track 2 (BCD)
	tail []byte // track 1: anything after the digits (none expected)
}

// ParseTrack2 reads Track 2 data (BCD).
func ParseTrack2(b []byte) (*Track, error) {
	var nib []byte
	for _, x := range b {
		nib = append(nib, x>>4, x&0x0F)
	}
	for len(nib) > 0 && nib[len(nib)-1] == 0x0F {
		nib = nib[:len(nib)-1]
	}
	sep := -1
	for i, n := range nib {
		if n == 0x0D {
			sep = i
			break
		}
	}
	if sep < 12 || len(nib) < sep+1+7 {
		return nil, fmt.Errorf("%w: track 2 without PAN, separator, expiry and service code", ErrTrack)
	}
	start := sep + 1 + 7
	for _, n := range nib[start:] {
		if n > 9 {
			return nil, fmt.Errorf("%w: track 2 discretionary data not digits", ErrTrack)
		}
	}
	return &Track{head: nib[:start], dd: append([]byte(nil), nib[start:]...)}, nil
}

// ParseTrack1 reads Track 1 data (ASCII, format B).
func ParseTrack1(b []byte) (*Track, error) {
	if len(b) < 2 || b[0] != 'B' {
		return nil, fmt.Errorf("%w: track 1 not format B", ErrTrack)
	}
	seps := 0
	start := -1
	for i, c := range b {
		if c == '^' {
			seps++
			if seps == 2 {
				start = i + 1 + 7
				break
			}
		}
	}
	if start < 0 || start > len(b) {
		return nil, fmt.Errorf("%w: track 1 without name, expiry and service code", ErrTrack)
	}
	t := &Track{head: append([]byte(nil), b[:start]...), one: true}
	for _, c := range b[start:] {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%w: track 1 discretionary data not digits", ErrTrack)
		}
		t.dd = append(t.dd, c-'0')
	}
	return t, nil
}

// Bytes codes the track back (track 2: BCD padded with 'F').
func (t *Track) Bytes() []byte {
	if t.one {
		out := append([]byte(nil), t.head...)
		for _, d := range t.dd {
			out = append(out, '0'+d)
		}
		return out
	}
	nib := append(append([]byte(nil), t.head...), t.dd...)
	if len(nib)%2 == 1 {
		nib = append(nib, 0x0F)
	}
	out := make([]byte, len(nib)/2)
	for i := range out {
		out[i] = nib[2*i]<<4 | nib[2*i+1]
	}
	return out
}

// Clone returns a copy.
func (t *Track) Clone() *Track {
	c := *t
	c.head = append([]byte(nil), t.head...)
	c.dd = append([]byte(nil), t.dd...)
	return &c
}

// set writes digit v at position pos from the right.
func (t *Track) set(pos int, v byte) { t.dd[len(t.dd)-1-pos] = v }

func (t *Track) get(pos int) byte { return t.dd[len(t.dd)-1-pos] }

// positions lists the set bits of bitmap, lowest first.
func positions(bitmap uint64) []int {
	var out []int
	for i := 0; i < 64; i++ {
		if bitmap&(1<<uint(i)) != 0 {
			out = append(out, i)
		}
	}
	return out
}

// decimal returns the n least significant decimal digits of v, least
// significant first.
func decimal(v uint64, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(v % 10)
		v /= 10
	}
	return out
}

// bcd reads 4 bytes of BCD into a number (invalid nibbles count as 0).
func bcd(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		hi, lo := uint64(x>>4), uint64(x&0x0F)
		if hi > 9 {
			hi = 0
		}
		if lo > 9 {
			lo = 0
		}
		v = v*100 + hi*10 + lo
	}
	return v
}

// Fill returns the track with the dynamic digits written as the layout says
// (the reader's side).
func Fill(t *Track, l Layout, d Dynamic) (*Track, error) {
	if err := l.check(len(t.dd)); err != nil {
		return nil, err
	}
	if len(d.CVC3) != 2 || len(d.UN) != 4 {
		return nil, fmt.Errorf("%w: CVC3 is 2 bytes and the unpredictable number 4", ErrTrack)
	}
	out := t.Clone()
	cvc := positions(l.PCVC3)
	for i, v := range decimal(uint64(d.CVC3[0])<<8|uint64(d.CVC3[1]), len(cvc)) {
		out.set(cvc[i], v)
	}
	un := positions(l.PUNATC)
	digits := append(decimal(bcd(d.UN), l.NUN()), decimal(uint64(d.ATC), l.NATC)...)
	for i, v := range digits {
		out.set(un[i], v)
	}
	last := l.NUN()
	if d.ODCVM {
		last = l.NUNPrime()
	}
	out.set(0, byte(last))
	return out, nil
}

// Read is the issuer's side: it takes the dynamic digits out of a filled
// track, returning the track as personalised (the dynamic positions and the
// nUN digit zero), the CVC3 digits as a number, the Unpredictable Number
// (Numeric, 4 bytes of BCD) and the ATC's digits as a number. The last
// digit must be the layout's nUN, or nUN' after an on-device CVM
// (OnDeviceCVM tells which).
func Read(t *Track, l Layout) (static *Track, cvc3 uint64, un []byte, atc uint64, err error) {
	if err := l.check(len(t.dd)); err != nil {
		return nil, 0, nil, 0, err
	}
	if d := int(t.get(0)); d != l.NUN() && d != l.NUNPrime() {
		return nil, 0, nil, 0, fmt.Errorf("%w: last digit %d, the card's layout says nUN %d (nUN' %d)", ErrTrack, d, l.NUN(), l.NUNPrime())
	}
	static = t.Clone()
	static.set(0, 0)
	mul := uint64(1)
	for _, p := range positions(l.PCVC3) {
		cvc3 += uint64(t.get(p)) * mul
		mul *= 10
		static.set(p, 0)
	}
	pos := positions(l.PUNATC)
	var n uint64
	mul = 1
	for _, p := range pos[:l.NUN()] {
		n += uint64(t.get(p)) * mul
		mul *= 10
	}
	mul = 1
	for _, p := range pos[l.NUN():] {
		atc += uint64(t.get(p)) * mul
		mul *= 10
	}
	for _, p := range pos {
		static.set(p, 0)
	}
	un = make([]byte, 4)
	for i := 3; i >= 0; i-- {
		un[i] = byte(n%10) | byte(n/10%10)<<4
		n /= 100
	}
	return static, cvc3, un, atc, nil
}

// OnDeviceCVM reports whether a filled track's last digit is nUN' rather
// than nUN: the reader saw a successful on-device CVM in the card's POS
// Cardholder Interaction Information. The digit is written by the reader
// and is not covered by the CVC3.
func OnDeviceCVM(t *Track, l Layout) bool {
	return len(t.dd) > 0 && int(t.get(0)) == l.NUNPrime() && l.NUNPrime() != l.NUN()
}

// CVC3Digits returns the CVC3's value as the layout's digits carry it: the
// q least significant decimal digits of the 2-byte CVC3, for comparison
// with Read's cvc3.
func CVC3Digits(cvc3 []byte, l Layout) uint64 {
	q := len(positions(l.PCVC3))
	v := uint64(cvc3[0])<<8 | uint64(cvc3[1])
	mod := uint64(1)
	for i := 0; i < q; i++ {
		mod *= 10
	}
	return v % mod
}

// ATC rebuilds a full ATC from the NATC digits a track carries: the first
// counter after last whose low digits are these, within window counters;
// false when none is.
func ATC(digits uint64, l Layout, last uint16, window int) (uint16, bool) {
	for i := 1; i <= window; i++ {
		c := int(last) + i
		if c > 0xFFFF {
			return 0, false
		}
		if ATCDigits(uint16(c), l) == digits {
			return uint16(c), true
		}
	}
	return 0, false
}

// ATCDigits is the same for the ATC: its NATC least significant digits.
func ATCDigits(atc uint16, l Layout) uint64 {
	mod := uint64(1)
	for i := 0; i < l.NATC; i++ {
		mod *= 10
	}
	return uint64(atc) % mod
}
