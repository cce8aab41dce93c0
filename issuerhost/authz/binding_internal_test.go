package authz

import "testing"

// R-G4: DE13 (MMDD) within a day of 9A (YYMMDD), either side of New Year.
func TestDateWithinADay(t *testing.T) {
	for _, tc := range []struct {
		card []byte
		mmdd string
		want bool
	}{
		{[]byte{0x26, 0x03, 0x15}, "0315", true},
		{[]byte{0x26, 0x03, 0x15}, "0314", true},
		{[]byte{0x26, 0x03, 0x15}, "0316", true},
		{[]byte{0x26, 0x03, 0x15}, "0317", false},
		{[]byte{0x26, 0x03, 0x15}, "0313", false},
		{[]byte{0x26, 0x03, 0x15}, "0415", false},
		{[]byte{0x26, 0x12, 0x31}, "0101", true}, // local date already in 2027
		{[]byte{0x27, 0x01, 0x01}, "1231", true}, // local date still in 2026
		{[]byte{0x27, 0x01, 0x01}, "1230", false},
		{[]byte{0x28, 0x02, 0x29}, "0301", true},  // leap year
		{[]byte{0x26, 0x02, 0x28}, "0229", false}, // no 29 February in 2025-2027
		{[]byte{0x26, 0x04, 0x31}, "0430", false}, // no 31 April: not a date
		{[]byte{0x26, 0x13, 0x01}, "0101", false},
		{[]byte{0x26, 0x0A, 0x01}, "1001", false}, // not BCD
		{[]byte{0x26, 0x03}, "0315", false},
		{[]byte{0x26, 0x03, 0x15}, "0335", false},
	} {
		if got := dateWithinADay(tc.card, tc.mmdd); got != tc.want {
			t.Errorf("9A %X, DE13 %s: got %v, want %v", tc.card, tc.mmdd, got, tc.want)
		}
	}
}

func TestRequestorID(t *testing.T) {
	if id, ok := requestorID([]byte{0x04, 0x00, 0x10, 0x03, 0x02, 0x73}); !ok || id != "40010030273" {
		t.Errorf("9F19: %q %v", id, ok)
	}
	for _, bad := range [][]byte{{0x14, 0, 0, 0, 0, 0}, {0x04, 0, 0, 0, 0}, {0x04, 0, 0, 0, 0, 0x0F}} {
		if _, ok := requestorID(bad); ok {
			t.Errorf("%X read as a requestor ID", bad)
		}
	}
}
