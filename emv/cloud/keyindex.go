package cloud

import (
	"fmt"
	"strings"
	"time"
)

// KeyIndex names one limited-use key among those of an account: when the
// key was generated and how many keys were generated before it in that
// hour. tapsim's MODEL encoding is seven decimal digits YHHHHCC: Y the last
// digit of the year, HHHH the hours since the start of that year (UTC),
// CC the counter. The public patents say only that the key index is the
// generation time and the count of renewals in the period.
type KeyIndex struct {
	Year    int // last digit of the year, 0 to 9
	Hours   int // hours since 1 January 00:00 UTC of that year, 0 to 8783
	Counter int // keys generated before this one in that hour, 0 to 99
}

// maxHours is the last hour of a leap year.
const maxHours = 366*24 - 1

// KeyIndexLength is the length of a key index in BCD: 4 bytes, 0YHHHHCC.
const KeyIndexLength = 4

// NewKeyIndex is the key index of a key generated at t (taken in UTC) as
// the counter-th key of that hour.
func NewKeyIndex(t time.Time, counter int) (KeyIndex, error) {
	t = t.UTC()
	start := time.Date(t.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
	k := KeyIndex{Year: t.Year() % 10, Hours: int(t.Sub(start) / time.Hour), Counter: counter}
	if err := k.check(); err != nil {
		return KeyIndex{}, err
	}
	return k, nil
}

// ParseKeyIndex reads the seven digits YHHHHCC.
func ParseKeyIndex(s string) (KeyIndex, error) {
	s = strings.TrimSpace(s)
	if len(s) != 7 || !digits(s) {
		return KeyIndex{}, fmt.Errorf("%w: want 7 digits YHHHHCC", ErrKeyIndex)
	}
	k := KeyIndex{Year: atoi(s[0:1]), Hours: atoi(s[1:5]), Counter: atoi(s[5:7])}
	if err := k.check(); err != nil {
		return KeyIndex{}, err
	}
	return k, nil
}

// KeyIndexFromBCD reads the 4 bytes 0YHHHHCC.
func KeyIndexFromBCD(b []byte) (KeyIndex, error) {
	if len(b) != KeyIndexLength {
		return KeyIndex{}, fmt.Errorf("%w: %d bytes, want %d", ErrKeyIndex, len(b), KeyIndexLength)
	}
	if b[0]>>4 != 0 {
		return KeyIndex{}, fmt.Errorf("%w: first digit of the BCD form must be 0", ErrKeyIndex)
	}
	var s strings.Builder
	for i, x := range b {
		hi, lo := x>>4, x&0x0F
		if hi > 9 || lo > 9 {
			return KeyIndex{}, fmt.Errorf("%w: not BCD", ErrKeyIndex)
		}
		if i > 0 {
			s.WriteByte('0' + hi)
		}
		s.WriteByte('0' + lo)
	}
	return ParseKeyIndex(s.String())
}

func (k KeyIndex) check() error {
	switch {
	case k.Year < 0 || k.Year > 9:
		return fmt.Errorf("%w: year digit %d", ErrKeyIndex, k.Year)
	case k.Hours < 0 || k.Hours > maxHours:
		return fmt.Errorf("%w: hour %d of the year, at most %d", ErrKeyIndex, k.Hours, maxHours)
	case k.Counter < 0 || k.Counter > 99:
		return fmt.Errorf("%w: counter %d, want 0 to 99", ErrKeyIndex, k.Counter)
	}
	return nil
}

// String is the seven digits YHHHHCC.
func (k KeyIndex) String() string { return fmt.Sprintf("%d%04d%02d", k.Year, k.Hours, k.Counter) }

// BCD is the key index as the IAD carries it: 4 bytes 0YHHHHCC.
func (k KeyIndex) BCD() []byte {
	s := "0" + k.String()
	out := make([]byte, KeyIndexLength)
	for i := range out {
		out[i] = (s[2*i]-'0')<<4 | (s[2*i+1] - '0')
	}
	return out
}

// Uint32 is the key index as the number YHHHHCC (the context of the key
// block a limited-use key travels in).
func (k KeyIndex) Uint32() uint32 {
	return uint32(k.Year)*1000000 + uint32(k.Hours)*100 + uint32(k.Counter)
}

// IssuedAt is the hour the key was generated, seen from now: the year is
// the latest one not after now whose last digit is Year. An hour the year
// does not have, or one after now, is ErrKeyIndex.
func (k KeyIndex) IssuedAt(now time.Time) (time.Time, error) {
	if err := k.check(); err != nil {
		return time.Time{}, err
	}
	now = now.UTC()
	y := now.Year() - ((now.Year()%10-k.Year)+10)%10
	start := time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC)
	hours := int(time.Date(y+1, time.January, 1, 0, 0, 0, 0, time.UTC).Sub(start) / time.Hour)
	if k.Hours >= hours {
		return time.Time{}, fmt.Errorf("%w: %d has %d hours, the key index says hour %d", ErrKeyIndex, y, hours, k.Hours)
	}
	at := start.Add(time.Duration(k.Hours) * time.Hour)
	if at.After(now) {
		return time.Time{}, fmt.Errorf("%w: generated in the future", ErrKeyIndex)
	}
	return at, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
