package kernel

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/emv/tlv"
)

// OutcomeType is the Outcome of EMV Contactless Book A section 6.1.
type OutcomeType int

// Outcomes of Book A.
const (
	// OutcomeNone is the zero value: no outcome yet.
	OutcomeNone OutcomeType = iota
	// Approved: the card approved offline (TC).
	Approved
	// Declined: the card or the kernel declined offline (AAC).
	Declined
	// OnlineRequest: the card asks for online authorisation (ARQC).
	OnlineRequest
	// TryAgain: the card must be presented again (Start B).
	TryAgain
	// SelectNext: the Entry Point selects the next combination (Start C).
	SelectNext
	// TryAnotherInterface: the transaction cannot go contactless.
	TryAnotherInterface
	// EndApplication: the transaction ends here, possibly to restart later.
	EndApplication
)

var outcomeNames = [...][2]string{
	OutcomeNone:         {"none", "None"},
	Approved:            {"approved", "Approved"},
	Declined:            {"declined", "Declined"},
	OnlineRequest:       {"online_request", "Online Request"},
	TryAgain:            {"try_again", "Try Again"},
	SelectNext:          {"select_next", "Select Next"},
	TryAnotherInterface: {"try_another_interface", "Try Another Interface"},
	EndApplication:      {"end_application", "End Application"},
}

// Name is the short name ("online_request").
func (o OutcomeType) Name() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o][0]
	}
	return fmt.Sprintf("outcome_%d", int(o))
}

// String is the Book A name ("Online Request").
func (o OutcomeType) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o][1]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// ParseOutcomeType reads an outcome by short name or Book A name.
func ParseOutcomeType(s string) (OutcomeType, error) {
	t := strings.TrimSpace(s)
	for i, n := range outcomeNames {
		if strings.EqualFold(t, n[0]) || strings.EqualFold(t, n[1]) {
			return OutcomeType(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown outcome %q", ErrConfig, s)
}

// Start is where the Entry Point restarts (Book A section 6.2.2).
type Start int

// Restart points.
const (
	StartNA Start = iota // no restart
	StartA               // pre-processing
	StartB               // protocol activation: the card is presented again
	StartC               // combination selection: the next candidate
	StartD               // kernel activation
)

// String names the start ("A", "B", "C", "D" or "N/A").
func (s Start) String() string {
	switch s {
	case StartA:
		return "A"
	case StartB:
		return "B"
	case StartC:
		return "C"
	case StartD:
		return "D"
	}
	return "N/A"
}

// CVM is the cardholder verification method of an outcome (Book A
// section 6.2.4).
type CVM int

// CVMs of Book A.
const (
	CVMNA CVM = iota // not applicable
	// CVMNone: no CVM.
	CVMNone
	// CVMSignature: obtain a signature.
	CVMSignature
	// CVMOnlinePIN: the reader asks for an online PIN.
	CVMOnlinePIN
	// CVMConfirmationCode: "Confirmation Code Verified", the consumer
	// device CVM (CDCVM) the phone performed.
	CVMConfirmationCode
)

var cvmNames = [...][2]string{
	CVMNA:               {"na", "N/A"},
	CVMNone:             {"no_cvm", "No CVM"},
	CVMSignature:        {"signature", "Obtain Signature"},
	CVMOnlinePIN:        {"online_pin", "Online PIN"},
	CVMConfirmationCode: {"cdcvm", "Confirmation Code Verified (CDCVM)"},
}

// Name is the short name ("cdcvm", "online_pin").
func (c CVM) Name() string {
	if c >= 0 && int(c) < len(cvmNames) {
		return cvmNames[c][0]
	}
	return fmt.Sprintf("cvm_%d", int(c))
}

// String is the Book A name.
func (c CVM) String() string {
	if c >= 0 && int(c) < len(cvmNames) {
		return cvmNames[c][1]
	}
	return fmt.Sprintf("CVM(%d)", int(c))
}

// ParseCVM reads a CVM by short name or Book A name; "confirmation_code"
// and "none" are accepted too.
func ParseCVM(s string) (CVM, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "confirmation_code", "confirmation code verified":
		return CVMConfirmationCode, nil
	case "none", "no cvm":
		return CVMNone, nil
	}
	for i, n := range cvmNames {
		if strings.EqualFold(t, n[0]) || strings.EqualFold(t, n[1]) {
			return CVM(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown CVM %q", ErrConfig, s)
}

// OnlineResponseData says what a restart after an online authorisation
// needs (Book A section 6.2.3).
type OnlineResponseData int

// Online Response Data values.
const (
	OnlineResponseNA OnlineResponseData = iota
	// OnlineResponseEMV: restart when the response carries EMV data
	// (Issuer Authentication Data or scripts) for Issuer Update Processing.
	OnlineResponseEMV
	// OnlineResponseAny: restart after any response.
	OnlineResponseAny
)

// String names the value.
func (d OnlineResponseData) String() string {
	switch d {
	case OnlineResponseEMV:
		return "EMV Data"
	case OnlineResponseAny:
		return "Any"
	}
	return "N/A"
}

// OnlineResponse is what the terminal hands the Entry Point after the
// online authorisation when the outcome asked for a restart with Online
// Response Data (Book A 6.2.3): the issuer's decision and the EMV data of
// the response (ISO 8583 field 55) for Issuer Update Processing.
type OnlineResponse struct {
	// Approved is the host's decision.
	Approved bool
	// ARC is the Authorisation Response Code (8A), two characters ("00").
	ARC []byte
	// IssuerAuthData is the Issuer Authentication Data (91); nil when the
	// response has none.
	IssuerAuthData []byte
	// Scripts are the Issuer Script Templates (71, 72) as BER-TLV, in the
	// order of the response; nil when none.
	Scripts []byte
}

// HasEMVData reports whether the response carries data for the card:
// Issuer Authentication Data or scripts.
func (r OnlineResponse) HasEMVData() bool {
	return len(r.IssuerAuthData) > 0 || len(r.Scripts) > 0
}

// Interface is the Alternate Interface Preference of an outcome.
type Interface int

// Interfaces.
const (
	InterfaceNA Interface = iota
	InterfaceContact
	InterfaceMagStripe
)

// String names the interface.
func (i Interface) String() string {
	switch i {
	case InterfaceContact:
		return "Contact Chip"
	case InterfaceMagStripe:
		return "Mag-stripe"
	}
	return "N/A"
}

// ODAStatus is what offline data authentication gave.
type ODAStatus int

// ODA results.
const (
	// ODANotPerformed: no offline data authentication ran.
	ODANotPerformed ODAStatus = iota
	// ODAPassed: the signature verified.
	ODAPassed
	// ODAFailed: a certificate or the signature did not verify, or data
	// ODA needs was missing.
	ODAFailed
)

// String names the result.
func (s ODAStatus) String() string {
	switch s {
	case ODAPassed:
		return "passed"
	case ODAFailed:
		return "failed"
	}
	return "not performed"
}

// ODAResult reports offline data authentication: the method ("fDDA",
// "CDA"), the result, and for a failure the reason (never key material).
type ODAResult struct {
	Method string
	Status ODAStatus
	Reason string
}

// String prints the method, result and reason.
func (r ODAResult) String() string {
	if r.Method == "" {
		return r.Status.String()
	}
	if r.Reason != "" {
		return fmt.Sprintf("%s %s: %s", r.Method, r.Status, r.Reason)
	}
	return fmt.Sprintf("%s %s", r.Method, r.Status)
}

// L2Error is the kernel's error indication: why a transaction could not
// complete normally (after the L2 errors of Book C-2's Error Indication).
type L2Error int

// L2 errors.
const (
	L2OK L2Error = iota
	// L2CardDataMissing: a mandatory data object is absent.
	L2CardDataMissing
	// L2CardDataError: a data object is malformed, duplicated or
	// inconsistent.
	L2CardDataError
	// L2ParsingError: a response is not well-formed BER-TLV.
	L2ParsingError
	// L2StatusBytes: the card answered with a status word other than 9000.
	L2StatusBytes
	// L2MaxLimitExceeded: the amount is above the transaction limit.
	L2MaxLimitExceeded
	// L2CAMFailed: card authentication (ODA, CDA) failed.
	L2CAMFailed
	// L2CommunicationError: the card left or the exchange failed (L1).
	L2CommunicationError
	// L2NoCandidates: no combination matched (Entry Point).
	L2NoCandidates
	// L2NotAllowed: pre-processing allowed no combination (Entry Point).
	L2NotAllowed
	// L2IDSReadError: the C-2 card's Integrated Data Storage summary
	// signed with the cryptogram (DS Summary 2) is not the one read (DS
	// Summary 1).
	L2IDSReadError
	// L2IDSWriteError: the C-2 card did not write its Integrated Data
	// Storage (the DS Summary 3 signed is the DS Summary 2) and the DS
	// ODS Info For Reader says to stop when a write fails.
	L2IDSWriteError
	// L2IDSNoMatchingAC: the DS ODS Info For Reader does not let the
	// write go with the AC type asked for and says to stop then.
	L2IDSNoMatchingAC
	// L2IDSDataError: a C-2 data storage write lacks the DS AC Type or the
	// DS ODS Info For Reader (Book C-2 GAC.5-6).
	L2IDSDataError
)

var l2Names = [...]string{
	L2OK:                 "ok",
	L2CardDataMissing:    "card_data_missing",
	L2CardDataError:      "card_data_error",
	L2ParsingError:       "parsing_error",
	L2StatusBytes:        "status_bytes",
	L2MaxLimitExceeded:   "max_limit_exceeded",
	L2CAMFailed:          "cam_failed",
	L2CommunicationError: "communication_error",
	L2NoCandidates:       "no_candidates",
	L2NotAllowed:         "contactless_not_allowed",
	L2IDSReadError:       "ids_read_error",
	L2IDSWriteError:      "ids_write_error",
	L2IDSNoMatchingAC:    "ids_no_matching_ac",
	L2IDSDataError:       "ids_data_error",
}

// String is the short name ("card_data_missing").
func (e L2Error) String() string {
	if e >= 0 && int(e) < len(l2Names) {
		return l2Names[e]
	}
	return fmt.Sprintf("l2_%d", int(e))
}

// L3Error is the terminal-side part of the kernel's error indication: a
// transaction ended because of the terminal rather than the card (after
// the L3 errors of Book C-2's Error Indication).
type L3Error int

// L3 errors.
const (
	L3OK L3Error = iota
	// L3TimeOut: the terminal's DET did not come within the Time Out
	// Value (DF8127) while the kernel waited for it.
	L3TimeOut
)

// String is the short name ("time_out").
func (e L3Error) String() string {
	switch e {
	case L3OK:
		return "ok"
	case L3TimeOut:
		return "time_out"
	}
	return fmt.Sprintf("l3_%d", int(e))
}

// Outcome is what a kernel, or the Entry Point itself, hands back: the
// Outcome Parameter Set of Book A section 6.2 with the data the terminal
// needs next.
type Outcome struct {
	// Type is the outcome.
	Type OutcomeType
	// Start is where a restart begins; StartNA when none is expected.
	Start Start
	// OnlineResponseData says whether an online response restarts the
	// kernel (Issuer Update Processing).
	OnlineResponseData OnlineResponseData
	// CVM is the cardholder verification method the terminal must honour.
	CVM CVM
	// UIOnOutcome is shown with the outcome; nil when none.
	UIOnOutcome *UIRequest
	// UIOnRestart is shown when the Entry Point restarts; nil when none.
	UIOnRestart *UIRequest
	// UIRequests lists every User Interface Request sent during the run,
	// in order, UIOnOutcome last.
	UIRequests []UIRequest
	// DataRecord holds the data an authorisation or clearing record needs
	// (the tags of ISO 8583 field 55 and the card data for the host); nil
	// when the outcome has no data record.
	DataRecord tlv.List
	// DiscretionaryData holds kernel-specific data for the terminal.
	DiscretionaryData tlv.List
	// AlternateInterface is the interface to try (Try Another Interface).
	AlternateInterface Interface
	// Receipt is true when a receipt is required (signature CVM, C-2 above
	// the CVM required limit).
	Receipt bool
	// FieldOff, when positive, is how long the field stays off.
	FieldOff time.Duration
	// RemovalTimeout is the Removal Timeout outcome parameter (Book A
	// section 6.2): when positive, how long the reader waits for the card
	// to leave the field once the outcome is final. Zero: no wait.
	RemovalTimeout time.Duration
	// CardNotRemoved is true when the Entry Point waited RemovalTimeout
	// and the card was still in the field at its end.
	CardNotRemoved bool
	// TVR is the Terminal Verification Results at the end of the run.
	TVR TVR
	// CVMResults is tag 9F34 (C-2) or the kernel's equivalent; zero when
	// not set.
	CVMResults [3]byte
	// AID is the ADF Name of the selected application; Label its
	// Application Label and KernelID the kernel that ran.
	AID      []byte
	Label    string
	KernelID byte
	// ODA reports offline data authentication.
	ODA ODAResult
	// MagStripe is true for a C-2 mag-stripe mode transaction: the data
	// record carries the track data (9F6B, 56) with the CVC3 instead of an
	// application cryptogram, for an authorisation with the contactless
	// mag-stripe entry mode.
	MagStripe bool
	// Error is the error indication; L2OK when the run went normally.
	Error L2Error
	// L3 is the terminal-side error indication; L3OK when none.
	L3 L3Error
	// SW is the status word behind an L2StatusBytes error.
	SW uint16
	// Reason says in words why the outcome is what it is.
	Reason string
}

// Record returns the value of tag from the data record, or nil.
func (o Outcome) Record(tag tlv.Tag) []byte {
	if t, ok := o.DataRecord.Find(tag); ok {
		return t.Value
	}
	return nil
}

// MaskedPAN returns the application PAN from the data record (tag 5A, or
// the track 2 equivalent data) masked to its first 6 and last 4 digits.
func (o Outcome) MaskedPAN() string {
	pan := panFromRecord(o.DataRecord)
	return MaskPAN(pan)
}

// String summarises the outcome on one line, with the PAN masked:
// "Online Request, CVM Online PIN, TVR 0000008000 (...), AID A0000000031010, PAN 476173******0119".
func (o Outcome) String() string {
	var b strings.Builder
	b.WriteString(o.Type.String())
	if o.Start != StartNA {
		fmt.Fprintf(&b, ", start %s", o.Start)
	}
	if o.CVM != CVMNA {
		fmt.Fprintf(&b, ", CVM %s", o.CVM)
	}
	if !o.TVR.IsZero() {
		fmt.Fprintf(&b, ", TVR %s", o.TVR)
	}
	if len(o.AID) > 0 {
		fmt.Fprintf(&b, ", AID %s", strings.ToUpper(hex.EncodeToString(o.AID)))
	}
	if pan := o.MaskedPAN(); pan != "" {
		fmt.Fprintf(&b, ", PAN %s", pan)
	}
	if o.ODA.Status != ODANotPerformed {
		fmt.Fprintf(&b, ", ODA %s", o.ODA)
	}
	if o.UIOnOutcome != nil {
		fmt.Fprintf(&b, ", UI %q", o.UIOnOutcome.Message.String())
	}
	if o.Error != L2OK {
		fmt.Fprintf(&b, ", error %s", o.Error)
		if o.Error == L2StatusBytes {
			fmt.Fprintf(&b, " %04X", o.SW)
		}
	}
	if o.L3 != L3OK {
		fmt.Fprintf(&b, ", L3 error %s", o.L3)
	}
	if o.Reason != "" {
		fmt.Fprintf(&b, ": %s", o.Reason)
	}
	return b.String()
}

// MaskPAN is pan.Mask: the first 6 and last 4 digits at most.
func MaskPAN(p string) string { return pan.Mask(p) }

// panFromRecord finds the PAN in 5A or, failing that, in track 2 (57).
func panFromRecord(l tlv.List) string {
	if t, ok := l.Find(0x5A); ok {
		return digitsOf(t.Value, false)
	}
	if t, ok := l.Find(0x57); ok {
		return digitsOf(t.Value, true)
	}
	if t, ok := l.Find(0x9F6B); ok {
		return digitsOf(t.Value, true)
	}
	return ""
}

// digitsOf reads BCD digits up to the first nibble that is not a digit: the
// F padding of a PAN, or the field separator D of track 2.
func digitsOf(b []byte, _ bool) string {
	var s strings.Builder
	for _, x := range b {
		for _, n := range [2]byte{x >> 4, x & 0x0F} {
			if n > 9 {
				// F pads a PAN; D separates track 2's PAN from the
				// expiry. Either way the digits end here.
				return s.String()
			}
			s.WriteByte('0' + n)
		}
	}
	return s.String()
}

// GoString is String, so that %#v does not print the data record (PAN,
// track 2) in clear either.
func (o Outcome) GoString() string { return o.String() }
