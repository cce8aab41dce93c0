package isospec

import (
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
	"github.com/tapsim/tapsim/emv/tlv"
)

// required lists the fields each message type must carry; anyOf lists sets
// of which at least one must be present.
var required = map[MTI]struct {
	all   []int
	anyOf [][]int
}{
	MTIAuthorizationRequest: {
		all:   []int{3, 4, 7, 11, 22, 41, 49},
		anyOf: [][]int{{FieldPAN, FieldTrack2}},
	},
	MTIFinancialRequest: {
		all:   []int{3, 4, 7, 11, 22, 41, 49},
		anyOf: [][]int{{FieldPAN, FieldTrack2}},
	},
	MTIAuthorizationResponse:       {all: []int{11, 39}},
	MTIAuthorizationAdvice:         {all: []int{3, 4, 7, 11, 39, 41, 49, 90}},
	MTIAuthorizationAdviceRepeat:   {all: []int{3, 4, 7, 11, 39, 41, 49, 90}},
	MTIAuthorizationAdviceResponse: {all: []int{11, 39}},
	MTIFinancialResponse:           {all: []int{11, 39}},
	MTIReversalRequest:             {all: []int{3, 4, 7, 11, 41, 49, 90}},
	MTIReversalAdvice:              {all: []int{3, 4, 7, 11, 41, 49, 90}},
	MTIReversalAdviceRepeat:        {all: []int{3, 4, 7, 11, 41, 49, 90}},
	MTIReversalResponse:            {all: []int{11, 39}},
	MTIReversalAdviceResponse:      {all: []int{11, 39}},
	MTINetworkRequest:              {all: []int{7, 11, 70}},
	MTINetworkResponse:             {all: []int{11, 39, 70}},
}

// Validate checks msg as the receiving host does before acting on it (any
// failure is a format error, DE39 30):
//
//   - every field's format, length and character set, as Pack does;
//   - the MTI is one the dialect uses;
//   - the fields the message type requires are present (0100: DE3, 4, 7,
//     11, 22, 41, 49 and DE2 or DE35; DE55 too for a chip read, 05x or
//     07x; 0400/0420/0421: DE3, 4, 7, 11, 41, 49, 90; responses: DE11, 39;
//     0800: DE7, 11, 70; 0810: DE11, 39, 70);
//   - dates and times exist (DE7, 12, 13), the expiry month is 01 to 12,
//     track 2 is laid out right and names the same PAN as DE2, DE55 is
//     BER-TLV, DE48 parses as PrivateData, DE90 names a request sent at a
//     valid time, DE70 is a known code;
//   - a MAC, if present, is in the right field (DE128 when there is a
//     secondary bitmap, else DE64), not both.
//
// Errors are *FieldError, in field order.
func Validate(msg *iso8583.Message) error {
	var fs fieldSet
	if err := fs.read(msg); err != nil {
		return err
	}
	mti := MTI(fs.mti)
	if !mti.Known() {
		return fieldErr(0, -1, ErrValue, "message type not in the dialect")
	}
	secondary := false
	for _, id := range secondaryFields {
		if fs.has(id) {
			secondary = true
		}
	}
	req := required[mti]
	for _, id := range req.all {
		if !fs.has(id) {
			return fieldErr(id, -1, ErrMissing, "required in "+string(mti))
		}
	}
	if (mti == MTIAuthorizationRequest || mti == MTIFinancialRequest) && POSEntryMode(fs.str(FieldPOSEntryMode)).Chip() && !fs.has(FieldICCData) {
		return fieldErr(FieldICCData, -1, ErrMissing, "required in "+string(mti))
	}
	for _, set := range req.anyOf {
		found := false
		for _, id := range set {
			if fs.has(id) {
				found = true
			}
		}
		if !found {
			return fieldErr(set[0], -1, ErrMissing, "required in "+string(mti)+" unless track 2 is present")
		}
	}
	for i, d := range fieldOrder {
		if fs.fields[i] == nil {
			continue
		}
		if err := checkSemantics(d.ID, &fs, secondary); err != nil {
			return err
		}
	}
	return nil
}

// checkSemantics checks what the value of field id means, for the fields
// whose value has rules beyond its format (none of them space-padded, so
// their values are their wire content).
func checkSemantics(id int, fs *fieldSet, secondary bool) error {
	bad := func(what string) error { return fieldErr(id, -1, ErrValue, what) }
	s := fs.str(id)
	switch id {
	case FieldTransmissionDateTime:
		if !validMMDD(s[:4]) || !validHHMMSS(s[4:]) {
			return bad("not a date and time MMDDhhmmss")
		}
	case FieldLocalTime:
		if !validHHMMSS(s) {
			return bad("not a time hhmmss")
		}
	case FieldLocalDate:
		if !validMMDD(s) {
			return bad("not a date MMDD")
		}
	case FieldExpiry:
		if !validYYMM(s) {
			return bad("not an expiry date YYMM")
		}
	case FieldTrack2:
		p, _, _, err := SplitTrack2(s)
		if err != nil {
			return err
		}
		if fs.has(FieldPAN) && fs.str(FieldPAN) != p {
			return bad("PAN differs from DE2")
		}
	case FieldICCData:
		f, ok := fs.get(id).(*field.Binary)
		if !ok || tlv.Check(f.Value()) != nil {
			return bad("not BER-TLV")
		}
	case FieldAdditionalAmounts:
		if err := checkAdditionalAmounts(s); err != nil {
			return err
		}
	case FieldPrivateData:
		if _, err := ParsePrivateData(s); err != nil {
			return bad("malformed private data")
		}
	case FieldNetworkCode:
		if !NetworkCode(s).Known() {
			return bad("unknown network management code")
		}
	case FieldOriginalData:
		o, err := ParseOriginalData(s)
		if err != nil {
			return err
		}
		if o.MTI != MTIAuthorizationRequest && o.MTI != MTIFinancialRequest {
			return bad("original MTI is not 0100 or 0200")
		}
		t := o.TransmissionDateTime
		if !validMMDD(t[:4]) || !validHHMMSS(t[4:]) {
			return bad("original transmission date and time")
		}
	case FieldMAC:
		if secondary {
			return fieldErr(id, -1, ErrUnexpected, "MAC belongs in field 128 with a secondary bitmap")
		}
	case FieldMAC2:
		if fs.has(FieldMAC) {
			return fieldErr(FieldMAC, -1, ErrUnexpected, "MAC in both field 64 and 128")
		}
	}
	return nil
}
