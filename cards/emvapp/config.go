package emvapp

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/magstripe"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/emv/tlv"
)

// Scheme is the application behaviour: which contactless kernel reads it
// and how it answers.
type Scheme int

const (
	// Visa is the Visa-like qVSDC application read by kernel C-3: the
	// cryptogram comes back in the GET PROCESSING OPTIONS response.
	Visa Scheme = iota + 1
	// Mastercard is the Mastercard-like M/Chip application read by kernel
	// C-2: records, then GENERATE AC (with CDA when asked).
	Mastercard
)

// String names the scheme.
func (s Scheme) String() string {
	switch s {
	case Visa:
		return "visa"
	case Mastercard:
		return "mastercard"
	}
	return fmt.Sprintf("Scheme(%d)", int(s))
}

// ParseScheme reads "visa" or "mastercard" ("mc").
func ParseScheme(s string) (Scheme, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "visa":
		return Visa, nil
	case "mastercard", "mc":
		return Mastercard, nil
	}
	return 0, fmt.Errorf("%w: scheme %q (want visa or mastercard)", ErrConfig, s)
}

// KernelID is the kernel identifier (9F2A) of the scheme: 3 for Visa, 2 for
// Mastercard.
func (s Scheme) KernelID() byte {
	if s == Mastercard {
		return 2
	}
	return 3
}

// ErrConfig reports an application configuration that cannot work.
var ErrConfig = errors.New("emvapp: bad configuration")

// Date is a year and month (expiry and effective dates).
type Date = oda.Date

// ODA is what the application needs for offline data authentication: the
// issuer that certifies the ICC key (its certificate from the CA, tags 90,
// 92, 9F32), the ICC private key and the fields of the ICC certificate. The
// ICC certificate is made by New, once the records that it must cover are
// known (EMV Book 2 section 6.1: the hash of the static data to be
// authenticated is inside it).
type ODA struct {
	// CAIndex is the CA public key index (8F).
	CAIndex byte
	// Issuer signs the ICC certificate; Issuer.Certificate goes on the card.
	Issuer *oda.Issuer
	// ICCKey is the card's private key for fDDA and CDA signatures.
	ICCKey *rsa.PrivateKey
	// ICCExpiry and ICCSerial are the ICC certificate's expiry and serial.
	ICCExpiry oda.Date
	ICCSerial [3]byte
	// TamperIssuerCert and TamperICCCert damage the certificate put on the
	// card (Tamper flips a byte of it), so that the terminal's recovery
	// fails: a forged or corrupted certificate for ODA failure tests.
	TamperIssuerCert bool
	TamperICCCert    bool
	// Tamper changes a certificate; it must be set when a Tamper flag is.
	Tamper func(oda.Certificate) oda.Certificate
}

// Token marks a tokenised card (EMV Payment Tokenisation): the PAN of the
// application is a token PAN.
type Token struct {
	// RequestorID is the Token Requestor ID (9F19), 11 digits (6 bytes BCD).
	RequestorID string
	// PANLast4 are the last four digits of the funding PAN (9F25).
	PANLast4 string
}

// Offline is the card's own risk management for offline approvals: an
// approval without going online (TC) is given only when the terminal does
// not require an online cryptogram, the card allows it, fewer than
// MaxConsecutive offline approvals were given since the last online
// transaction and the cumulative offline amount stays within Limit.
type Offline struct {
	Allowed        bool
	MaxConsecutive int
	Limit          int64 // minor units of the application currency
}

// CVMs are the terminal-side cardholder verification methods the card
// accepts (Visa: the CTQ bits the card sets when the terminal asks for a
// CVM and the phone has not verified the holder itself).
type CVMs struct {
	OnlinePIN bool
	Signature bool
}

// Config personalises an application.
type Config struct {
	Scheme Scheme
	// AID is the ADF name (4F/84), 5 to 16 bytes.
	AID []byte
	// Label is the Application Label (50), at most 16 characters.
	Label string
	// Priority is the Application Priority Indicator (87); 0 leaves it out.
	Priority byte
	// KernelID is the Kernel Identifier (9F2A) in the PPSE; 0 means the
	// scheme's (3 Visa, 2 Mastercard).
	KernelID byte
	// Language is the Language Preference (5F2D); "" means "zhen".
	Language string

	// PAN is the application PAN (5A), 12 to 19 digits; a token PAN for
	// tokenised cards.
	PAN string
	// PSN is the PAN Sequence Number (5F34), one or two digits; "" leaves
	// 5F34 out.
	PSN string
	// Expiry and Effective are the Application Expiration and Effective
	// Dates (5F24, 5F25).
	Expiry    Date
	Effective Date
	// Name is the Cardholder Name (5F20); "" leaves it out.
	Name string
	// ServiceCode is the track 2 service code; "" means "201".
	ServiceCode string
	// IssuerCountry is the Issuer Country Code (5F28) and Currency the
	// Application Currency Code (9F42), ISO 3166 and ISO 4217 numbers; 0
	// means 158 and 901 (Taiwan).
	IssuerCountry int
	Currency      int

	// CVN says how cryptograms are made and DKI is the Derivation Key
	// Index in 9F10.
	CVN *cryptogram.CVN
	DKI byte
	// Keys supplies the ATC and the cryptogram key.
	Keys KeySource

	// AIP overrides the Application Interchange Profile (82).
	AIP []byte
	// AUC is the Application Usage Control (9F07); nil means FF00.
	AUC []byte
	// IACDefault, IACDenial, IACOnline are the Issuer Action Codes (9F0D,
	// 9F0E, 9F0F); nil means F45084800C, 0000000000, F45084800C
	// (Mastercard only).
	IACDefault, IACDenial, IACOnline []byte
	// CVMList is the CVM List (8E); nil means: online PIN if the terminal
	// supports it, else signature, else no CVM (Mastercard only).
	CVMList []byte
	// PDOL and CDOL1 override the data object lists; nil gives the
	// scheme's defaults (see DefaultPDOL, DefaultCDOL1).
	PDOL  tlv.DOL
	CDOL1 tlv.DOL
	// CTQ is the Visa Card Transaction Qualifiers the card starts from; its
	// CVM bits (byte 1 b8 b7, byte 2 b8) are set per transaction. nil
	// means 2000: go online if offline data authentication fails.
	CTQ []byte
	// CVMs are the terminal CVMs the card accepts (Visa).
	CVMs CVMs
	// FormFactor is the Form Factor Indicator (9F6E, Visa, 4 bytes); nil
	// leaves it out.
	FormFactor []byte
	// Offline is the card's offline approval policy.
	Offline Offline

	// ODA, when set, makes the card capable of fDDA (Visa) or CDA
	// (Mastercard).
	ODA *ODA
	// Token, when set, marks the PAN as a token.
	Token *Token
	// DeviceID binds the application to a phone (R-S5d): up to 8 bytes
	// carried in the issuer-discretionary part of 9F10.
	DeviceID []byte
	// Holder is the phone's cardholder verification (CDCVM); nil for a
	// plastic card.
	Holder Holder
	// CVMLimit is the phone's own limit in minor units above which it
	// wants CDCVM; 0 means it follows the terminal.
	CVMLimit int64

	// TornRecovery makes a Mastercard application support torn
	// transaction recovery (Book C-2): its DRDOL (9F51) asks for the
	// Unpredictable Number and the amount (9F3704 9F0206), it keeps its last
	// GENERATE AC response, and RECOVER AC with the same DRDOL related data
	// answers it again.
	TornRecovery bool
	// BalanceReading makes a Mastercard application announce balance
	// reading in its Application Capabilities Information (9F5D, byte 2 b2)
	// and answer GET DATA of the Offline Accumulator Balance (9F50): what
	// is left of its offline limit (Offline.Limit less the cumulative
	// offline amount).
	BalanceReading bool
	// CDAOverAAC makes a Mastercard application announce, in its
	// Application Capabilities Information (9F5D, byte 2 b1), that it
	// supports CDA over TC, ARQC and AAC, and sign an AAC when GENERATE AC
	// asks for CDA.
	CDAOverAAC bool
	// DataStorage, when set, gives a Mastercard application C-2 Integrated
	// Data Storage (see DataStorage).
	DataStorage *DataStorage
	// WritableTags are the tags a Mastercard application accepts in PUT
	// DATA (80 DA, the tag in P1 P2: C-2 Tags To Write); the values written
	// stay with the application and GET DATA returns them.
	WritableTags []uint16
	// MagStripe, when set, gives a Mastercard application the data and the
	// COMPUTE CRYPTOGRAPHIC CHECKSUM of C-2 mag-stripe mode.
	MagStripe *MagStripe
	// RelayResistance, when set, makes a Mastercard application support
	// the Relay Resistance Protocol (AIP byte 2 b1) and answer EXCHANGE
	// RELAY RESISTANCE DATA.
	RelayResistance *RelayResistance

	// Rand supplies card unpredictable numbers (9F69) and ICC dynamic
	// numbers (CDA) and the device relay resistance entropy.
	Rand io.Reader
	// Elapse, when set, is told how long each exchange the application
	// times takes (EXCHANGE RELAY RESISTANCE DATA): a simulation advances
	// the reader's stopwatch by it instead of the card sleeping.
	Elapse func(time.Duration)
	// Blocked makes SELECT answer '6283' (application blocked) with the FCI.
	Blocked bool
	// Faults maps an instruction byte to the status word the application
	// answers it with, for cards that answer errors (A4 is SELECT).
	Faults map[byte]uint16
}

// MagStripe is a Mastercard application's mag-stripe mode (Book C-2): its
// first record (SFI 1) carries Track 2 Data (9F6B), PCVC3(Track2) 000E
// (CVC3 digits in discretionary positions 1 to 3), PUNATC(Track2) 0FF0
// (positions 4 to 11), NATC(Track2) 3 (so 5 unpredictable digits) and the
// Mag-stripe Application Version Number (9F6C, 0001); with Track1 also
// Track 1 Data (56) and the same layout for it (9F62, 9F63, 9F64).
// COMPUTE CRYPTOGRAPHIC CHECKSUM answers CVC3(Track2) (9F61), CVC3(Track1)
// (9F60) and the ATC, made with emv/cryptogram's CVC3 under the
// application's ICC master key as KDCVC3 (tapsim personalises no separate
// CVC3 key). EMV false makes a card without M/Chip: the AIP does not
// announce EMV mode, so a C-2 kernel must use mag-stripe mode.
type MagStripe struct {
	EMV    bool
	Track1 bool
}

// MagStripeLayout is where a mag-stripe mode track of this package's cards
// carries its dynamic digits (both tracks).
var MagStripeLayout = magstripe.DefaultLayout

// RelayResistance is a Mastercard application's side of the Relay
// Resistance Protocol (Book C-2): the minimum and maximum times it takes to
// process EXCHANGE RELAY RESISTANCE DATA (DF8303, DF8304), its estimated
// R-APDU transmission time (DF8305), all announced in units of 100
// microseconds, and how long it really takes: Processing, plus Transmission
// each way. Slow, when positive, replaces Processing for the first
// SlowCount exchanges of a transaction (0: every exchange): a card behind a
// relay, or one too slow for the reader. A CDA signature made after the
// exchange covers the relay resistance data (the terminal's and the card's
// entropies, the three times) in its ICC Dynamic Data.
type RelayResistance struct {
	Min, Max     time.Duration
	Transmission time.Duration
	Processing   time.Duration
	Slow         time.Duration
	SlowCount    int
}

// DefaultPDOL returns the PDOL of the scheme: for Visa, what Book C-3 needs
// for qVSDC (TTQ 9F66, amounts, country, TVR, currency, date, type, UN);
// for Mastercard none (the terminal sends '83 00').
func DefaultPDOL(s Scheme) tlv.DOL {
	if s == Visa {
		return tlv.DOL{
			{Tag: 0x9F66, Len: 4}, {Tag: 0x9F02, Len: 6}, {Tag: 0x9F03, Len: 6},
			{Tag: 0x9F1A, Len: 2}, {Tag: 0x95, Len: 5}, {Tag: 0x5F2A, Len: 2},
			{Tag: 0x9A, Len: 3}, {Tag: 0x9C, Len: 1}, {Tag: 0x9F37, Len: 4},
		}
	}
	return nil
}

// DefaultCDOL1 returns the CDOL1 of a Mastercard application: the minimum
// cryptogram data set, terminal type, CVM Results, and for phones
// (mobile true) the Terminal Risk Management Data (9F1D) and the Mobile
// Support Indicator (9F7E) the phone needs to decide on-device CVM.
func DefaultCDOL1(mobile bool) tlv.DOL {
	d := tlv.DOL{
		{Tag: 0x9F02, Len: 6}, {Tag: 0x9F03, Len: 6}, {Tag: 0x9F1A, Len: 2},
		{Tag: 0x95, Len: 5}, {Tag: 0x5F2A, Len: 2}, {Tag: 0x9A, Len: 3},
		{Tag: 0x9C, Len: 1}, {Tag: 0x9F37, Len: 4}, {Tag: 0x9F35, Len: 1},
		{Tag: 0x9F34, Len: 3},
	}
	if mobile {
		d = append(d, tlv.DOLEntry{Tag: 0x9F1D, Len: 8}, tlv.DOLEntry{Tag: 0x9F7E, Len: 1})
	}
	return d
}

// defaultCDOL2 is the CDOL2 (8D) on Mastercard records.
var defaultCDOL2 = tlv.DOL{{Tag: 0x8A, Len: 2}, {Tag: 0x95, Len: 5}, {Tag: 0x9F37, Len: 4}}

func (c *Config) validate() error {
	switch c.Scheme {
	case Visa, Mastercard:
	default:
		return fmt.Errorf("%w: unknown scheme", ErrConfig)
	}
	if len(c.AID) < 5 || len(c.AID) > 16 {
		return fmt.Errorf("%w: AID must be 5 to 16 bytes", ErrConfig)
	}
	if len(c.Label) > 16 {
		return fmt.Errorf("%w: label longer than 16 characters", ErrConfig)
	}
	if len(c.PAN) < 12 || len(c.PAN) > 19 || !isDigits(c.PAN) {
		return fmt.Errorf("%w: PAN must be 12 to 19 digits", ErrConfig)
	}
	if c.PSN != "" && (len(c.PSN) > 2 || !isDigits(c.PSN)) {
		return fmt.Errorf("%w: PSN must be 1 or 2 digits", ErrConfig)
	}
	if _, err := c.Expiry.MMYY(); err != nil {
		return fmt.Errorf("%w: expiry date: %w", ErrConfig, err)
	}
	if c.Effective != (Date{}) {
		if _, err := c.Effective.MMYY(); err != nil {
			return fmt.Errorf("%w: effective date: %w", ErrConfig, err)
		}
	}
	if c.ServiceCode != "" && (len(c.ServiceCode) != 3 || !isDigits(c.ServiceCode)) {
		return fmt.Errorf("%w: service code must be 3 digits", ErrConfig)
	}
	if c.CVN == nil {
		return fmt.Errorf("%w: no cryptogram version", ErrConfig)
	}
	want := cryptogram.SchemeVisa
	if c.Scheme == Mastercard {
		want = cryptogram.SchemeMastercard
	}
	if c.CVN.Scheme != want {
		return fmt.Errorf("%w: %v is not a %v cryptogram version", ErrConfig, c.CVN, c.Scheme)
	}
	if c.Keys == nil {
		return fmt.Errorf("%w: no key source", ErrConfig)
	}
	if c.Rand == nil {
		return fmt.Errorf("%w: no random source", ErrConfig)
	}
	if ds := c.DataStorage; ds != nil {
		zero := len(ds.Summary) == 8 && strings.Trim(string(ds.Summary), "\x00") == ""
		switch {
		case len(ds.ODSCard) > 160:
			return fmt.Errorf("%w: a DS ODS Card holds at most 160 bytes", ErrConfig)
		case len(ds.ODSCard) > 0 && len(ds.Summary) != 8:
			return fmt.Errorf("%w: a slot holding a DS ODS Card needs its 8-byte summary", ErrConfig)
		case len(ds.ODSCard) == 0 && len(ds.Summary) != 0 && !zero:
			return fmt.Errorf("%w: an empty slot's summary is zeros", ErrConfig)
		case ds.SignedSummary != nil && len(ds.SignedSummary) != 8, ds.OperatorID != nil && len(ds.OperatorID) != 8:
			return fmt.Errorf("%w: data storage summaries and operator IDs are 8 bytes", ErrConfig)
		}
	}
	if len(c.DeviceID) > 8 {
		return fmt.Errorf("%w: device ID longer than 8 bytes", ErrConfig)
	}
	if c.CTQ != nil && len(c.CTQ) != 2 {
		return fmt.Errorf("%w: CTQ must be 2 bytes", ErrConfig)
	}
	if c.FormFactor != nil && len(c.FormFactor) != 4 {
		return fmt.Errorf("%w: form factor indicator must be 4 bytes", ErrConfig)
	}
	if c.MagStripe != nil && c.Scheme != Mastercard {
		return fmt.Errorf("%w: mag-stripe mode is a Mastercard (C-2) procedure", ErrConfig)
	}
	if rr := c.RelayResistance; rr != nil {
		if c.Scheme != Mastercard {
			return fmt.Errorf("%w: relay resistance is a Mastercard (C-2) procedure", ErrConfig)
		}
		if rr.Min < 0 || rr.Max < rr.Min || rr.Transmission < 0 || rr.Processing < 0 || rr.Slow < 0 ||
			rr.Max > 0xFFFF*100*time.Microsecond || rr.Transmission > 0xFFFF*100*time.Microsecond {
			return fmt.Errorf("%w: relay resistance times out of range", ErrConfig)
		}
	}
	if c.AIP != nil && len(c.AIP) != 2 {
		return fmt.Errorf("%w: AIP must be 2 bytes", ErrConfig)
	}
	if c.AUC != nil && len(c.AUC) != 2 {
		return fmt.Errorf("%w: AUC must be 2 bytes", ErrConfig)
	}
	for _, iac := range [][]byte{c.IACDefault, c.IACDenial, c.IACOnline} {
		if iac != nil && len(iac) != 5 {
			return fmt.Errorf("%w: issuer action codes are 5 bytes", ErrConfig)
		}
	}
	if t := c.Token; t != nil {
		if len(t.RequestorID) != 11 || !isDigits(t.RequestorID) {
			return fmt.Errorf("%w: token requestor ID must be 11 digits", ErrConfig)
		}
		if len(t.PANLast4) != 4 || !isDigits(t.PANLast4) {
			return fmt.Errorf("%w: last 4 digits of the funding PAN must be 4 digits", ErrConfig)
		}
	}
	if o := c.ODA; o != nil {
		if o.Issuer == nil || o.ICCKey == nil {
			return fmt.Errorf("%w: ODA needs an issuer and an ICC key", ErrConfig)
		}
		if (o.TamperIssuerCert || o.TamperICCCert) && o.Tamper == nil {
			return fmt.Errorf("%w: ODA tampering needs a Tamper function", ErrConfig)
		}
		if c.Scheme == Visa && o.ICCKey.Size() > 128 {
			// The GPO response carries the signature; with a longer key it
			// would not fit a short R-APDU.
			return fmt.Errorf("%w: fDDA takes an ICC key of at most 1024 bits", ErrConfig)
		}
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// String describes the configuration without cardholder data or keys.
func (c Config) String() string {
	return fmt.Sprintf("%v application %X, PAN %s", c.Scheme, c.AID, pan.Mask(c.PAN))
}

// GoString is String, so that %#v shows no PAN either.
func (c Config) GoString() string { return c.String() }

// DataStorage is a Mastercard application's Integrated Data Storage
// (Book C-2). The application announces Data Storage version 1 in its
// Application Capabilities Information (9F5D byte 1), which its FCI carries
// with the DS ID (9F5E, n: the PAN and PSN digits, left-padded with zeros
// to at least 16 digits), and a DSDOL (9F5B) in its records asking for the
// DS Input (Card) (DF60, 8 bytes), the DS Digest H (DF61, 8 bytes), the DS
// ODS Info (DF62, 1 byte) and, last, the DS ODS Term (DF63, up to 160
// bytes) the terminal wants stored. The PDOL asks for the reader's DS
// Requested Operator ID (9F5C): only a reader sending one the slot accepts
// (see OperatorID) uses it. To such a reader the GET PROCESSING OPTIONS
// response gives the DS Slot Availability (9F5F), the DS Summary 1 (9F7D:
// the stored summary, or zeros while the slot holds no DS ODS Card), a
// fresh DS Unpredictable Number (9F7F, 4 bytes of the card's randomness),
// the DS Slot Management Control (9F6F) and the slot's DS ODS Card (9F54)
// when it holds one. Each CDA signature's ICC Dynamic Data then carry the
// DS Summary 2 (the summary before GENERATE AC) after the Transaction Data
// Hash Code and, when the DSDOL related data followed the CDOL1 data, the
// DS Summary 3: the DS ODS Term becomes the slot's DS ODS Card and its
// summary changes, unless the slot is locked or deactivated (the write
// fails: DS Summary 3 is DS Summary 2, and a DS ODS Info asking to decline
// on a data storage error, b4, turns the cryptogram into an AAC). How a
// card computes its summary is the issuer's: this one takes the first 8
// bytes of SHA-256 over the old summary, the DS Unpredictable Number and
// the DSDOL related data.
type DataStorage struct {
	// ODSCard is the operator data the slot holds (the DS ODS Card, up to
	// 160 bytes); empty: the slot holds none yet.
	ODSCard []byte
	// Summary is the stored summary of ODSCard (8 bytes); with no ODSCard
	// the summary is zeros and Summary must be empty or zeros.
	Summary []byte
	// Volatile makes the slot volatile (DS Slot Availability and Slot
	// Management Control b7) rather than permanent (b8).
	Volatile bool
	// SignedSummary, when set, is the DS Summary 2 the card signs instead
	// of its summary: a card whose storage changed between the read and
	// the cryptogram (a mismatched summary).
	SignedSummary []byte
	// OperatorID, when set, is the operator (8 bytes) the slot belongs
	// to: only a reader sending this DS Requested Operator ID (9F5C) in
	// the PDOL related data uses the slot; nil lets any operator ID open
	// it. A reader without one never does.
	OperatorID []byte
	// Locked and Deactivated mark the slot so in its Slot Management
	// Control (b5, b1) and make it refuse writes.
	Locked, Deactivated bool
	// DSID, when set, replaces the DS ID made of the PAN and PSN: a card
	// personalised in error.
	DSID []byte
	// Unsigned makes the card leave the DS summaries out of its CDA
	// signatures: a faulty card.
	Unsigned bool
}

// DSDOL is the Data Storage DOL of an application with data storage.
var DSDOL = tlv.DOL{{Tag: 0xDF60, Len: 8}, {Tag: 0xDF61, Len: 8}, {Tag: 0xDF62, Len: 1}, {Tag: 0xDF63, Len: 160}}

// slotType is the DS Slot Availability and the type bit of the Slot
// Management Control.
func (ds *DataStorage) slotType() byte {
	if ds.Volatile {
		return 0x40
	}
	return 0x80
}

// slotManagement is the DS Slot Management Control (9F6F).
func (ds *DataStorage) slotManagement() byte {
	v := ds.slotType()
	if ds.Locked {
		v |= 0x10
	}
	if ds.Deactivated {
		v |= 0x01
	}
	return v
}
