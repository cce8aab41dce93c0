// Package pin builds and reads ISO 9564-1 PIN blocks: formats 0, 1, 2 and 3
// (8-byte blocks enciphered with TDES) and format 4 (16-byte block
// enciphered with AES), and translates an enciphered PIN block from one key
// and format to another, as a security module does for an acquirer.
//
// A PIN, a PAN and a PIN block never appear in an error or in String output.
// Random fill comes from an injected io.Reader (crypto/rand when nil), so
// tests are deterministic.
package pin

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrPINLength reports a PIN shorter than 4 or longer than 12 digits.
	ErrPINLength = errors.New("pin: PIN must be 4 to 12 digits")
	// ErrPINDigits reports a PIN holding something other than the digits 0-9.
	ErrPINDigits = errors.New("pin: PIN must hold only the digits 0-9")
	// ErrPAN reports a PAN that is not 8 to 19 decimal digits.
	ErrPAN = errors.New("pin: PAN must be 8 to 19 decimal digits")
	// ErrFormat reports an unknown or unsuitable PIN block format, or a
	// block whose control field names another format.
	ErrFormat = errors.New("pin: unsupported PIN block format")
	// ErrBlock reports a PIN block that does not decode: wrong length, a
	// control field of another format (then also ErrFormat), a bad PIN
	// length field, a non-digit PIN position or a bad fill digit. A wrong
	// key or PAN shows up as ErrBlock.
	ErrBlock = errors.New("pin: invalid PIN block")
	// ErrKey reports a key unsuitable for the format (TDES for formats 0-3,
	// AES for format 4).
	ErrKey = errors.New("pin: unsuitable key")
	// ErrRandom reports a random source that failed or ran dry.
	ErrRandom = errors.New("pin: random fill unavailable")
	// ErrTranslation reports a translation ISO 9564 forbids: a PIN block
	// bound to a PAN (formats 0, 3, 4) may not be turned into one that is not
	// (format 1), nor may format 2 (offline use only) be translated.
	ErrTranslation = errors.New("pin: translation not permitted")
)

// Format is an ISO 9564-1 PIN block format; its value is the control field.
type Format int

const (
	// Format0 is ISO 9564-1 format 0 (ANSI X9.8, VISA-1): PIN field filled
	// with F, XOR the PAN field (0000 and the 12 rightmost PAN digits
	// excluding the check digit).
	Format0 Format = 0
	// Format1 is ISO 9564-1 format 1: PIN field filled with random digits
	// 0-F, no PAN.
	Format1 Format = 1
	// Format2 is ISO 9564-1 format 2, used only between a terminal and an
	// IC card (offline PIN): PIN field filled with F, no PAN.
	Format2 Format = 2
	// Format3 is ISO 9564-1 format 3: like format 0 but filled with random
	// digits A-F.
	Format3 Format = 3
	// Format4 is ISO 9564-1:2017 format 4: a 16-byte block for AES, the PIN
	// field filled with A then 8 random bytes, enciphered twice around the
	// PAN field.
	Format4 Format = 4
)

// String names the format, e.g. "ISO 9564-1 format 0".
func (f Format) String() string {
	if f.valid() {
		return fmt.Sprintf("ISO 9564-1 format %d", int(f))
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

func (f Format) valid() bool { return f >= Format0 && f <= Format4 }

// BlockSize is the PIN block length in bytes: 16 for format 4, else 8.
func (f Format) BlockSize() int {
	if f == Format4 {
		return 16
	}
	return 8
}

// UsesPAN reports whether the format binds the PIN to the PAN (0, 3, 4).
func (f Format) UsesPAN() bool { return f == Format0 || f == Format3 || f == Format4 }

// ParseFormat reads a format as "0".."4", "iso0", "ISO-0", "format 0" or
// "iso 9564-1 format 0" in any case.
func ParseFormat(s string) (Format, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "iso 9564-1")
	t = strings.NewReplacer(" ", "", "-", "", "_", "").Replace(t)
	t = strings.TrimPrefix(strings.TrimPrefix(t, "iso"), "format")
	if len(t) == 1 && t[0] >= '0' && t[0] <= '4' {
		return Format(t[0] - '0'), nil
	}
	return 0, fmt.Errorf("%w: %q (want 0, 1, 2, 3 or 4)", ErrFormat, s)
}

// DetectFormat reads the control field (first nibble) of a clear PIN block
// or plain-text format 4 PIN field.
func DetectFormat(block []byte) (Format, error) {
	if len(block) != 8 && len(block) != 16 {
		return 0, fmt.Errorf("%w: %d bytes, want 8 or 16", ErrBlock, len(block))
	}
	f := Format(block[0] >> 4)
	if !f.valid() || f.BlockSize() != len(block) {
		return 0, fmt.Errorf("%w: control field %X in a %d-byte block", ErrFormat, int(f), len(block))
	}
	return f, nil
}

// checkPIN validates a PIN: 4 to 12 digits (ISO 9564-1).
func checkPIN(p string) error {
	if len(p) < 4 || len(p) > 12 {
		return ErrPINLength
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return ErrPINDigits
		}
	}
	return nil
}

// checkPAN validates a PAN: 8 to 19 digits (ISO/IEC 7812-1).
func checkPAN(p string) error {
	if len(p) < 8 || len(p) > 19 {
		return fmt.Errorf("%w (length %d)", ErrPAN, len(p))
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return fmt.Errorf("%w (position %d is not a digit)", ErrPAN, i+1)
		}
	}
	return nil
}

// nibbles is a 16- or 32-nibble field under construction.
type nibbles []byte

func (n nibbles) pack() []byte {
	out := make([]byte, len(n)/2)
	for i := range out {
		out[i] = n[2*i]<<4 | n[2*i+1]
	}
	return out
}

func unpack(b []byte) nibbles {
	n := make(nibbles, 2*len(b))
	for i, v := range b {
		n[2*i], n[2*i+1] = v>>4, v&0x0F
	}
	return n
}

// fillSource hands out random nibbles from r, high nibble first, reading one
// byte at a time so that a fixed fill given as bytes is used exactly.
type fillSource struct {
	r    io.Reader
	buf  [1]byte
	low  bool
	read int
}

func newFillSource(r io.Reader) *fillSource {
	if r == nil {
		r = rand.Reader
	}
	return &fillSource{r: r}
}

func (s *fillSource) nibble() (byte, error) {
	if !s.low {
		if _, err := io.ReadFull(s.r, s.buf[:]); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrRandom, err)
		}
		s.read++
		s.low = true
		return s.buf[0] >> 4, nil
	}
	s.low = false
	return s.buf[0] & 0x0F, nil
}

// maxFillBytes bounds how many bytes a format 3 fill may consume while
// skipping nibbles 0-9; a working random source needs far fewer.
const maxFillBytes = 256

// fillAF draws a nibble from A to F: nibbles 0-9 are skipped, so uniformly
// random input gives uniformly random fill.
func (s *fillSource) fillAF() (byte, error) {
	for {
		v, err := s.nibble()
		if err != nil {
			return 0, err
		}
		if v >= 0xA {
			return v, nil
		}
		if s.read >= maxFillBytes {
			return 0, fmt.Errorf("%w: random source gave no fill digit A-F in %d bytes", ErrRandom, s.read)
		}
	}
}

// PINField builds the plain-text PIN field of format f: control field, PIN
// length, PIN digits and fill. Formats 1 and 3 draw their fill from rnd
// (digits 0-F for format 1, A-F for format 3, taking the reader's nibbles
// high first and skipping 0-9 for format 3); format 4 fills the first 8
// bytes with A and draws the last 8 bytes from rnd. Formats 0 and 2 read
// nothing. A nil rnd means crypto/rand. The result is 8 bytes (16 for
// format 4).
func PINField(f Format, pinDigits string, rnd io.Reader) ([]byte, error) {
	if !f.valid() {
		return nil, fmt.Errorf("%w: %v", ErrFormat, f)
	}
	if err := checkPIN(pinDigits); err != nil {
		return nil, err
	}
	n := make(nibbles, 16, 32)
	n[0], n[1] = byte(f), byte(len(pinDigits))
	for i := 0; i < len(pinDigits); i++ {
		n[2+i] = pinDigits[i] - '0'
	}
	src := newFillSource(rnd)
	for i := 2 + len(pinDigits); i < 16; i++ {
		switch f {
		case Format0, Format2:
			n[i] = 0xF
		case Format4:
			n[i] = 0xA
		case Format1:
			v, err := src.nibble()
			if err != nil {
				return nil, err
			}
			n[i] = v
		case Format3:
			v, err := src.fillAF()
			if err != nil {
				return nil, err
			}
			n[i] = v
		}
	}
	out := n.pack()
	if f == Format4 {
		r := make([]byte, 8)
		if rnd == nil {
			rnd = rand.Reader
		}
		if _, err := io.ReadFull(rnd, r); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRandom, err)
		}
		out = append(out, r...)
	}
	return out, nil
}

// PANField builds the account number field of format f. Formats 0 and 3:
// 0000 and the 12 rightmost PAN digits excluding the check digit, padded on
// the left with zeros (8 bytes). Format 4: M (PAN length minus 12, 0 when
// shorter) then the PAN, at least 12 digits padded on the left with zeros,
// then zeros to 16 bytes. Formats 1 and 2 have no PAN field.
func PANField(f Format, pan string) ([]byte, error) {
	if !f.UsesPAN() {
		return nil, fmt.Errorf("%w: %v has no PAN field", ErrFormat, f)
	}
	if err := checkPAN(pan); err != nil {
		return nil, err
	}
	if f == Format4 {
		n := make(nibbles, 32)
		digits := pan
		m := len(pan) - 12
		if m < 0 {
			m = 0
			digits = strings.Repeat("0", 12-len(pan)) + pan
		}
		n[0] = byte(m)
		for i := 0; i < len(digits); i++ {
			n[1+i] = digits[i] - '0'
		}
		return n.pack(), nil
	}
	body := pan[:len(pan)-1] // without the check digit
	if len(body) > 12 {
		body = body[len(body)-12:]
	}
	n := make(nibbles, 16)
	for i := 0; i < len(body); i++ {
		n[16-len(body)+i] = body[i] - '0'
	}
	return n.pack(), nil
}

// Encode builds the clear PIN block of format 0, 1, 2 or 3: the PIN field
// XOR the PAN field for formats 0 and 3, the PIN field alone for 1 and 2.
// pan is ignored by formats 1 and 2. Format 4 exists only enciphered: use
// EncipherFormat4.
func Encode(f Format, pinDigits, pan string, rnd io.Reader) ([]byte, error) {
	if f == Format4 {
		return nil, fmt.Errorf("%w: format 4 needs the AES key, use EncipherFormat4", ErrFormat)
	}
	if !f.valid() {
		return nil, fmt.Errorf("%w: %v", ErrFormat, f)
	}
	var panField []byte
	if f.UsesPAN() {
		var err error
		if panField, err = PANField(f, pan); err != nil {
			return nil, err
		}
	}
	field, err := PINField(f, pinDigits, rnd)
	if err != nil {
		return nil, err
	}
	if panField != nil {
		for i := range field {
			field[i] ^= panField[i]
		}
	}
	return field, nil
}

// Decode recovers the PIN from a clear PIN block of format 0, 1, 2 or 3,
// checking the control field, the PIN length, the PIN digits and the fill
// (F for formats 0 and 2, A-F for format 3, anything for format 1). pan is
// needed for formats 0 and 3 only.
func Decode(f Format, block []byte, pan string) (string, error) {
	if f == Format4 {
		return "", fmt.Errorf("%w: format 4 needs the AES key, use DecipherFormat4", ErrFormat)
	}
	if !f.valid() {
		return "", fmt.Errorf("%w: %v", ErrFormat, f)
	}
	if len(block) != 8 {
		return "", fmt.Errorf("%w: %d bytes, want 8", ErrBlock, len(block))
	}
	field := make([]byte, 8)
	copy(field, block)
	if f.UsesPAN() {
		panField, err := PANField(f, pan)
		if err != nil {
			return "", err
		}
		for i := range field {
			field[i] ^= panField[i]
		}
	}
	return decodeField(f, field)
}

// controlError reports a control field naming another format than the one
// expected; it is both ErrBlock and ErrFormat, since a wrong key or PAN
// produces it as often as a block of another format does.
type controlError struct {
	got  byte
	want Format
}

// Error names the control field found; it carries no PIN digit.
func (e controlError) Error() string {
	return fmt.Sprintf("pin: invalid PIN block: control field %X, want %d", e.got, int(e.want))
}

// Is makes errors.Is match ErrBlock and ErrFormat.
func (e controlError) Is(target error) bool { return target == ErrBlock || target == ErrFormat }

// decodeField reads a plain-text PIN field of format f (8 bytes, or 16 for
// format 4) and returns the PIN.
func decodeField(f Format, field []byte) (string, error) {
	if len(field) != f.BlockSize() {
		return "", fmt.Errorf("%w: %d bytes, want %d", ErrBlock, len(field), f.BlockSize())
	}
	n := unpack(field)
	if Format(n[0]) != f {
		return "", controlError{got: n[0], want: f}
	}
	l := int(n[1])
	if l < 4 || l > 12 {
		return "", fmt.Errorf("%w: PIN length field out of range", ErrBlock)
	}
	var sb strings.Builder
	for i := 2; i < 2+l; i++ {
		if n[i] > 9 {
			return "", fmt.Errorf("%w: non-digit in a PIN position", ErrBlock)
		}
		sb.WriteByte('0' + n[i])
	}
	for i := 2 + l; i < 16; i++ {
		var ok bool
		switch f {
		case Format0, Format2:
			ok = n[i] == 0xF
		case Format3:
			ok = n[i] >= 0xA
		case Format4:
			ok = n[i] == 0xA
		default: // Format1: any fill
			ok = true
		}
		if !ok {
			return "", fmt.Errorf("%w: bad fill digit", ErrBlock)
		}
	}
	return sb.String(), nil
}
