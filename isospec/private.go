package isospec

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrPrivateData reports malformed private data (DE48).
var ErrPrivateData = errors.New("isospec: bad private data")

// Subelement tags of the private data field (DE48).
const (
	TagDeclineReason    = "01" // ans..99: machine-readable decline reason
	TagTokenRequestorID = "02" // n11: EMVCo token requestor ID
	TagTokenAssurance   = "03" // n2: token assurance level
	TagDeviceID         = "04" // ans..64: device ID the card or token is bound to
	TagCDCVM            = "05" // n1: 1 if a consumer-device CVM was performed
	TagHCEKeyATC        = "06" // n5: ATC of the single-use key an HCE cryptogram used
	TagKeyType          = "07" // an..8: key change, type of the key sent (ZPK, TAK...)
	TagKeyUnderKEK      = "08" // hex: key change, the key encrypted under the KEK
	TagKeyCheckValue    = "09" // hex 6: key change, check value of the key sent
	TagStandIn          = "10" // n1: 1 if the acquirer answered in the issuer's stead
)

// Subelement is one tag-length-value element of DE48.
type Subelement struct {
	Tag   string // 2 digits
	Value string // printable ASCII
}

// PrivateData is the structured content of DE48, additional data private
// use. On the wire it is a series of subelements, each a 2-digit tag, a
// 3-digit length and that many printable ASCII characters, in ascending tag
// order:
//
//	01 decline reason       04 device ID           07 key type
//	02 token requestor ID   05 CDCVM performed     08 key under KEK (hex)
//	03 token assurance      06 HCE key ATC         09 key check value (hex)
//	10 stand-in
//
// Absent subelements leave the field's zero value. Unknown tags are kept in
// Extra so that a relay passes them on unchanged.
type PrivateData struct {
	DeclineReason    DeclineReason
	TokenRequestorID string
	TokenAssurance   string
	DeviceID         string
	// CDCVM reports a consumer-device cardholder verification (biometric
	// or passcode on the phone) performed for this transaction.
	CDCVM bool
	// HCEKeyATC is the ATC of the single-use key of an HCE cryptogram,
	// meaningful when HasHCEKeyATC is set.
	HCEKeyATC    uint16
	HasHCEKeyATC bool
	// KeyType, KeyUnderKEK and KeyCheckValue carry a key in a key change
	// (0800, DE70 161): never a clear key, only its cryptogram under the
	// key-encrypting key and its check value, both in upper-case hex.
	KeyType       string
	KeyUnderKEK   string
	KeyCheckValue string
	// StandIn marks an answer the acquirer gave in the issuer's stead
	// (stand-in processing), and the advice that tells the issuer of it.
	StandIn bool
	// Extra holds subelements with tags not listed above.
	Extra []Subelement
}

// IsZero reports whether p has no subelement.
func (p PrivateData) IsZero() bool {
	return len(p.subelements()) == 0
}

func (p PrivateData) subelements() []Subelement {
	var out []Subelement
	add := func(tag, v string) {
		if v != "" {
			out = append(out, Subelement{tag, v})
		}
	}
	add(TagDeclineReason, string(p.DeclineReason))
	add(TagTokenRequestorID, p.TokenRequestorID)
	add(TagTokenAssurance, p.TokenAssurance)
	add(TagDeviceID, p.DeviceID)
	if p.CDCVM {
		add(TagCDCVM, "1")
	}
	if p.HasHCEKeyATC {
		add(TagHCEKeyATC, fmt.Sprintf("%05d", p.HCEKeyATC))
	}
	add(TagKeyType, p.KeyType)
	add(TagKeyUnderKEK, p.KeyUnderKEK)
	add(TagKeyCheckValue, p.KeyCheckValue)
	if p.StandIn {
		add(TagStandIn, "1")
	}
	out = append(out, p.Extra...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out
}

// Encode returns the DE48 content, or "" if p is empty. Each value is
// checked against its subelement's format.
func (p PrivateData) Encode() (string, error) {
	var sb strings.Builder
	seen := map[string]bool{}
	for _, s := range p.subelements() {
		if seen[s.Tag] {
			return "", privErr(s.Tag, "duplicate tag")
		}
		seen[s.Tag] = true
		if err := checkSubelement(s); err != nil {
			return "", err
		}
		fmt.Fprintf(&sb, "%s%03d%s", s.Tag, len(s.Value), s.Value)
	}
	if sb.Len() > defs[FieldPrivateData].MaxLen {
		return "", fmt.Errorf("isospec: private data: %d characters, at most %d: %w", sb.Len(), defs[FieldPrivateData].MaxLen, ErrPrivateData)
	}
	return sb.String(), nil
}

// ParsePrivateData reads DE48 content. It never panics; errors wrap
// ErrPrivateData and name the tag, never the value.
func ParsePrivateData(s string) (PrivateData, error) {
	var p PrivateData
	var seen [100]bool // by tag, checked to be 2 digits first
	last := ""
	for off := 0; off < len(s); {
		if len(s)-off < 5 {
			return PrivateData{}, fmt.Errorf("isospec: private data: truncated header at offset %d: %w", off, ErrPrivateData)
		}
		tag, ls := s[off:off+2], s[off+2:off+5]
		if firstBad(tag, FormatN) >= 0 || firstBad(ls, FormatN) >= 0 {
			return PrivateData{}, fmt.Errorf("isospec: private data: non-numeric tag or length at offset %d: %w", off, ErrPrivateData)
		}
		n, _ := strconv.Atoi(ls)
		off += 5
		if len(s)-off < n {
			return PrivateData{}, fmt.Errorf("isospec: private data: tag %s: value runs past the end: %w", tag, ErrPrivateData)
		}
		v := s[off : off+n]
		off += n
		t := twoDigits(tag)
		if seen[t] {
			return PrivateData{}, privErr(tag, "duplicate tag")
		}
		if tag < last {
			return PrivateData{}, privErr(tag, "tags out of order")
		}
		seen[t], last = true, tag
		sub := Subelement{tag, v}
		if err := checkSubelement(sub); err != nil {
			return PrivateData{}, err
		}
		switch tag {
		case TagDeclineReason:
			p.DeclineReason = DeclineReason(v)
		case TagTokenRequestorID:
			p.TokenRequestorID = v
		case TagTokenAssurance:
			p.TokenAssurance = v
		case TagDeviceID:
			p.DeviceID = v
		case TagCDCVM:
			p.CDCVM = v == "1"
		case TagHCEKeyATC:
			n, _ := strconv.Atoi(v)
			p.HCEKeyATC, p.HasHCEKeyATC = uint16(n), true
		case TagKeyType:
			p.KeyType = v
		case TagKeyUnderKEK:
			p.KeyUnderKEK = v
		case TagKeyCheckValue:
			p.KeyCheckValue = v
		case TagStandIn:
			p.StandIn = v == "1"
		default:
			p.Extra = append(p.Extra, sub)
		}
	}
	return p, nil
}

func privErr(tag, what string) error {
	return fmt.Errorf("isospec: private data: tag %s: %s: %w", tag, what, ErrPrivateData)
}

// checkSubelement checks a subelement's tag and value format.
func checkSubelement(s Subelement) error {
	if len(s.Tag) != 2 || firstBad(s.Tag, FormatN) >= 0 {
		return fmt.Errorf("isospec: private data: tag not 2 digits: %w", ErrPrivateData)
	}
	v := s.Value
	if v == "" {
		return privErr(s.Tag, "empty value")
	}
	if firstBad(v, FormatANS) >= 0 {
		return privErr(s.Tag, "value not printable ASCII")
	}
	digits := firstBad(v, FormatN) < 0
	hexUpper := strings.Trim(v, "0123456789ABCDEF") == ""
	ok := true
	switch s.Tag {
	case TagDeclineReason:
		ok = len(v) <= 99
	case TagTokenRequestorID:
		ok = digits && len(v) == 11
	case TagTokenAssurance:
		ok = digits && len(v) == 2
	case TagDeviceID:
		ok = len(v) <= 64
	case TagCDCVM, TagStandIn:
		ok = v == "0" || v == "1"
	case TagHCEKeyATC:
		if ok = digits && len(v) == 5; ok {
			n, _ := strconv.Atoi(v)
			ok = n <= 0xFFFF
		}
	case TagKeyType:
		ok = len(v) <= 8 && firstBad(v, FormatAN) < 0
	case TagKeyUnderKEK:
		ok = hexUpper && len(v)%2 == 0 && len(v) <= 96
	case TagKeyCheckValue:
		ok = hexUpper && len(v) == 6
	}
	if !ok {
		return privErr(s.Tag, "value does not fit the subelement's format")
	}
	return nil
}
