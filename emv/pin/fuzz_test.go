package pin

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/tapsim/tapsim/emv/keys"
)

// fillReader packs the fill nibbles of a plain-text PIN field (everything
// after the PIN up to nibble 16) into bytes, so that encoding again with it
// reproduces the field.
func fillReader(field []byte, pinLen int) *bytes.Reader {
	n := unpack(field)[2+pinLen : 16]
	if len(n)%2 == 1 {
		n = append(n, 0)
	}
	return bytes.NewReader(n.pack())
}

// FuzzDecode feeds arbitrary blocks to the decoder of every format: it must
// never panic, and whatever it accepts must be a valid PIN that encodes
// back to the very same block.
func FuzzDecode(f *testing.F) {
	seed := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	f.Add(seed("041277CDDEEFF669"), byte(0), "5544332211009966")
	f.Add(seed("15123459A33C56F8"), byte(1), "")
	f.Add(seed("2512345FFFFFFFFF"), byte(2), "")
	f.Add(seed("34127799ECFFA25B"), byte(3), "5544332211009966")
	f.Add(seed("0C123456789012FF"), byte(0), "12345678")
	f.Add(seed("441234AAAAAAAAAA2F69ADDE2E9E7ACE"), byte(4), "4111111111111111")
	f.Add([]byte{}, byte(0), "")
	f.Add(seed("FFFFFFFFFFFFFFFF"), byte(7), "x")
	f.Fuzz(func(t *testing.T, block []byte, format byte, pan string) {
		fm := Format(format % 6)
		_, _ = DetectFormat(block)
		p, err := Decode(fm, block, pan)
		if err != nil {
			return
		}
		if checkPIN(p) != nil {
			t.Fatalf("decoded an invalid PIN of %d characters", len(p))
		}
		field := bytes.Clone(block)
		if fm.UsesPAN() {
			panField, err := PANField(fm, pan)
			if err != nil {
				t.Fatal(err)
			}
			field = keys.XOR(field, panField)
		}
		again, err := Encode(fm, p, pan, fillReader(field, len(p)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, block) {
			t.Fatalf("format %d: re-encoding gives %X, decoded %X", fm, again, block)
		}
	})
}

// FuzzDecipherFormat4 deciphers arbitrary 16-byte blocks: no panic, and an
// accepted block enciphers back to itself with the same random half.
func FuzzDecipherFormat4(f *testing.F) {
	k := keys.MustHex(keys.AES, "AF8CB133A78F8DC2D1359F18527593FB")
	seed := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	f.Add(seed("A912150391AB65A67E52883D81CE2D15"), "4111111111111111")
	f.Add(seed("A912150391AB65A67E52883D81CE2D15"), "4111111111111112")
	f.Add(seed("00"), "")
	f.Fuzz(func(t *testing.T, block []byte, pan string) {
		p, err := DecipherFormat4(k, block, pan)
		if err != nil {
			return
		}
		field, err := decipherFormat4Field(k, block, pan)
		if err != nil {
			t.Fatal(err)
		}
		again, err := EncipherFormat4(k, p, pan, bytes.NewReader(field[8:]))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, block) {
			t.Fatal("re-enciphering does not give the block back")
		}
	})
}

// FuzzParseFormat: any text either fails or names a format whose String
// parses back to it.
func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"0", "iso-3", "ISO 9564-1 format 4", "format 1", "", "9", "isoformat"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := ParseFormat(s)
		if err != nil {
			return
		}
		back, err := ParseFormat(fm.String())
		if err != nil || back != fm {
			t.Fatalf("%q parsed as %v, which does not parse back", s, fm)
		}
	})
}
