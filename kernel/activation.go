package kernel

import (
	"context"

	"github.com/tapsim/tapsim/emv/tlv"
)

// Kernel is a contactless kernel the Entry Point activates on the selected
// application (EMV Contactless Book A section 2.3).
type Kernel interface {
	// ID is the kernel's short Kernel ID (2 for C-2, 3 for C-3).
	ID() byte
	// Activate runs the kernel on the application a describes, which the
	// Entry Point has just selected. It returns the kernel's Outcome; an
	// error only for a fault that is not the card's (a cancelled context,
	// a reader fault).
	Activate(ctx context.Context, a *Activation) (Outcome, error)
}

// Indicators are the Entry Point Pre-Processing Indicators of Book A Table
// 5-3 for one combination, with the Copy of TTQ.
type Indicators struct {
	StatusCheckRequested     bool
	ContactlessNotAllowed    bool
	ZeroAmount               bool
	CVMRequiredLimitExceeded bool
	FloorLimitExceeded       bool
	// TTQ is the Copy of TTQ (9F66) as pre-processing left it; nil when
	// the combination has no TTQ.
	TTQ []byte
}

// Activation is what the Entry Point hands a kernel (Book B section 3.4):
// the card channel, the configuration of the selected combination, the
// pre-processing indicators, the transaction, and the SELECT response.
type Activation struct {
	// Card is the channel to the card.
	Card *Card
	// Config is the reader configuration and Combination the selected
	// combination within it.
	Config      *Config
	Combination *Combination
	// Indicators are the pre-processing indicators of the combination.
	Indicators Indicators
	// Transaction is the transaction, its Date set.
	Transaction Transaction
	// UN is the Unpredictable Number (9F37) of this activation.
	UN [4]byte
	// ADFName is the name the application was selected with; FCI and SW
	// are the SELECT response data and status word.
	ADFName []byte
	FCI     []byte
	SW      uint16
	// Label is the Application Label from the PPSE or FCI, if any.
	Label string
	// Restart is true when the Entry Point was restarted (Start B) after an
	// earlier outcome of this transaction, e.g. the second tap after "See
	// Phone".
	Restart bool
	// UI receives the User Interface Requests the kernel sends while it
	// runs (not the one on its outcome); nil discards them.
	UI UI
	// OnlineResponse, when set, is the issuer's response the Entry Point
	// restarted the kernel with (Start B or D after an Online Request with
	// Online Response Data): the kernel does Issuer Update Processing
	// instead of a new transaction.
	OnlineResponse *OnlineResponse
}

// SendUI sends a User Interface Request while the kernel runs.
func (a *Activation) SendUI(r UIRequest) {
	if a.UI != nil {
		a.UI(r)
	}
}

// TerminalData returns the terminal-sourced data elements of the
// transaction, which kernels use to fill the card's DOLs and the data
// record: amounts (9F02, 9F03), country (9F1A), currency (5F2A, 5F36), date
// and time (9A, 9F21), type (9C), Unpredictable Number (9F37), terminal type
// and capabilities (9F35, 9F33, 9F40), merchant and terminal identifiers
// (9F15, 9F16, 9F1C, 9F1E, 9F4E, 9F53), the selected AID (9F06) and, when
// the combination has one, the TTQ (9F66). Kernels add what they compute
// (TVR, CVM Results, Mobile Support Indicator...).
func (a *Activation) TerminalData() tlv.Map {
	c := a.Config
	t := a.Transaction
	m := tlv.Map{
		0x9F02: AmountN12(t.Amount),
		0x9F03: AmountN12(t.Other),
		0x9F1A: c.Country.Bytes(),
		0x5F2A: c.Currency.Bytes(),
		0x5F36: BCD(c.CurrencyExponent, 2),
		0x9A:   DateYYMMDD(t.Date),
		0x9F21: TimeHHMMSS(t.Date),
		0x9C:   {byte(t.Type)},
		0x9F37: append([]byte(nil), a.UN[:]...),
		0x95:   make([]byte, 5),
	}
	if len(c.TerminalType) == 1 {
		m[0x9F35] = append([]byte(nil), c.TerminalType...)
	}
	if len(c.Capabilities) == 3 {
		m[0x9F33] = append([]byte(nil), c.Capabilities...)
	}
	if len(c.AdditionalCapabilities) == 5 {
		m[0x9F40] = append([]byte(nil), c.AdditionalCapabilities...)
	}
	if len(c.MerchantCategoryCode) == 2 {
		m[0x9F15] = append([]byte(nil), c.MerchantCategoryCode...)
	}
	if c.MerchantID != "" {
		m[0x9F16] = []byte(c.MerchantID)
	}
	if c.TerminalID != "" {
		m[0x9F1C] = []byte(c.TerminalID)
	}
	if c.IFDSerial != "" {
		m[0x9F1E] = []byte(c.IFDSerial)
	}
	if c.MerchantNameLocation != "" {
		m[0x9F4E] = []byte(c.MerchantNameLocation)
	}
	if c.TransactionCategoryCode != "" {
		m[0x9F53] = []byte(c.TransactionCategoryCode)
	}
	if cb := a.Combination; cb != nil {
		m[0x9F06] = append([]byte(nil), cb.AID...)
		if len(cb.ApplicationVersion) == 2 {
			m[0x9F09] = append([]byte(nil), cb.ApplicationVersion...)
		}
	}
	if len(a.Indicators.TTQ) == 4 {
		m[0x9F66] = append([]byte(nil), a.Indicators.TTQ...)
	}
	return m
}

// DataRecordTags are the tags a data record carries when present, in this
// order: those an authorisation's ICC System Related Data (ISO 8583 field
// 55) needs, then the card data the host needs for routing and clearing.
var DataRecordTags = []tlv.Tag{
	0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A,
	0x82, 0x9F1A, 0x9F34, 0x9F33, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F03,
	0x9F6E, 0x9F66, 0x9F6C, 0x9F7C, 0x9F7E, 0x9F21, 0x9F53, 0x5F34, 0x9F06,
	0x9F5D, 0x9F24, 0x9F19, 0x9F25, 0x57, 0x5A, 0x5F24, 0x5F20, 0x56, 0x9F6B,
	0x9F5B, 0x9F6A, 0x9F61, 0x9F60, 0x9F65, 0x9F67, 0x9F62, 0x9F63, 0x9F64,
}

// BuildDataRecord collects the DataRecordTags present in the sources, the
// first source having a tag winning.
func BuildDataRecord(sources ...tlv.Map) tlv.List {
	out := make(tlv.List, 0, len(DataRecordTags))
	// The values are copied into one buffer (a new one when it is full):
	// each value's capacity ends at its length, so an append to one never
	// writes over the next. A value kept keeps the record's buffer.
	buf := make([]byte, 0, 512)
	for _, tag := range DataRecordTags {
		for _, s := range sources {
			if v, ok := s[tag]; ok {
				var value []byte // nil when empty, as a copy of nothing
				if len(v) > 0 {
					start := len(buf)
					buf = append(buf, v...)
					value = buf[start:len(buf):len(buf)]
				}
				out = append(out, tlv.TLV{Tag: tag, Value: value})
				break
			}
		}
	}
	return out
}
