package isospec

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/emv/tlv"
)

// fieldValue is one field's wire content (padding included, no length
// prefix).
type fieldValue struct {
	id  int
	raw []byte
}

// valuesOf lists the set fields of msg in field order.
func valuesOf(msg *iso8583.Message) (string, []fieldValue) {
	mti, _ := msg.GetMTI()
	fields := msg.GetFields()
	ids := make([]int, 0, len(fields))
	for id := range fields {
		if id >= 2 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]fieldValue, 0, len(ids))
	for _, id := range ids {
		d, ok := Field(id)
		if !ok {
			out = append(out, fieldValue{id: id})
			continue
		}
		raw, err := wireValue(&d, fields[id])
		if err != nil {
			raw = nil
		}
		out = append(out, fieldValue{id: id, raw: raw})
	}
	return mti, out
}

// Describe lists msg field by field with names, for logs, the terminal's
// ISO pane and the acquirer's journal. Cardholder data is masked: the PAN
// keeps at most its first 6 and last 4 digits, track 2 keeps only the
// masked PAN, the expiry date is hidden, the PIN block shows as
// "[PIN block]", DE55 is decoded as BER-TLV with the cryptograms (9F26,
// 9F10, 9F4B, 91, issuer script commands) and the card's own sensitive tags
// masked, and the key cryptogram of a key change is hidden. It never
// panics, whatever msg holds.
func Describe(msg *iso8583.Message) string { return DescribeWith(msg, DescribeOptions{}) }

// DescribeOptions change what Describe shows.
type DescribeOptions struct {
	// ShowCryptograms shows the application cryptogram (9F26), the Issuer
	// Application Data (9F10), the Signed Dynamic Application Data (9F4B)
	// and the Issuer Authentication Data with the ARPC (91) in hex: they
	// are not cardholder data and an operator's trace on screen needs
	// them. Never set it for a log or a journal. The PAN, track 2, the
	// expiry date, the PIN block, issuer script commands and keys stay
	// masked whatever the options.
	ShowCryptograms bool
}

// DescribeWith is Describe with options: with ShowCryptograms, the view of
// an operator's screen (the terminal UI's ISO 8583 pane, tap --trace).
func DescribeWith(msg *iso8583.Message, o DescribeOptions) string {
	if msg == nil {
		return "isospec: no message\n"
	}
	mti, vals := valuesOf(msg)
	var sb strings.Builder
	describeHeader(&sb, mti, bitmapOf(vals))
	for _, v := range vals {
		describeField(&sb, v, o)
	}
	return sb.String()
}

// DescribeFrame describes a packed message (length header excluded) the
// way Describe does. A malformed frame is described up to the problem,
// followed by a line "error: ...".
func DescribeFrame(b []byte) string {
	var l layout
	err := scan(b, &l)
	var sb strings.Builder
	if l.mti != nil {
		describeHeader(&sb, string(l.mti), l.bitmap)
	}
	for _, s := range l.fields() {
		describeField(&sb, fieldValue{id: s.id, raw: b[s.val:s.end]}, DescribeOptions{})
	}
	if err != nil {
		fmt.Fprintf(&sb, "error: %v\n", err)
	}
	return sb.String()
}

// Summary is a one-line masked description of msg: MTI, STAN, terminal,
// masked PAN, processing code, amount, entry mode, response code, decline
// reason and the other identifying fields present.
func Summary(msg *iso8583.Message) string {
	if msg == nil {
		return "isospec: no message"
	}
	mti, vals := valuesOf(msg)
	get := map[int]string{}
	for _, v := range vals {
		get[v.id] = string(v.raw)
	}
	parts := []string{safeText(mti, FormatN) + " " + MTI(mti).Name()}
	add := func(label string, id int, render func(string) string) {
		if v, ok := get[id]; ok {
			parts = append(parts, label+" "+render(v))
		}
	}
	plain := func(f Format) func(string) string {
		return func(s string) string { return safeText(strings.TrimRight(s, " "), f) }
	}
	add("STAN", FieldSTAN, plain(FormatN))
	add("TID", FieldTerminalID, plain(FormatANS))
	if _, ok := get[FieldPAN]; ok {
		add("PAN", FieldPAN, pan.Mask)
	} else {
		add("PAN", FieldTrack2, func(s string) string {
			p, _, _ := strings.Cut(s, "=")
			return pan.Mask(p)
		})
	}
	add("proc", FieldProcessingCode, plain(FormatN))
	if a, ok := get[FieldAmount]; ok {
		s := "amount " + safeText(a, FormatN)
		if c, ok := get[FieldCurrency]; ok {
			s += " " + safeText(c, FormatN)
		}
		parts = append(parts, s)
	}
	add("entry", FieldPOSEntryMode, plain(FormatN))
	add("RRN", FieldRRN, plain(FormatAN))
	add("DE39", FieldResponseCode, func(s string) string { return ResponseCode(s).String() })
	add("auth", FieldAuthCode, plain(FormatAN))
	add("DE70", FieldNetworkCode, func(s string) string { return safeText(s, FormatN) + " " + NetworkCode(s).Name() })
	add("original", FieldOriginalData, func(s string) string {
		o, err := ParseOriginalData(s)
		if err != nil {
			return "malformed"
		}
		return string(o.MTI) + " STAN " + o.STAN
	})
	if v, ok := get[FieldPrivateData]; ok {
		if p, err := ParsePrivateData(v); err == nil && p.DeclineReason != "" {
			parts = append(parts, "reason "+string(p.DeclineReason))
		}
	}
	return strings.Join(parts, " ")
}

func describeHeader(sb *strings.Builder, mti string, bitmap []byte) {
	fmt.Fprintf(sb, "MTI    %s (%s)\n", safeText(mti, FormatN), MTI(mti).Name())
	var ids []string
	for i := 2; i <= len(bitmap)*8; i++ {
		if i != 65 && bitSet(bitmap, i) {
			ids = append(ids, strconv.Itoa(i))
		}
	}
	bm := upperHex(bitmap)
	if len(bm) > 16 {
		bm = bm[:16] + " " + bm[16:]
	}
	fmt.Fprintf(sb, "bitmap %s (fields %s)\n", bm, strings.Join(ids, " "))
}

// bitmapOf builds the bitmap the fields give: primary, plus secondary when
// a field above 64 is present.
func bitmapOf(vals []fieldValue) []byte {
	bm := make([]byte, 8)
	for _, v := range vals {
		if v.id > 64 && len(bm) == 8 {
			bm = append(bm, make([]byte, 8)...)
			bm[0] |= 0x80
		}
	}
	for _, v := range vals {
		if v.id >= 2 && v.id <= len(bm)*8 {
			i := v.id - 1
			bm[i/8] |= 0x80 >> (i % 8)
		}
	}
	return bm
}

const indent = "       "

func describeField(sb *strings.Builder, v fieldValue, o DescribeOptions) {
	fmt.Fprintf(sb, "DE%-4d %s: ", v.id, fieldName(v.id))
	d, ok := Field(v.id)
	if !ok {
		sb.WriteString("[not in the dialect]\n")
		return
	}
	s := string(v.raw)
	valid := checkValue(&d, v.raw) == nil
	switch v.id {
	case FieldPAN:
		sb.WriteString(pan.Mask(s))
	case FieldTrack2:
		sb.WriteString(maskTrack2(s))
	case FieldExpiry:
		sb.WriteString(strings.Repeat("*", len(s)) + " (masked)")
	case FieldPINBlock:
		sb.WriteString("[PIN block]")
	case FieldICCData:
		describeICC(sb, v.raw, o)
		return
	case FieldPrivateData:
		describePrivate(sb, s)
		return
	case FieldProcessingCode:
		sb.WriteString(safeText(s, FormatN) + " (" + ProcessingCode(s).Description() + ")")
	case FieldPOSEntryMode:
		sb.WriteString(safeText(s, FormatN) + " (" + POSEntryMode(s).Description() + ")")
	case FieldPOSConditionCode:
		name, ok := posConditionNames[s]
		if !ok {
			name = "unknown condition"
		}
		sb.WriteString(safeText(s, FormatN) + " (" + name + ")")
	case FieldResponseCode:
		sb.WriteString(ResponseCode(s).String())
	case FieldNetworkCode:
		sb.WriteString(safeText(s, FormatN) + " (" + NetworkCode(s).Name() + ")")
	case FieldTransmissionDateTime:
		sb.WriteString(safeText(s, FormatN))
		if valid && validMMDD(s[:4]) && validHHMMSS(s[4:]) {
			fmt.Fprintf(sb, " (%s-%s %s:%s:%s UTC)", s[0:2], s[2:4], s[4:6], s[6:8], s[8:10])
		}
	case FieldOriginalData:
		sb.WriteString(safeText(s, FormatN))
		if o, err := ParseOriginalData(s); err == nil {
			fwd := o.ForwardingID
			if fwd == "" {
				fwd = "none"
			}
			acq := o.AcquirerID
			if acq == "" {
				acq = "none"
			}
			fmt.Fprintf(sb, " (MTI %s, STAN %s, transmitted %s, acquirer %s, forwarding %s)",
				o.MTI, o.STAN, o.TransmissionDateTime, acq, fwd)
		}
	case FieldTerminalID, FieldMerchantID, FieldCardAcceptor:
		sb.WriteString(strconv.Quote(safeText(s, FormatANS)))
	case FieldMAC, FieldMAC2, FieldSecurityControl:
		sb.WriteString(upperHex(v.raw))
	default:
		sb.WriteString(safeText(s, d.Format))
	}
	if !valid {
		sb.WriteString(" (invalid)")
	}
	sb.WriteByte('\n')
}

// safeText returns s if every character fits f, else a placeholder that
// shows only the length: a field holding what it should not is never
// echoed.
func safeText(s string, f Format) string {
	if firstBad(s, f) >= 0 {
		return fmt.Sprintf("[%d characters, not %v]", len(s), f)
	}
	return s
}

// maskTrack2 keeps the masked PAN and the separator; everything after it
// (expiry, service code, discretionary data) becomes '*'.
func maskTrack2(s string) string {
	p, rest, found := strings.Cut(s, "=")
	if !found {
		return strings.Repeat("*", len(s))
	}
	return pan.Mask(p) + "=" + strings.Repeat("*", len(rest))
}

func describePrivate(sb *strings.Builder, s string) {
	p, err := ParsePrivateData(s)
	if err != nil {
		fmt.Fprintf(sb, "[%d characters, malformed: %v]\n", len(s), err)
		return
	}
	fmt.Fprintf(sb, "%d characters\n", len(s))
	line := func(tag, name, v string) {
		fmt.Fprintf(sb, "%s%s %s: %s\n", indent, tag, name, v)
	}
	if p.DeclineReason != "" {
		line(TagDeclineReason, "decline reason", string(p.DeclineReason))
	}
	if p.TokenRequestorID != "" {
		line(TagTokenRequestorID, "token requestor ID", p.TokenRequestorID)
	}
	if p.TokenAssurance != "" {
		line(TagTokenAssurance, "token assurance level", p.TokenAssurance)
	}
	if p.DeviceID != "" {
		line(TagDeviceID, "device ID", p.DeviceID)
	}
	if p.CDCVM {
		line(TagCDCVM, "CDCVM performed", "yes")
	}
	if p.HasHCEKeyATC {
		line(TagHCEKeyATC, "HCE key ATC", strconv.Itoa(int(p.HCEKeyATC)))
	}
	if p.KeyType != "" {
		line(TagKeyType, "key type", p.KeyType)
	}
	if p.KeyUnderKEK != "" {
		line(TagKeyUnderKEK, "key under KEK", fmt.Sprintf("[key cryptogram, %d bytes]", len(p.KeyUnderKEK)/2))
	}
	if p.KeyCheckValue != "" {
		line(TagKeyCheckValue, "key check value", p.KeyCheckValue)
	}
	for _, e := range p.Extra {
		line(e.Tag, "unknown subelement", fmt.Sprintf("[%d characters]", len(e.Value)))
	}
}

// maskedICCTags are the DE55 data objects shown only by length:
// cryptograms and what carries or protects them. Those marked false are
// shown with DescribeOptions.ShowCryptograms; those marked true never.
var maskedICCTags = map[tlv.Tag]bool{
	0x9F26: false, // Application Cryptogram
	0x9F10: false, // Issuer Application Data
	0x9F4B: false, // Signed Dynamic Application Data (holds the AC in CDA)
	0x91:   false, // Issuer Authentication Data (ARPC)
	0x86:   true,  // Issuer Script Command (may carry an enciphered PIN)
}

// masked reports whether DE55's data object tag is shown by length only.
func (o DescribeOptions) masked(tag tlv.Tag) bool {
	always, ok := maskedICCTags[tag]
	return ok && (always || !o.ShowCryptograms)
}

func describeICC(sb *strings.Builder, b []byte, o DescribeOptions) {
	l, err := tlv.Decode(b)
	if err != nil {
		fmt.Fprintf(sb, "%d bytes, malformed BER-TLV: %v\n", len(b), err)
		return
	}
	fmt.Fprintf(sb, "%d bytes\n", len(b))
	describeTLV(sb, l, 1, iccKernel(l), o)
}

// iccKernel is the kernel whose tag names suit DE55: the one Book B gives
// the application (9F06, else 84, else 4F) by its registered application
// provider, or KernelAny.
func iccKernel(l tlv.List) tlv.Kernel {
	for _, tag := range []tlv.Tag{0x9F06, 0x84, 0x4F} {
		t, ok := l.Find(tag)
		if !ok || len(t.Value) < 5 {
			continue
		}
		switch upperHex(t.Value[:5]) {
		case "A000000004":
			return tlv.Kernel2
		case "A000000003":
			return tlv.Kernel3
		}
	}
	return tlv.KernelAny
}

func describeTLV(sb *strings.Builder, l tlv.List, depth int, k tlv.Kernel, o DescribeOptions) {
	pad := strings.Repeat(indent, 1) + strings.Repeat("  ", depth-1)
	for _, t := range l {
		switch {
		case t.Tag.Constructed():
			name := "unknown tag"
			if in, ok := tlv.LookupFor(t.Tag, k); ok {
				name = in.Name
			}
			fmt.Fprintf(sb, "%s%v [%d] %s\n", pad, t.Tag, len(t.Value), name)
			if depth < tlv.DefaultMaxDepth {
				describeTLV(sb, t.Children, depth+1, k, o)
			}
		case o.masked(t.Tag):
			name := "unknown tag"
			if in, ok := tlv.LookupFor(t.Tag, k); ok {
				name = in.Name
			}
			fmt.Fprintf(sb, "%s%v [%d] %s: %s (masked)\n", pad, t.Tag, len(t.Value), name, strings.Repeat("*", 2*len(t.Value)))
		default:
			var line strings.Builder
			_ = tlv.Printer{Kernel: k, Explain: true}.FprintList(&line, tlv.List{t})
			for _, ln := range strings.SplitAfter(line.String(), "\n") {
				if ln != "" {
					sb.WriteString(pad + ln)
				}
			}
		}
	}
}

func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
