package isospec

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

// refValidate is Validate as it was written first, over the wire form of
// every field: the reference the present one must agree with, error for
// error.
func refValidate(msg *iso8583.Message) error {
	if err := refCheckFields(msg); err != nil {
		return err
	}
	mtiS, vals := valuesOf(msg)
	mti := MTI(mtiS)
	if !mti.Known() {
		return fieldErr(0, -1, ErrValue, "message type not in the dialect")
	}
	have := map[int][]byte{}
	secondary := false
	for _, v := range vals {
		have[v.id] = v.raw
		if v.id > 64 && v.id < 128 {
			secondary = true
		}
	}
	req := required[mti]
	all := append([]int(nil), req.all...)
	if (mti == MTIAuthorizationRequest || mti == MTIFinancialRequest) && POSEntryMode(have[FieldPOSEntryMode]).Chip() {
		all = append(all, FieldICCData)
	}
	for _, id := range all {
		if _, ok := have[id]; !ok {
			return fieldErr(id, -1, ErrMissing, "required in "+string(mti))
		}
	}
	for _, set := range req.anyOf {
		found := false
		for _, id := range set {
			if _, ok := have[id]; ok {
				found = true
			}
		}
		if !found {
			return fieldErr(set[0], -1, ErrMissing, "required in "+string(mti)+" unless track 2 is present")
		}
	}
	for _, v := range vals {
		if err := refCheckSemantics(v.id, string(v.raw), have, secondary); err != nil {
			return err
		}
	}
	return nil
}

func refCheckSemantics(id int, s string, have map[int][]byte, secondary bool) error {
	bad := func(what string) error { return fieldErr(id, -1, ErrValue, what) }
	switch id {
	case FieldTransmissionDateTime:
		if !parsesMMDD(s[:4]) || !parsesHHMMSS(s[4:]) {
			return bad("not a date and time MMDDhhmmss")
		}
	case FieldLocalTime:
		if !parsesHHMMSS(s) {
			return bad("not a time hhmmss")
		}
	case FieldLocalDate:
		if !parsesMMDD(s) {
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
		if d2, ok := have[FieldPAN]; ok && string(d2) != p {
			return bad("PAN differs from DE2")
		}
	case FieldICCData:
		if _, err := tlv.Decode([]byte(s)); err != nil {
			return bad("not BER-TLV")
		}
	case FieldAdditionalAmounts:
		if _, err := ParseAdditionalAmounts(s); err != nil {
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
		if !parsesMMDD(t[:4]) || !parsesHHMMSS(t[4:]) {
			return bad("original transmission date and time")
		}
	case FieldMAC:
		if secondary {
			return fieldErr(id, -1, ErrUnexpected, "MAC belongs in field 128 with a secondary bitmap")
		}
	case FieldMAC2:
		if _, ok := have[FieldMAC]; ok {
			return fieldErr(FieldMAC, -1, ErrUnexpected, "MAC in both field 64 and 128")
		}
	}
	return nil
}

// refCheckFields is checkFields as it was written first.
func refCheckFields(msg *iso8583.Message) error {
	if msg == nil {
		return fieldErr(-1, -1, ErrType, "nil message")
	}
	if msg.GetSpec() != Spec {
		return fieldErr(-1, -1, ErrType, "message not built on isospec.Spec")
	}
	mti, _ := msg.GetMTI()
	if len(mti) != 4 {
		return fieldErr(0, -1, ErrLength, fmt.Sprintf("%d characters, need 4", len(mti)))
	}
	if firstBad(mti, FormatN) >= 0 {
		return fieldErr(0, -1, ErrCharset, "not n")
	}
	fields := msg.GetFields()
	ids := make([]int, 0, len(fields))
	for id := range fields {
		if id >= 2 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		d, ok := Field(id)
		if !ok || id == 65 {
			return fieldErr(id, -1, ErrUndefinedField, "")
		}
		v, err := wireValue(&d, fields[id])
		if err != nil {
			return err
		}
		if err := checkValue(&d, v); err != nil {
			return err
		}
	}
	return nil
}

// FuzzValidate checks that Validate gives the reference's answer, the
// same error or none, on whatever the library's reader and Unpack accept
// and on messages with any value in any two fields.
func FuzzValidate(f *testing.F) {
	for _, b := range corpusFrames(f) {
		f.Add(b, uint8(FieldPAN), []byte("4761739001010119"), uint8(FieldTrack2), []byte("4761739001010119=2512"))
		f.Add(b, uint8(FieldPOSEntryMode), []byte("071"), uint8(FieldNetworkCode), []byte("999"))
		f.Add(b, uint8(FieldTransmissionDateTime), []byte("0230103000"), uint8(FieldLocalTime), []byte("246000"))
		f.Add(b, uint8(FieldAdditionalAmounts), []byte("0002901C000000001000"), uint8(FieldMAC), []byte("12345678"))
		f.Add(b, uint8(FieldICCData), []byte{0x9f, 0x26, 0x08}, uint8(FieldPrivateData), []byte("01003abc01003abc"))
		f.Add(b, uint8(FieldOriginalData), []byte("010000012303151030000000001234500000000000"), uint8(FieldCardAcceptor), []byte("x"))
	}
	f.Fuzz(func(t *testing.T, frame []byte, id1 uint8, v1 []byte, id2 uint8, v2 []byte) {
		same := func(msg *iso8583.Message) {
			want, got := refValidate(msg), Validate(msg)
			require.Equal(t, want, got)
			var fe *FieldError
			require.Equal(t, want != nil, errors.As(got, &fe))
		}
		for _, read := range []func([]byte) (*iso8583.Message, error){
			Unpack,
			func(b []byte) (*iso8583.Message, error) { m := NewMessage(); return m, m.Unpack(b) },
		} {
			msg, err := read(frame)
			if err != nil {
				continue
			}
			same(msg)
			for _, fv := range []struct {
				id uint8
				v  []byte
			}{{id1, v1}, {id2, v2}} {
				if _, ok := Spec.Fields[int(fv.id)]; !ok || fv.id == 1 {
					continue
				}
				if fv.id == FieldAmount {
					_ = msg.Field(FieldAmount, "0")
					continue
				}
				require.NoError(t, msg.BinaryField(int(fv.id), fv.v))
			}
			same(msg)
		}
	})
}
