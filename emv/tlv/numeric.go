package tlv

// ParseN reads a value of format n (numeric: BCD digits, right-justified,
// leading zeros) into a number, as amounts (9F02), currency and country
// codes (5F2A, 9F1A) and counters are coded. It fails on a nibble above 9,
// an empty value or more than 18 digits.
func ParseN(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	var v int64
	for _, x := range b {
		hi, lo := x>>4, x&0x0F
		if hi > 9 || lo > 9 {
			return 0, false
		}
		v = v*100 + int64(hi)*10 + int64(lo)
	}
	return v, true
}
