package kernel

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/oda"
)

// Config is the reader's configuration: terminal data, one Combination per
// AID and kernel the reader supports (EMV Contactless Book A section 5.2),
// the CA public keys for offline data authentication, and the injected
// clock, unpredictable number source, trace and UI sinks.
//
// The zero value is not usable; start from DefaultConfig or LoadConfig.
type Config struct {
	// Country is the Terminal Country Code (9F1A).
	Country Code `yaml:"country"`
	// Currency is the Transaction Currency Code (5F2A); CurrencyExponent
	// the Transaction Currency Exponent (5F36).
	Currency         Code `yaml:"currency"`
	CurrencyExponent int  `yaml:"currency_exponent"`
	// TerminalType is 9F35 (one byte, e.g. 22: attended, offline with
	// online capability, merchant).
	TerminalType HexBytes `yaml:"terminal_type"`
	// Capabilities is Terminal Capabilities (9F33, 3 bytes). The C-2
	// kernel builds its own byte 2 from the CVM capabilities.
	Capabilities HexBytes `yaml:"capabilities"`
	// AdditionalCapabilities is Additional Terminal Capabilities (9F40).
	AdditionalCapabilities HexBytes `yaml:"additional_capabilities"`
	// MerchantCategoryCode is 9F15 (n4, 2 bytes).
	MerchantCategoryCode HexBytes `yaml:"merchant_category_code"`
	// MerchantNameLocation is 9F4E.
	MerchantNameLocation string `yaml:"merchant_name_location"`
	// IFDSerial is the Interface Device Serial Number (9F1E, an 8).
	IFDSerial string `yaml:"ifd_serial"`
	// TerminalID is the Terminal Identification (9F1C, an 8).
	TerminalID string `yaml:"terminal_id"`
	// MerchantID is the Merchant Identifier (9F16, ans 15).
	MerchantID string `yaml:"merchant_id"`
	// TransactionCategoryCode is 9F53 (an 1), e.g. "R" for retail.
	TransactionCategoryCode string `yaml:"transaction_category_code"`
	// ContactChip says the terminal also has a contact chip reader, so a
	// card may be asked to switch interface (Try Another Interface with
	// the contact chip preferred). False (the default terminal): no
	// contact interface; a C-3 card asking to switch is handled as the
	// card's other answers say (decline, End Application).
	ContactChip bool `yaml:"contact_chip"`
	// RemovalTimeout is the reader's Removal Timeout (Book A section 6.2):
	// the Entry Point puts it on every outcome that ends the card's part of
	// the transaction (not Try Again, Select Next, nor an Online Request
	// that keeps the card for Start D) and then waits that long for the
	// card to leave the field, through a Reader that is a RemovalWaiter.
	// Zero (the default): no wait.
	RemovalTimeout time.Duration `yaml:"removal_timeout,omitempty"`

	// Combinations lists the AID and kernel pairs the reader supports,
	// each with its limits and kernel settings.
	Combinations []Combination `yaml:"combinations"`

	// CAPKFile names a CA public key file (see LoadCAPK) that LoadConfig
	// reads into CAPublicKeys; a relative path is taken from the
	// configuration file's directory.
	CAPKFile string `yaml:"capk_file,omitempty"`
	// CAPublicKeys are the certification authority public keys ODA uses.
	CAPublicKeys []oda.CAPublicKey `yaml:"-"`
	// AcceptTestCA lets the test CA's keys (RID oda.TestRID) stand for any
	// scheme RID that has no key with the card's CA Public Key Index (see
	// LookupCAKey). A production terminal leaves it off.
	AcceptTestCA bool `yaml:"accept_test_ca"`

	// Clock gives the transaction date and time when the Transaction has
	// none; nil means time.Now.
	Clock func() time.Time `yaml:"-"`
	// UnpredictableNumber gives tag 9F37 for each transaction; nil means
	// crypto/rand.
	UnpredictableNumber func() [4]byte `yaml:"-"`
	// Trace, when set, receives every exchange with the card.
	Trace TraceFunc `yaml:"-"`
	// UI, when set, receives each User Interface Request as it is sent.
	UI UI `yaml:"-"`
	// DataExchange, when set, receives the C-2 kernel's Data Exchange
	// Kernel signal (DEK) once the records are read and answers with the
	// terminal's Data Exchange Terminal signal (DET); nil: no exchange.
	DataExchange func(DEK) DET `yaml:"-"`
	// DET is the terminal's configured answer to the C-2 kernel's DEK when
	// DataExchange is nil: terminal data and Tags To Write the POS sends
	// back whatever the card gave. nil: no configured answer.
	DET *DETConfig `yaml:"det,omitempty"`
	// TornLog, when set, is the reader's torn transaction log (C-2): it
	// must outlive transactions, so a terminal keeps one. nil: no torn
	// transaction recovery.
	TornLog *TornLog `yaml:"-"`
	// Stopwatch, when set, is a monotonic clock the kernels time card
	// exchanges with (C-2 relay resistance): it returns the time elapsed
	// since any fixed instant. nil means the machine's monotonic clock.
	// Tests and scenarios inject one the virtual card advances.
	Stopwatch func() time.Duration `yaml:"-"`
}

// DefaultTimeOutValue is the C-2 Time Out Value (DF8127) when a
// combination gives none.
const DefaultTimeOutValue = 500 * time.Millisecond

// TimeOut returns the combination's Time Out Value, DefaultTimeOutValue
// when it has none.
func (cb *Combination) TimeOut() time.Duration {
	if cb.TimeOutValue > 0 {
		return cb.TimeOutValue
	}
	return DefaultTimeOutValue
}

// Measure runs exchange and returns how long it took by the Stopwatch, or
// by the machine's monotonic clock without one.
func (c *Config) Measure(exchange func()) time.Duration {
	if c.Stopwatch != nil {
		start := c.Stopwatch()
		exchange()
		return c.Stopwatch() - start
	}
	start := time.Now()
	exchange()
	return time.Since(start)
}

// RelayResistance is the reader's side of the C-2 Relay Resistance
// Protocol: the grace periods (DF8132, DF8133), the expected transmission
// times of the EXCHANGE RELAY RESISTANCE DATA command and response (DF8134,
// DF8135), the accuracy threshold (DF8136) and the transmission time
// mismatch threshold in percent (DF8137). The card's times are coded in
// units of 100 microseconds; these durations are rounded down to them.
type RelayResistance struct {
	MinGrace          time.Duration `yaml:"min_grace"`
	MaxGrace          time.Duration `yaml:"max_grace"`
	ExpectedCAPDU     time.Duration `yaml:"expected_c_apdu"`
	ExpectedRAPDU     time.Duration `yaml:"expected_r_apdu"`
	AccuracyThreshold time.Duration `yaml:"accuracy_threshold"`
	MismatchThreshold int           `yaml:"mismatch_threshold"`
}

// DefaultRelayResistance is the relay resistance configuration a combination
// without one uses: grace periods 2 ms and 5 ms, expected transmission times
// 1.8 ms (C-APDU) and 2.4 ms (R-APDU), accuracy threshold 30 ms, mismatch
// threshold 50 %.
func DefaultRelayResistance() RelayResistance {
	return RelayResistance{
		MinGrace:          2 * time.Millisecond,
		MaxGrace:          5 * time.Millisecond,
		ExpectedCAPDU:     1800 * time.Microsecond,
		ExpectedRAPDU:     2400 * time.Microsecond,
		AccuracyThreshold: 30 * time.Millisecond,
		MismatchThreshold: 50,
	}
}

// RelayResistanceConfig returns the combination's relay resistance
// configuration, or DefaultRelayResistance.
func (cb *Combination) RelayResistanceConfig() RelayResistance {
	if cb.RelayResistance != nil {
		return *cb.RelayResistance
	}
	return DefaultRelayResistance()
}

// Combination is the configuration of one AID and kernel pair: the Entry
// Point configuration data of Book A Table 5-2 and the kernel settings of
// Book C-2 and C-3. A nil limit is absent, which EMV treats differently from
// a zero limit.
type Combination struct {
	// AID is the reader's AID; a card's ADF Name matches it exactly or by
	// beginning with it (partial selection).
	AID HexBytes `yaml:"aid"`
	// KernelID is the kernel (2: C-2, 3: C-3).
	KernelID byte `yaml:"kernel_id"`
	// Label names the combination in traces.
	Label string `yaml:"label,omitempty"`
	// TransactionTypes limits the combination to these transaction types;
	// empty means every type.
	TransactionTypes []TxnType `yaml:"transaction_types,omitempty"`

	// StatusCheck is the Status Check Support flag.
	StatusCheck bool `yaml:"status_check"`
	// ZeroAmountAllowed is the Zero Amount Allowed flag; nil means allowed.
	ZeroAmountAllowed *bool `yaml:"zero_amount_allowed,omitempty"`
	// TransactionLimit is the Reader Contactless Transaction Limit of the
	// Entry Point (Book B 3.1.1.5).
	TransactionLimit *int64 `yaml:"transaction_limit,omitempty"`
	// FloorLimit is the Reader Contactless Floor Limit (C-2: DF8123).
	FloorLimit *int64 `yaml:"floor_limit,omitempty"`
	// TerminalFloorLimit is the Terminal Floor Limit (9F1B), used when
	// FloorLimit is absent.
	TerminalFloorLimit *int64 `yaml:"terminal_floor_limit,omitempty"`
	// CVMRequiredLimit is the Reader CVM Required Limit (C-2: DF8126): the
	// no-signature limit.
	CVMRequiredLimit *int64 `yaml:"cvm_required_limit,omitempty"`
	// TTQ is the Terminal Transaction Qualifiers (9F66, 4 bytes) for C-3.
	TTQ HexBytes `yaml:"ttq,omitempty"`
	// ExtendedSelection is the Extended Selection Support flag.
	ExtendedSelection bool `yaml:"extended_selection,omitempty"`

	// C-2 settings.

	// TransactionLimitNoODCVM is DF8124, the Reader Contactless
	// Transaction Limit for cards without on-device CVM.
	TransactionLimitNoODCVM *int64 `yaml:"transaction_limit_no_odcvm,omitempty"`
	// TransactionLimitODCVM is DF8125, the limit for cards (phones) with
	// on-device CVM.
	TransactionLimitODCVM *int64 `yaml:"transaction_limit_odcvm,omitempty"`
	// TACDefault, TACDenial and TACOnline are the Terminal Action Codes
	// (DF8120, DF8121, DF8122), 5 bytes each.
	TACDefault HexBytes `yaml:"tac_default,omitempty"`
	TACDenial  HexBytes `yaml:"tac_denial,omitempty"`
	TACOnline  HexBytes `yaml:"tac_online,omitempty"`
	// KernelConfiguration is DF811B: b8 mag-stripe mode not supported, b7
	// EMV mode not supported, b6 on-device cardholder verification
	// supported, b5 relay resistance protocol supported.
	KernelConfiguration HexBytes `yaml:"kernel_configuration,omitempty"`
	// TagsToRead (DF8112) lists tags the terminal wants from the card
	// (C-2 Data Exchange): after the records, the kernel takes them from
	// what it read, or asks GET DATA for them, and sends them to the
	// terminal as Data To Send (FF8104) in a DEK (Config.DataExchange) and
	// in the outcome's discretionary data.
	TagsToRead []HexBytes `yaml:"tags_to_read,omitempty"`
	// TagsToWriteBeforeGenAC (FF8102) and TagsToWriteAfterGenAC (FF8103)
	// are primitive data objects, BER-TLV encoded one after the other, the
	// C-2 kernel writes to the card with PUT DATA just before and just
	// after GENERATE AC (C-2 Data Exchange); the terminal's DET may add to
	// them. Empty: nothing to write.
	TagsToWriteBeforeGenAC HexBytes `yaml:"tags_to_write_before_gen_ac,omitempty"`
	TagsToWriteAfterGenAC  HexBytes `yaml:"tags_to_write_after_gen_ac,omitempty"`
	// DSRequestedOperatorID is 9F5C (8 bytes): with it the C-2 kernel reads
	// the Integrated Data Storage of a card announcing Data Storage in its
	// Application Capabilities Information (9F5D), and checks the DS
	// Summary 2 signed with the cryptogram against the DS Summary 1 read.
	// Empty: no data storage.
	DSRequestedOperatorID HexBytes `yaml:"ds_requested_operator_id,omitempty"`
	// The terminal data of a data storage write (Book C-2 GAC.3-13,
	// GAC.40-48); a DET may set or change each of them. DSODSInfo (DF62,
	// 1 byte: b8 permanent, b7 volatile slot, b6 low volatility, b4
	// decline on a data storage error) and a DSDOL (9F5B) on the card make
	// the kernel write; then DSACType (DF8108, 1 byte: b8-b7 the AC type
	// the write goes with) and DSODSInfoForReader (DF810A, 1 byte: b8, b7,
	// b6 usable for TC, ARQC, AAC; b3 stop if no DS ODS Term; b2 stop if
	// the write failed) must be given too, else the transaction ends with
	// the L2 error ids_data_error. DSODSTerm (DF63, up to 160 bytes) is
	// the data the card stores; DSInputTerm (DF8109, 8 bytes) becomes the
	// DS Digest H (DF61) by OWHF2; DSInputCard (DF60, 8 bytes) goes as
	// given (zeros without it).
	DSODSInfo          HexBytes `yaml:"ds_ods_info,omitempty"`
	DSODSTerm          HexBytes `yaml:"ds_ods_term,omitempty"`
	DSACType           HexBytes `yaml:"ds_ac_type,omitempty"`
	DSODSInfoForReader HexBytes `yaml:"ds_ods_info_for_reader,omitempty"`
	DSInputTerm        HexBytes `yaml:"ds_input_term,omitempty"`
	DSInputCard        HexBytes `yaml:"ds_input_card,omitempty"`
	// ProceedToFirstWriteFlag is DF8110 (1 byte). Present and 00, the C-2
	// kernel, once the records are read, asks the terminal for it (Data
	// Needed in a DEK) and waits for a DET that sets it to a non-zero value
	// before its first write to the card (PUT DATA or GENERATE AC). Empty:
	// the kernel does not wait.
	ProceedToFirstWriteFlag HexBytes `yaml:"proceed_to_first_write_flag,omitempty"`
	// TimeOutValue is DF8127: how long the C-2 kernel waits for a DET it
	// needs (the PDOL's Data Needed, the Proceed To First Write Flag)
	// before it ends the transaction with the L3 error Time Out. Zero
	// means DefaultTimeOutValue.
	TimeOutValue time.Duration `yaml:"time_out_value,omitempty"`
	// MaxTornRecords (DF811D) and MaxTornLifetime (DF811C) bound the torn
	// transaction log (Config.TornLog) for this combination; 0 records
	// keeps none, a zero lifetime lets records live until recovered.
	MaxTornRecords  int           `yaml:"max_torn_records,omitempty"`
	MaxTornLifetime time.Duration `yaml:"max_torn_lifetime,omitempty"`
	// BalanceReadBefore and BalanceReadAfter ask the C-2 kernel to read the
	// card's Offline Accumulator Balance (9F50) with GET DATA before and
	// after GENERATE AC, when the card's Application Capabilities
	// Information (9F5D byte 2 b2) supports balance reading; the balances
	// come back as DF8104 and DF8105 in the outcome's discretionary data.
	BalanceReadBefore bool `yaml:"balance_read_before,omitempty"`
	BalanceReadAfter  bool `yaml:"balance_read_after,omitempty"`
	// RelayResistance is the relay resistance configuration (DF8132 to
	// DF8137); nil means DefaultRelayResistance.
	RelayResistance *RelayResistance `yaml:"relay_resistance,omitempty"`
	// CVMCapabilityCVMRequired is DF8118: byte 2 of Terminal Capabilities
	// above the CVM required limit.
	CVMCapabilityCVMRequired HexBytes `yaml:"cvm_capability_cvm_required,omitempty"`
	// CVMCapabilityNoCVMRequired is DF8119: byte 2 of Terminal
	// Capabilities at or below the CVM required limit.
	CVMCapabilityNoCVMRequired HexBytes `yaml:"cvm_capability_no_cvm_required,omitempty"`
	// SecurityCapability is DF811F: byte 3 of Terminal Capabilities.
	SecurityCapability HexBytes `yaml:"security_capability,omitempty"`
	// CardDataInputCapability is DF8117: byte 1 of Terminal Capabilities.
	CardDataInputCapability HexBytes `yaml:"card_data_input_capability,omitempty"`
	// MagStripeCVMCapabilityCVMRequired is DF811E and
	// MagStripeCVMCapabilityNoCVMRequired DF812C: the CVM of a mag-stripe
	// mode transaction above and at or below the CVM Required Limit, in
	// b8-b5: 0000 no CVM, 0001 obtain signature, 0010 online PIN. Empty
	// means 20 (online PIN) and 00 (no CVM).
	MagStripeCVMCapabilityCVMRequired   HexBytes `yaml:"mag_stripe_cvm_capability_cvm_required,omitempty"`
	MagStripeCVMCapabilityNoCVMRequired HexBytes `yaml:"mag_stripe_cvm_capability_no_cvm_required,omitempty"`
	// ApplicationVersion is the Application Version Number (Reader), 9F09.
	ApplicationVersion HexBytes `yaml:"application_version,omitempty"`
	// MessageHoldTime is DF812D: how long outcome messages stay.
	MessageHoldTime time.Duration `yaml:"message_hold_time,omitempty"`
	// PhoneMessageTable is DF8131: the message shown for the POS
	// Cardholder Interaction Information (DF4B) a phone returns; nil means
	// DefaultPhoneMessageTable.
	PhoneMessageTable []PhoneMessage `yaml:"phone_message_table,omitempty"`
}

// PhoneMessage is one entry of the C-2 Phone Message Table: when the POS
// Cardholder Interaction Information masked with Mask equals Value, the
// kernel shows Message with Status.
type PhoneMessage struct {
	Mask    HexBytes  `yaml:"mask"`
	Value   HexBytes  `yaml:"value"`
	Message MessageID `yaml:"message"`
	Status  Status    `yaml:"status"`
}

// Matches reports whether pcii (tag DF4B, 3 bytes) matches the entry.
func (p PhoneMessage) Matches(pcii []byte) bool {
	if len(p.Mask) != 3 || len(p.Value) != 3 || len(pcii) < 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if pcii[i]&p.Mask[i] != p.Value[i] {
			return false
		}
	}
	return true
}

// DefaultPhoneMessageTable is the default Phone Message Table modelled on
// Book C-2: any PCII bit asking the holder to look at the phone (OD-CVM
// required, acknowledgement required, offline change PIN required, context
// conflicting, or the wallet's own bit in byte 3) shows "See Phone"; anything
// else "Declined" ("Not Authorised").
func DefaultPhoneMessageTable() []PhoneMessage {
	see := func(mask string) PhoneMessage {
		m := mustHex(mask)
		return PhoneMessage{Mask: m, Value: mustHex(mask), Message: MsgSeePhone, Status: StatusNotReady}
	}
	return []PhoneMessage{
		see("000001"),
		see("000800"),
		see("000400"),
		see("000100"),
		see("000200"),
		{Mask: mustHex("000000"), Value: mustHex("000000"), Message: MsgNotAuthorised, Status: StatusNotReady},
	}
}

// The default terminal values. Amounts are TWD minor units (exponent 2).
const (
	// DefaultCVMRequiredLimit is NT$3,000, the no-signature limit above
	// which a CVM is mandatory (R-S2d).
	DefaultCVMRequiredLimit int64 = 300000
	// DefaultFloorLimit is NT$1,000: above it the card must go online.
	DefaultFloorLimit int64 = 100000
	// DefaultTransactionLimit is NT$50,000: at or above it (Book B) the
	// transaction cannot be contactless.
	DefaultTransactionLimit int64 = 5000000
	// DefaultTransactionLimitODCVM is NT$100,000, the C-2 limit for
	// phones that verify the holder themselves (DF8125).
	DefaultTransactionLimitODCVM int64 = 10000000
)

// Well-known AIDs of the two kernels.
var (
	// VisaAID is the Visa credit/debit AID, served by the C-3 kernel.
	VisaAID = HexBytes{0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10}
	// MastercardAID is the Mastercard credit/debit AID, served by C-2.
	MastercardAID = HexBytes{0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10}
)

// DefaultConfig returns a Taiwanese attended merchant terminal: country
// 0158, currency 0901 (TWD, exponent 2), terminal type 22 (attended, online
// with offline capability), online PIN, signature and no-CVM capable, SDA,
// DDA and CDA capable. It is contactless only: no contact interface
// (ContactChip false, Terminal Capabilities byte 1 and the C-2 Card Data
// Input Capability 00, no contact bit in the TTQ), so no kernel asks the card
// to switch interface, and a Try Another Interface outcome the Entry Point
// still gives (no combination allowed, Book B 3.1.1.13) ends the transaction
// with "Insert, Swipe or Try Another Card". It has two combinations:
//
//   - A0000000031010 with C-3: TTQ 26004000 (qVSDC, online PIN, signature;
//     consumer device CVM supported), Reader Contactless
//     Transaction Limit NT$50,000, Floor Limit NT$1,000, CVM Required Limit
//     NT$3,000;
//   - A0000000041010 with C-2: Floor Limit NT$1,000, CVM Required Limit
//     NT$3,000, transaction limits NT$50,000 without and NT$100,000 with
//     on-device CVM, TACs default/online F45084800C and denial 0000000000,
//     Kernel Configuration B0 (EMV mode only, on-device CVM and relay
//     resistance supported, DefaultRelayResistance),
//     CVM capability 60 (online PIN, signature) above the CVM required limit
//     and 08 (no CVM) below, CDA capable, message hold time 1.3 s, and the
//     default Phone Message Table.
//
// It holds no CA public keys: load them with LoadCAPK. It accepts the test
// CA for the scheme RIDs (AcceptTestCA), since the virtual cards are
// certified by the project's test CA. The clock, the
// unpredictable number source, the trace and the UI sink are left nil.
func DefaultConfig() Config {
	i64 := func(v int64) *int64 { return &v }
	yes := true
	return Config{
		Country:                 158,
		Currency:                901,
		CurrencyExponent:        2,
		TerminalType:            HexBytes{0x22},
		Capabilities:            HexBytes{0x00, 0x68, 0xC8},
		AdditionalCapabilities:  HexBytes{0xF0, 0x00, 0xF0, 0xA0, 0x01},
		MerchantCategoryCode:    HexBytes{0x54, 0x11},
		MerchantNameLocation:    "TAPSIM STORE TAIPEI TW",
		IFDSerial:               "TAPSIM01",
		TerminalID:              "T0000001",
		MerchantID:              "000000000000001",
		TransactionCategoryCode: "R",
		ContactChip:             false,
		AcceptTestCA:            true,
		Combinations: []Combination{
			{
				AID:               append(HexBytes(nil), VisaAID...),
				KernelID:          3,
				Label:             "VISA-LIKE",
				ZeroAmountAllowed: &yes,
				TransactionLimit:  i64(DefaultTransactionLimit),
				FloorLimit:        i64(DefaultFloorLimit),
				CVMRequiredLimit:  i64(DefaultCVMRequiredLimit),
				TTQ:               HexBytes{0x26, 0x00, 0x40, 0x00},
			},
			{
				AID:                        append(HexBytes(nil), MastercardAID...),
				KernelID:                   2,
				Label:                      "MASTERCARD-LIKE",
				ZeroAmountAllowed:          &yes,
				FloorLimit:                 i64(DefaultFloorLimit),
				CVMRequiredLimit:           i64(DefaultCVMRequiredLimit),
				TransactionLimitNoODCVM:    i64(DefaultTransactionLimit),
				TransactionLimitODCVM:      i64(DefaultTransactionLimitODCVM),
				TACDefault:                 HexBytes{0xF4, 0x50, 0x84, 0x80, 0x0C},
				TACDenial:                  HexBytes{0x00, 0x00, 0x00, 0x00, 0x00},
				TACOnline:                  HexBytes{0xF4, 0x50, 0x84, 0x80, 0x0C},
				KernelConfiguration:        HexBytes{0xB0},
				CVMCapabilityCVMRequired:   HexBytes{0x60},
				CVMCapabilityNoCVMRequired: HexBytes{0x08},
				SecurityCapability:         HexBytes{0x08},
				CardDataInputCapability:    HexBytes{0x00},
				ApplicationVersion:         HexBytes{0x00, 0x02},
				MessageHoldTime:            1300 * time.Millisecond,
				MaxTornRecords:             1,
				MaxTornLifetime:            5 * time.Minute,
			},
		},
	}
}

// Clone returns a deep copy of c, so that a scenario can change one
// combination without touching the original.
func (c Config) Clone() Config {
	out := c
	out.TerminalType = c.TerminalType.clone()
	out.Capabilities = c.Capabilities.clone()
	out.AdditionalCapabilities = c.AdditionalCapabilities.clone()
	out.MerchantCategoryCode = c.MerchantCategoryCode.clone()
	if c.DET != nil {
		d := DETConfig{Data: c.DET.Data.clone(), TagsToWriteBeforeGenAC: c.DET.TagsToWriteBeforeGenAC.clone(), TagsToWriteAfterGenAC: c.DET.TagsToWriteAfterGenAC.clone(), Delay: c.DET.Delay}
		out.DET = &d
	}
	out.Combinations = make([]Combination, len(c.Combinations))
	for i, cb := range c.Combinations {
		out.Combinations[i] = cb.Clone()
	}
	if c.CAPublicKeys != nil {
		out.CAPublicKeys = make([]oda.CAPublicKey, len(c.CAPublicKeys))
		for i, k := range c.CAPublicKeys {
			k.Modulus = append([]byte(nil), k.Modulus...)
			k.Exponent = append([]byte(nil), k.Exponent...)
			out.CAPublicKeys[i] = k
		}
	}
	return out
}

// Clone returns a deep copy of the combination.
func (cb Combination) Clone() Combination {
	out := cb
	out.AID = cb.AID.clone()
	out.TransactionTypes = append([]TxnType(nil), cb.TransactionTypes...)
	if cb.TransactionTypes == nil {
		out.TransactionTypes = nil
	}
	out.ZeroAmountAllowed = cloneBool(cb.ZeroAmountAllowed)
	out.TransactionLimit = cloneInt(cb.TransactionLimit)
	out.FloorLimit = cloneInt(cb.FloorLimit)
	out.TerminalFloorLimit = cloneInt(cb.TerminalFloorLimit)
	out.CVMRequiredLimit = cloneInt(cb.CVMRequiredLimit)
	out.TransactionLimitNoODCVM = cloneInt(cb.TransactionLimitNoODCVM)
	out.TransactionLimitODCVM = cloneInt(cb.TransactionLimitODCVM)
	out.TTQ = cb.TTQ.clone()
	out.TACDefault = cb.TACDefault.clone()
	out.TACDenial = cb.TACDenial.clone()
	out.TACOnline = cb.TACOnline.clone()
	out.KernelConfiguration = cb.KernelConfiguration.clone()
	if cb.TagsToRead != nil {
		out.TagsToRead = make([]HexBytes, len(cb.TagsToRead))
		for i, t := range cb.TagsToRead {
			out.TagsToRead[i] = t.clone()
		}
	}
	out.TagsToWriteBeforeGenAC = cb.TagsToWriteBeforeGenAC.clone()
	out.TagsToWriteAfterGenAC = cb.TagsToWriteAfterGenAC.clone()
	out.DSRequestedOperatorID = cb.DSRequestedOperatorID.clone()
	out.DSInputTerm = cb.DSInputTerm.clone()
	out.DSODSInfoForReader = cb.DSODSInfoForReader.clone()
	out.DSODSInfo = cb.DSODSInfo.clone()
	out.DSODSTerm = cb.DSODSTerm.clone()
	out.DSACType = cb.DSACType.clone()
	out.DSInputCard = cb.DSInputCard.clone()
	out.ProceedToFirstWriteFlag = cb.ProceedToFirstWriteFlag.clone()
	if cb.RelayResistance != nil {
		rr := *cb.RelayResistance
		out.RelayResistance = &rr
	}
	out.CVMCapabilityCVMRequired = cb.CVMCapabilityCVMRequired.clone()
	out.CVMCapabilityNoCVMRequired = cb.CVMCapabilityNoCVMRequired.clone()
	out.SecurityCapability = cb.SecurityCapability.clone()
	out.CardDataInputCapability = cb.CardDataInputCapability.clone()
	out.MagStripeCVMCapabilityCVMRequired = cb.MagStripeCVMCapabilityCVMRequired.clone()
	out.MagStripeCVMCapabilityNoCVMRequired = cb.MagStripeCVMCapabilityNoCVMRequired.clone()
	out.ApplicationVersion = cb.ApplicationVersion.clone()
	if cb.PhoneMessageTable != nil {
		out.PhoneMessageTable = make([]PhoneMessage, len(cb.PhoneMessageTable))
		for i, p := range cb.PhoneMessageTable {
			out.PhoneMessageTable[i] = PhoneMessage{Mask: p.Mask.clone(), Value: p.Value.clone(), Message: p.Message, Status: p.Status}
		}
	}
	return out
}

func cloneInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneBool(p *bool) *bool {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Combination returns the combination for aid and kernel id, or nil.
func (c *Config) Combination(aid []byte, kernelID byte) *Combination {
	for i := range c.Combinations {
		if c.Combinations[i].KernelID == kernelID && bytes.Equal(c.Combinations[i].AID, aid) {
			return &c.Combinations[i]
		}
	}
	return nil
}

// Validate checks lengths and values.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch {
	case c.Country > 999:
		return bad("country code %d is not 3 digits", c.Country)
	case c.Currency > 999:
		return bad("currency code %d is not 3 digits", c.Currency)
	case c.CurrencyExponent < 0 || c.CurrencyExponent > 9:
		return bad("currency exponent %d out of 0..9", c.CurrencyExponent)
	case len(c.TerminalType) != 1:
		return bad("terminal type must be 1 byte")
	case len(c.Capabilities) != 3:
		return bad("terminal capabilities must be 3 bytes")
	case len(c.AdditionalCapabilities) != 0 && len(c.AdditionalCapabilities) != 5:
		return bad("additional terminal capabilities must be 5 bytes")
	case len(c.MerchantCategoryCode) != 0 && len(c.MerchantCategoryCode) != 2:
		return bad("merchant category code must be 2 bytes")
	case len(c.IFDSerial) > 8:
		return bad("IFD serial number longer than 8")
	case len(c.TerminalID) > 8:
		return bad("terminal identification longer than 8")
	case len(c.MerchantID) > 15:
		return bad("merchant identifier longer than 15")
	case len(c.TransactionCategoryCode) > 1:
		return bad("transaction category code longer than 1")
	case len(c.Combinations) == 0:
		return bad("no combination")
	}
	if c.DET != nil {
		if _, err := c.DET.DET(); err != nil {
			return bad("det: %v", err)
		}
	}
	for i, cb := range c.Combinations {
		if err := cb.validate(); err != nil {
			return fmt.Errorf("combination %d (%s kernel %d): %w", i, cb.AID, cb.KernelID, err)
		}
	}
	for _, k := range c.CAPublicKeys {
		if err := k.Validate(); err != nil {
			return fmt.Errorf("%w: CA public key %s: %w", ErrConfig, k.ID(), err)
		}
	}
	return nil
}

func (cb Combination) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	if len(cb.AID) < 5 || len(cb.AID) > 16 {
		return bad("AID must be 5 to 16 bytes")
	}
	if cb.KernelID == 0 {
		return bad("kernel id missing")
	}
	for _, l := range []*int64{cb.TransactionLimit, cb.FloorLimit, cb.TerminalFloorLimit, cb.CVMRequiredLimit, cb.TransactionLimitNoODCVM, cb.TransactionLimitODCVM} {
		if l != nil && (*l < 0 || *l > 999999999999) {
			return bad("limit %d out of 0..999999999999", *l)
		}
	}
	fixed := []struct {
		name string
		v    HexBytes
		n    int
	}{
		{"ttq", cb.TTQ, 4},
		{"tac_default", cb.TACDefault, 5},
		{"tac_denial", cb.TACDenial, 5},
		{"tac_online", cb.TACOnline, 5},
		{"kernel_configuration", cb.KernelConfiguration, 1},
		{"cvm_capability_cvm_required", cb.CVMCapabilityCVMRequired, 1},
		{"cvm_capability_no_cvm_required", cb.CVMCapabilityNoCVMRequired, 1},
		{"security_capability", cb.SecurityCapability, 1},
		{"proceed_to_first_write_flag", cb.ProceedToFirstWriteFlag, 1},
		{"ds_ods_info_for_reader", cb.DSODSInfoForReader, 1},
		{"ds_ods_info", cb.DSODSInfo, 1},
		{"ds_ac_type", cb.DSACType, 1},
		{"ds_input_term", cb.DSInputTerm, 8},
		{"ds_input_card", cb.DSInputCard, 8},
		{"card_data_input_capability", cb.CardDataInputCapability, 1},
		{"mag_stripe_cvm_capability_cvm_required", cb.MagStripeCVMCapabilityCVMRequired, 1},
		{"mag_stripe_cvm_capability_no_cvm_required", cb.MagStripeCVMCapabilityNoCVMRequired, 1},
		{"application_version", cb.ApplicationVersion, 2},
	}
	for _, f := range fixed {
		if len(f.v) != 0 && len(f.v) != f.n {
			return bad("%s must be %d bytes", f.name, f.n)
		}
	}
	for i, p := range cb.PhoneMessageTable {
		if len(p.Mask) != 3 || len(p.Value) != 3 {
			return bad("phone message table entry %d: mask and value must be 3 bytes", i)
		}
	}
	if rr := cb.RelayResistance; rr != nil {
		if rr.MinGrace < 0 || rr.MaxGrace < 0 || rr.ExpectedCAPDU < 0 || rr.ExpectedRAPDU < 0 || rr.AccuracyThreshold < 0 {
			return bad("negative relay resistance time")
		}
		if rr.MismatchThreshold < 0 || rr.MismatchThreshold > 255 {
			return bad("relay resistance mismatch threshold out of 0..255")
		}
	}
	for i, t := range cb.TagsToRead {
		if len(t) == 0 || len(t) > 3 {
			return bad("tags_to_read entry %d is not a tag", i)
		}
	}
	for name, w := range map[string]HexBytes{"tags_to_write_before_gen_ac": cb.TagsToWriteBeforeGenAC, "tags_to_write_after_gen_ac": cb.TagsToWriteAfterGenAC} {
		if _, err := TagsToWrite(w); err != nil {
			return bad("%s: %v", name, err)
		}
	}
	if n := len(cb.DSRequestedOperatorID); n != 0 && n != 8 {
		return bad("ds_requested_operator_id must be 8 bytes")
	}
	if len(cb.DSODSTerm) > 160 {
		return bad("ds_ods_term is at most 160 bytes")
	}
	if cb.MessageHoldTime < 0 {
		return bad("negative message hold time")
	}
	return nil
}

// AllowsType reports whether the combination serves transaction type t.
func (cb *Combination) AllowsType(t TxnType) bool {
	if len(cb.TransactionTypes) == 0 {
		return true
	}
	for _, x := range cb.TransactionTypes {
		if x == t {
			return true
		}
	}
	return false
}

// Now returns the configured clock's time, or time.Now.
func (c *Config) Now() time.Time {
	if c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

// NewUnpredictableNumber returns the next Unpredictable Number (9F37).
func (c *Config) NewUnpredictableNumber() [4]byte {
	if c.UnpredictableNumber != nil {
		return c.UnpredictableNumber()
	}
	var un [4]byte
	_, _ = rand.Read(un[:])
	return un
}

// OnlineCapable reports whether the terminal type allows online
// authorisation: types x1 (online only) and x2 (offline with online
// capability) do, x3 (offline only) does not (EMV Book 4 Annex A1).
func (c *Config) OnlineCapable() bool {
	if len(c.TerminalType) != 1 {
		return true
	}
	switch c.TerminalType[0] & 0x0F {
	case 3, 6:
		return false
	}
	return true
}

// OnlineOnly reports whether the terminal type is online only (x1, x4).
func (c *Config) OnlineOnly() bool {
	if len(c.TerminalType) != 1 {
		return false
	}
	switch c.TerminalType[0] & 0x0F {
	case 1, 4:
		return true
	}
	return false
}

// Unattended reports whether the terminal type is unattended (x4 to x6).
func (c *Config) Unattended() bool {
	if len(c.TerminalType) != 1 {
		return false
	}
	d := c.TerminalType[0] & 0x0F
	return d >= 4 && d <= 6
}

// ByteOr returns the single byte of h, or def when h is empty.
func (h HexBytes) ByteOr(def byte) byte {
	if len(h) == 1 {
		return h[0]
	}
	return def
}

// FixedUN returns an unpredictable number source that always gives un, for
// deterministic runs.
func FixedUN(un [4]byte) func() [4]byte { return func() [4]byte { return un } }

// FixedClock returns a clock that always gives t.
func FixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
