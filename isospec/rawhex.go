package isospec

import (
	"bytes"
	"strings"

	"github.com/tapsim/tapsim/emv/tlv"
)

// MaskedHex is a packed frame (length header excluded) in hex, 32 bytes a
// line, with every byte that carries cardholder data or keys shown as "**":
// the values of the PAN (DE2), the expiry date (DE14), track 2 (DE35), the
// PIN block (DE52), the private data of a key change (DE48 of network
// management messages, which holds the key under the KEK), and inside DE55
// the values of the card's sensitive data objects (PAN, track data,
// cardholder name). Length prefixes, the MTI, the bitmap and every other
// byte are shown as sent; cryptograms are not masked. A frame that does not
// scan is masked up to the problem and the rest shown as "**" too, so a
// malformed frame never leaks what could not be read.
func MaskedHex(b []byte) string {
	hidden := make([]bool, len(b))
	var l layout
	err := scan(b, &l)
	last := 0
	if l.mti != nil {
		last = 4 + len(l.bitmap)
	}
	keyChange := l.mti != nil && l.mti[1] == '8'
	for _, s := range l.fields() {
		last = s.end
		switch s.id {
		case 2, FieldExpiry, FieldTrack2, FieldPINBlock, 45:
			hide(hidden, s.val, s.end)
		case FieldPrivateData:
			if keyChange {
				hide(hidden, s.val, s.end)
			}
		case FieldICCData:
			hideICC(hidden, b, s.val, s.end)
		}
	}
	if err != nil {
		hide(hidden, last, len(b))
	}
	const hexDigits = "0123456789ABCDEF"
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%32 == 0 {
			sb.WriteByte('\n')
		}
		if hidden[i] {
			sb.WriteString("**")
			continue
		}
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&0x0F])
	}
	return sb.String()
}

func hide(hidden []bool, from, to int) {
	for i := max(from, 0); i < to && i < len(hidden); i++ {
		hidden[i] = true
	}
}

// hideICC hides, in DE55's bytes b[from:to], the encoded values of the
// sensitive data objects; DE55 that does not decode is hidden whole.
func hideICC(hidden []bool, b []byte, from, to int) {
	l, err := tlv.Decode(b[from:to])
	if err != nil {
		hide(hidden, from, to)
		return
	}
	var walk func(tlv.List)
	walk = func(l tlv.List) {
		for _, t := range l {
			if t.Tag.Constructed() {
				walk(t.Children)
				continue
			}
			if !sensitiveICC(t.Tag) || len(t.Value) == 0 {
				continue
			}
			// Hide every place the value occurs: enough to cover its own.
			area := b[from:to]
			for off := 0; off < len(area); {
				i := bytes.Index(area[off:], t.Value)
				if i < 0 {
					break
				}
				hide(hidden, from+off+i, from+off+i+len(t.Value))
				off += i + 1
			}
		}
	}
	walk(l)
}

func sensitiveICC(tag tlv.Tag) bool {
	for _, k := range []tlv.Kernel{tlv.KernelAny, tlv.Kernel2, tlv.Kernel3} {
		if in, ok := tlv.LookupFor(tag, k); ok && in.Sensitive {
			return true
		}
	}
	return false
}
