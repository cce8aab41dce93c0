package kernel

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/tlv"
)

// AFLEntry is one entry of the Application File Locator (tag 94, EMV Book 3
// section 10.2): records First to Last of file SFI, the first ODA of them
// signed for offline data authentication.
type AFLEntry struct {
	SFI, First, Last, ODA byte
}

// ParseAFL reads and checks an AFL: a non-empty multiple of 4 bytes, each
// entry with an SFI of 1 to 30 (bits 3-1 of its byte zero), a first record
// other than 0, a last record not below the first, and no more records for
// ODA than the range holds. Violations give ErrCardData.
func ParseAFL(b []byte) ([]AFLEntry, error) {
	if len(b) == 0 || len(b)%4 != 0 {
		return nil, fmt.Errorf("%w: AFL of %d bytes is not a multiple of 4", ErrCardData, len(b))
	}
	out := make([]AFLEntry, 0, len(b)/4)
	for i := 0; i < len(b); i += 4 {
		e := AFLEntry{SFI: b[i] >> 3, First: b[i+1], Last: b[i+2], ODA: b[i+3]}
		switch {
		case b[i]&0x07 != 0 || e.SFI == 0 || e.SFI > 30:
			return nil, fmt.Errorf("%w: AFL entry %d: bad SFI", ErrCardData, i/4)
		case e.First == 0 || e.Last < e.First:
			return nil, fmt.Errorf("%w: AFL entry %d: bad record range", ErrCardData, i/4)
		case int(e.ODA) > int(e.Last)-int(e.First)+1:
			return nil, fmt.Errorf("%w: AFL entry %d: more ODA records than the range", ErrCardData, i/4)
		}
		out = append(out, e)
	}
	return out, nil
}

// RecordError is a READ RECORD that did not succeed: a status word other
// than 9000, or a response that is not a well-formed record template.
type RecordError struct {
	SFI, Record byte
	// SW is the status word; 9000 when the data was at fault.
	SW uint16
	// Err is the parsing error, nil for a status word error.
	Err error
}

// Error names the record and the problem.
func (e *RecordError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("kernel: record %d of SFI %d: %v", e.Record, e.SFI, e.Err)
	}
	return fmt.Sprintf("kernel: record %d of SFI %d: %s", e.Record, e.SFI, apdu.Describe(e.SW))
}

// Unwrap returns the parsing error.
func (e *RecordError) Unwrap() error { return e.Err }

// ReadRecords reads every record the AFL names, adding their data objects to
// data (a repeated tag is an error, ErrCardData) and the records marked for
// offline data authentication to static. A communication error is returned
// as Card.Send gives it; a bad status word, or a record of SFI 1 to 10 that
// is not a well-formed template 70, gives a *RecordError. Records of SFI 11
// to 30 need not be BER-TLV: their data objects are used when they parse.
func ReadRecords(card *Card, afl []AFLEntry, data tlv.Map, static *StaticData) error {
	for _, e := range afl {
		for rec := int(e.First); rec <= int(e.Last); rec++ {
			resp, err := card.Send(apdu.ReadRecord(e.SFI, byte(rec)))
			if err != nil {
				return err
			}
			if !resp.OK() {
				return &RecordError{SFI: e.SFI, Record: byte(rec), SW: resp.SW}
			}
			l, err := tlv.Decode(resp.Data)
			if err != nil && e.SFI <= 10 {
				return &RecordError{SFI: e.SFI, Record: byte(rec), SW: resp.SW, Err: err}
			}
			if e.SFI <= 10 && (len(l) != 1 || l[0].Tag != 0x70) {
				return &RecordError{SFI: e.SFI, Record: byte(rec), SW: resp.SW, Err: fmt.Errorf("%w: record is not template 70", ErrCardData)}
			}
			if err := CollectUnique(data, l); err != nil {
				return &RecordError{SFI: e.SFI, Record: byte(rec), SW: resp.SW, Err: err}
			}
			if rec < int(e.First)+int(e.ODA) && static != nil {
				static.Add(e.SFI, resp.Data)
			}
		}
	}
	return nil
}
