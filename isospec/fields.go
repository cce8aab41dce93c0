package isospec

import (
	"fmt"
	"sort"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// Format is the ISO 8583 attribute of a field's content.
type Format uint8

// Field content formats.
const (
	// FormatN is numeric: the digits 0 to 9.
	FormatN Format = iota + 1
	// FormatAN is alphanumeric: letters and digits.
	FormatAN
	// FormatANS is printable ASCII: letters, digits, space and special
	// characters (0x20 to 0x7E).
	FormatANS
	// FormatZ is track 2 data in ASCII: digits and the field separator '='.
	FormatZ
	// FormatB is binary data.
	FormatB
)

// String returns the ISO 8583 abbreviation: n, an, ans, z or b.
func (f Format) String() string {
	switch f {
	case FormatN:
		return "n"
	case FormatAN:
		return "an"
	case FormatANS:
		return "ans"
	case FormatZ:
		return "z"
	case FormatB:
		return "b"
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// LengthType says how a field's length is known.
type LengthType uint8

// Length types.
const (
	// Fixed fields always have MaxLen characters or bytes.
	Fixed LengthType = iota + 1
	// LLVAR fields start with a 2-digit ASCII length.
	LLVAR
	// LLLVAR fields start with a 3-digit ASCII length.
	LLLVAR
)

// String returns "fixed", "LLVAR" or "LLLVAR".
func (l LengthType) String() string {
	switch l {
	case Fixed:
		return "fixed"
	case LLVAR:
		return "LLVAR"
	case LLLVAR:
		return "LLLVAR"
	}
	return fmt.Sprintf("length(%d)", uint8(l))
}

// prefixLen is the number of ASCII length digits before the value.
func (l LengthType) prefixLen() int {
	switch l {
	case LLVAR:
		return 2
	case LLLVAR:
		return 3
	}
	return 0
}

// FieldDef describes one data element of the dialect.
type FieldDef struct {
	// ID is the field number, 2 to 128.
	ID int
	// Name is the field's ISO 8583 name, lower case.
	Name string
	// Format is the content's character set.
	Format Format
	// Length is fixed or the kind of length prefix.
	Length LengthType
	// MinLen and MaxLen bound the content length, in characters (bytes for
	// binary fields). For fixed fields both equal the field's length.
	MinLen, MaxLen int
	// SpacePadded marks fixed ans fields that may be shorter on the Go side:
	// they are padded on the right with spaces when packed, and the trailing
	// spaces are removed when unpacked.
	SpacePadded bool
}

// Field numbers of the dialect.
const (
	FieldPAN                  = 2
	FieldProcessingCode       = 3
	FieldAmount               = 4
	FieldTransmissionDateTime = 7
	FieldSTAN                 = 11
	FieldLocalTime            = 12
	FieldLocalDate            = 13
	FieldExpiry               = 14
	FieldMCC                  = 18
	FieldPOSEntryMode         = 22
	FieldCardSequenceNumber   = 23
	FieldPOSConditionCode     = 25
	FieldAcquirerID           = 32
	FieldForwardingID         = 33
	FieldTrack2               = 35
	FieldRRN                  = 37
	FieldAuthCode             = 38
	FieldResponseCode         = 39
	FieldTerminalID           = 41
	FieldMerchantID           = 42
	FieldCardAcceptor         = 43
	FieldPrivateData          = 48
	FieldCurrency             = 49
	FieldPINBlock             = 52
	FieldSecurityControl      = 53
	FieldAdditionalAmounts    = 54
	FieldICCData              = 55
	FieldMAC                  = 64
	FieldNetworkCode          = 70
	FieldOriginalData         = 90
	FieldMAC2                 = 128
)

// MACLen is the length in bytes of DE64 and DE128.
const MACLen = 8

var fieldDefs = [...]FieldDef{
	{ID: FieldPAN, Name: "primary account number", Format: FormatN, Length: LLVAR, MinLen: 8, MaxLen: 19},
	{ID: FieldProcessingCode, Name: "processing code", Format: FormatN, Length: Fixed, MinLen: 6, MaxLen: 6},
	{ID: FieldAmount, Name: "amount, transaction", Format: FormatN, Length: Fixed, MinLen: 12, MaxLen: 12},
	{ID: FieldTransmissionDateTime, Name: "transmission date and time", Format: FormatN, Length: Fixed, MinLen: 10, MaxLen: 10},
	{ID: FieldSTAN, Name: "systems trace audit number", Format: FormatN, Length: Fixed, MinLen: 6, MaxLen: 6},
	{ID: FieldLocalTime, Name: "time, local transaction", Format: FormatN, Length: Fixed, MinLen: 6, MaxLen: 6},
	{ID: FieldLocalDate, Name: "date, local transaction", Format: FormatN, Length: Fixed, MinLen: 4, MaxLen: 4},
	{ID: FieldExpiry, Name: "date, expiration", Format: FormatN, Length: Fixed, MinLen: 4, MaxLen: 4},
	{ID: FieldMCC, Name: "merchant category code", Format: FormatN, Length: Fixed, MinLen: 4, MaxLen: 4},
	{ID: FieldPOSEntryMode, Name: "point of service entry mode", Format: FormatN, Length: Fixed, MinLen: 3, MaxLen: 3},
	{ID: FieldCardSequenceNumber, Name: "card sequence number", Format: FormatN, Length: Fixed, MinLen: 3, MaxLen: 3},
	{ID: FieldPOSConditionCode, Name: "point of service condition code", Format: FormatN, Length: Fixed, MinLen: 2, MaxLen: 2},
	{ID: FieldAcquirerID, Name: "acquiring institution identification code", Format: FormatN, Length: LLVAR, MinLen: 1, MaxLen: 11},
	{ID: FieldForwardingID, Name: "forwarding institution identification code", Format: FormatN, Length: LLVAR, MinLen: 1, MaxLen: 11},
	{ID: FieldTrack2, Name: "track 2 data", Format: FormatZ, Length: LLVAR, MinLen: 1, MaxLen: 37},
	{ID: FieldRRN, Name: "retrieval reference number", Format: FormatAN, Length: Fixed, MinLen: 12, MaxLen: 12},
	{ID: FieldAuthCode, Name: "authorisation identification response", Format: FormatAN, Length: Fixed, MinLen: 6, MaxLen: 6},
	{ID: FieldResponseCode, Name: "response code", Format: FormatAN, Length: Fixed, MinLen: 2, MaxLen: 2},
	{ID: FieldTerminalID, Name: "card acceptor terminal identification", Format: FormatANS, Length: Fixed, MinLen: 8, MaxLen: 8, SpacePadded: true},
	{ID: FieldMerchantID, Name: "card acceptor identification code", Format: FormatANS, Length: Fixed, MinLen: 15, MaxLen: 15, SpacePadded: true},
	{ID: FieldCardAcceptor, Name: "card acceptor name/location", Format: FormatANS, Length: Fixed, MinLen: 40, MaxLen: 40, SpacePadded: true},
	{ID: FieldPrivateData, Name: "additional data, private", Format: FormatANS, Length: LLLVAR, MinLen: 0, MaxLen: 999},
	{ID: FieldCurrency, Name: "currency code, transaction", Format: FormatN, Length: Fixed, MinLen: 3, MaxLen: 3},
	{ID: FieldPINBlock, Name: "personal identification number data", Format: FormatB, Length: Fixed, MinLen: 8, MaxLen: 8},
	{ID: FieldSecurityControl, Name: "security related control information", Format: FormatB, Length: LLVAR, MinLen: 1, MaxLen: 48},
	{ID: FieldAdditionalAmounts, Name: "additional amounts", Format: FormatAN, Length: LLLVAR, MinLen: 20, MaxLen: 120},
	{ID: FieldICCData, Name: "integrated circuit card system related data", Format: FormatB, Length: LLLVAR, MinLen: 1, MaxLen: 255},
	{ID: FieldMAC, Name: "message authentication code", Format: FormatB, Length: Fixed, MinLen: MACLen, MaxLen: MACLen},
	{ID: FieldNetworkCode, Name: "network management information code", Format: FormatN, Length: Fixed, MinLen: 3, MaxLen: 3},
	{ID: FieldOriginalData, Name: "original data elements", Format: FormatN, Length: Fixed, MinLen: 42, MaxLen: 42},
	{ID: FieldMAC2, Name: "message authentication code", Format: FormatB, Length: Fixed, MinLen: MACLen, MaxLen: MACLen},
}

// defs indexes fieldDefs by field number; a nil entry is a field the
// dialect does not use.
var defs = func() [129]*FieldDef {
	var t [129]*FieldDef
	for i := range fieldDefs {
		t[fieldDefs[i].ID] = &fieldDefs[i]
	}
	return t
}()

// fieldOrder lists the definitions in field order.
var fieldOrder = func() []*FieldDef {
	var out []*FieldDef
	for _, d := range defs {
		if d != nil {
			out = append(out, d)
		}
	}
	return out
}()

// Fields returns the definitions of every data element of the dialect, in
// field order, as a new slice.
func Fields() []FieldDef {
	out := append([]FieldDef(nil), fieldDefs[:]...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Field returns the definition of field id, and false if the dialect does
// not use it.
func Field(id int) (FieldDef, bool) {
	if id < 0 || id >= len(defs) || defs[id] == nil {
		return FieldDef{}, false
	}
	return *defs[id], true
}

// fieldName names field id for errors and descriptions.
func fieldName(id int) string {
	switch id {
	case 0:
		return "message type indicator"
	case 1:
		return "bitmap"
	}
	if d, ok := Field(id); ok {
		return d.Name
	}
	return "undefined field"
}

// Spec is the moov-io/iso8583 message spec of the dialect, for
// iso8583.NewMessage and for iso8583-connection's connection.New and
// server.New. Treat it as read-only.
var Spec = buildSpec()

func buildSpec() *iso8583.MessageSpec {
	fs := map[int]field.Field{
		0: field.NewString(&field.Spec{
			Length:      4,
			Description: "Message Type Indicator",
			Enc:         asciiEncoder{},
			Pref:        prefix.ASCII.Fixed,
			Packer:      fieldPacker{ascii: true, owned: true},
		}),
		1: field.NewBitmap(&field.Spec{
			Length:      8,
			Description: "Bitmap",
			Enc:         binaryEncoder{},
			Pref:        prefix.Binary.Fixed,
		}),
	}
	for i := range fieldDefs {
		d := &fieldDefs[i]
		fs[d.ID] = moovField(d)
	}
	return &iso8583.MessageSpec{Name: "tapsim ISO 8583:1987 ASCII, binary bitmap", Fields: fs}
}

// moovField is the library field of d: ASCII or binary, fixed or with an
// ASCII length prefix, padded where d says, with the encoders and the
// packer of fieldcodec.go.
func moovField(d *FieldDef) field.Field {
	s := &field.Spec{Length: d.MaxLen, Description: d.Name}
	p := fieldPacker{digits: d.Length.prefixLen(), ascii: d.Format != FormatB, owned: d.Format != FormatB}
	if p.ascii {
		s.Enc = asciiEncoder{}
	} else {
		s.Enc = binaryEncoder{}
	}
	switch d.Length {
	case Fixed:
		if d.Format == FormatB {
			s.Pref = prefix.Binary.Fixed
		} else {
			s.Pref = prefix.ASCII.Fixed
		}
	case LLVAR:
		s.Pref = prefix.ASCII.LL
	case LLLVAR:
		s.Pref = prefix.ASCII.LLL
	}
	switch {
	case d.ID == FieldAmount:
		s.Pad = padding.Left('0')
		p.pad, p.left = '0', true
	case d.SpacePadded:
		s.Pad = padding.Right(' ')
		p.pad = ' '
	}
	s.Packer = p
	switch {
	case d.ID == FieldAmount:
		return field.NewNumeric(s)
	case d.Format == FormatB:
		return field.NewBinary(s)
	}
	return field.NewString(s)
}
