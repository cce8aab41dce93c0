package tlv

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tapsim/tapsim/emv/pan"
)

// Printer prints TLV data as an indented tree, one data object a line: tag,
// value length in brackets, name from the tag dictionary, then the value in
// hex (and as text for formats a, an and ans). Templates are followed by
// their children, indented two spaces.
//
// Cardholder data (PAN, track 1 and track 2 data, PIN data, cardholder name
// and track discretionary data) is masked unless ShowSensitive is set: a PAN
// keeps at most its first 6 and last 4 digits.
type Printer struct {
	// Kernel selects tag names where kernels differ.
	Kernel Kernel
	// ShowSensitive prints cardholder data in clear. Never set it for output
	// that may reach a log.
	ShowSensitive bool
	// Decoder holds the decoding options.
	Decoder Decoder
	// Explain adds, under each bit-coded value (TVR, TSI, AIP, AUC, CVM
	// Results, TTQ, CTQ, the CVR in 9F10), one line per bit set, named as
	// the EMV books name it (see Explain), and prints values longer than
	// WrapBytes bytes on lines of their own under their tag.
	Explain bool
}

// WrapBytes is the longest value, in bytes, an explaining Printer prints on
// its tag's line.
const WrapBytes = 32

// Describe returns the masked tree of b for kernel k. Malformed input gives
// what could be decoded followed by a line "error: ..."; it never panics.
func Describe(b []byte, k Kernel) string {
	var sb strings.Builder
	_ = Printer{Kernel: k}.Fprint(&sb, b)
	return sb.String()
}

// Fprint decodes b and prints its tree to w. If b is malformed, it prints
// what decoded before the problem, then a line "error: ..." and returns the
// *DecodeError. A failed write is returned as an error too.
func (p Printer) Fprint(w io.Writer, b []byte) error {
	l, derr := p.Decoder.decode(b, true)
	var sb strings.Builder
	p.list(&sb, l, 0)
	if derr != nil {
		fmt.Fprintf(&sb, "error: %v\n", derr)
	}
	if _, err := io.WriteString(w, sb.String()); err != nil {
		return fmt.Errorf("tlv: print: %w", err)
	}
	return derr
}

// FprintList prints the tree of already decoded objects to w.
func (p Printer) FprintList(w io.Writer, l List) error {
	var sb strings.Builder
	p.list(&sb, l, 0)
	if _, err := io.WriteString(w, sb.String()); err != nil {
		return fmt.Errorf("tlv: print: %w", err)
	}
	return nil
}

func (p Printer) list(sb *strings.Builder, l List, depth int) {
	for _, t := range l {
		p.object(sb, t, depth)
	}
}

func (p Printer) object(sb *strings.Builder, t TLV, depth int) {
	sb.WriteString(strings.Repeat("  ", depth))
	name := "unknown tag"
	if in, ok := LookupFor(t.Tag, p.Kernel); ok {
		name = in.Name
	}
	fmt.Fprintf(sb, "%v [%d] %s", t.Tag, len(t.Value), name)
	if t.Tag.Constructed() {
		sb.WriteByte('\n')
		if depth < DefaultMaxDepth {
			p.list(sb, t.Children, depth+1)
		}
		return
	}
	if len(t.Value) == 0 {
		sb.WriteByte('\n')
		return
	}
	masked := !p.ShowSensitive && sensitive(t.Tag)
	indent := strings.Repeat("  ", depth+1)
	if p.Explain && !masked && len(t.Value) > WrapBytes {
		sb.WriteString(":\n")
		h := upperHex(t.Value)
		for len(h) > 0 {
			n := min(len(h), 2*WrapBytes)
			sb.WriteString(indent + h[:n] + "\n")
			h = h[n:]
		}
		return
	}
	sb.WriteString(": ")
	sb.WriteString(p.value(t.Tag, t.Value))
	sb.WriteByte('\n')
	if p.Explain && !masked {
		for _, line := range Explain(t.Tag, t.Value, p.Kernel) {
			sb.WriteString(indent + "- " + line + "\n")
		}
	}
}

// value renders a primitive value: hex, text for a/an/ans, masked if
// sensitive and not shown in clear.
func (p Printer) value(tag Tag, v []byte) string {
	if !p.ShowSensitive && sensitive(tag) {
		return mask(tag, v) + " (masked)"
	}
	s := upperHex(v)
	if in, ok := LookupFor(tag, p.Kernel); ok && isText(in.Format) && printable(v) {
		s += " " + strconv.Quote(string(v))
	}
	return s
}

func isText(f Format) bool { return f == FormatA || f == FormatAN || f == FormatANS }

func printable(v []byte) bool {
	for _, c := range v {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

func upperHex(v []byte) string { return strings.ToUpper(hex.EncodeToString(v)) }

// mask renders a sensitive value without revealing it: PANs keep at most the
// first 6 and last 4 digits, everything else is replaced by '*'.
func mask(tag Tag, v []byte) string {
	h := upperHex(v)
	switch tag {
	case 0x5A:
		return pan.Mask(strings.TrimRight(h, "F"))
	case 0x57, 0x9F6B:
		if i := strings.IndexByte(h, 'D'); i >= 0 {
			return pan.Mask(h[:i]) + "D" + stars(len(h)-i-1)
		}
	case 0x9F5E:
		// DS ID: zeros, the PAN, then two PAN Sequence Number digits.
		if len(h) > 2 {
			digits := strings.TrimLeft(h[:len(h)-2], "0")
			zeros := len(h) - 2 - len(digits)
			return strings.Repeat("0", zeros) + pan.Mask(digits) + h[len(h)-2:]
		}
	case 0x56:
		if printable(v) {
			return strconv.Quote(maskTrack1(string(v)))
		}
	}
	return stars(len(h))
}

// maskTrack1 masks track 1 data ("B" PAN "^" name "^" expiry, service code,
// discretionary data): the format code and masked PAN stay, the rest is
// hidden.
func maskTrack1(s string) string {
	i := strings.IndexByte(s, '^')
	if i < 0 {
		return stars(len(s))
	}
	head := ""
	digits := s[:i]
	if digits != "" && (digits[0] < '0' || digits[0] > '9') {
		head, digits = digits[:1], digits[1:]
	}
	return head + pan.Mask(digits) + "^" + stars(len(s)-i-1)
}

func stars(n int) string { return strings.Repeat("*", n) }

// String prints the object's masked tree (see Printer), without the final
// newline. Cardholder data never appears in clear.
func (t TLV) String() string { return List{t}.String() }

// GoString is String, so that %#v does not print values in clear either.
func (t TLV) GoString() string { return t.String() }

// String prints the masked tree of the objects, without the final newline.
func (l List) String() string {
	var sb strings.Builder
	Printer{}.list(&sb, l, 0)
	return strings.TrimSuffix(sb.String(), "\n")
}

// GoString is String, so that %#v does not print values in clear either.
func (l List) GoString() string { return l.String() }

// String lists the entries in tag order as "TAG=value", masked like Printer.
func (m Map) String() string {
	parts := make([]string, 0, len(m))
	p := Printer{}
	for _, t := range m.Tags() {
		parts = append(parts, fmt.Sprintf("%v=%s", t, p.value(t, m[t])))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// GoString is String, so that %#v does not print values in clear either.
func (m Map) GoString() string { return m.String() }
