package isospec

import (
	"fmt"
)

// ProcessingCode is DE3, n6: transaction type (2 digits), account type
// from (2 digits) and account type to (2 digits).
type ProcessingCode string

// Transaction types (the first two digits of DE3).
const (
	TxPurchase         = "00"
	TxCash             = "01"
	TxPurchaseCashback = "09"
	TxRefund           = "20"
	TxBalanceInquiry   = "30"
)

// Account types (digits 3-4 and 5-6 of DE3).
const (
	AccountDefault = "00"
	AccountSavings = "10"
	AccountCheque  = "20"
	AccountCredit  = "30"
)

// Common processing codes, default accounts.
const (
	ProcPurchase       ProcessingCode = TxPurchase + AccountDefault + AccountDefault
	ProcCash           ProcessingCode = TxCash + AccountDefault + AccountDefault
	ProcRefund         ProcessingCode = TxRefund + AccountDefault + AccountDefault
	ProcBalanceInquiry ProcessingCode = TxBalanceInquiry + AccountDefault + AccountDefault
)

var txNames = map[string]string{
	TxPurchase:         "purchase",
	TxCash:             "cash",
	TxPurchaseCashback: "purchase with cashback",
	TxRefund:           "refund",
	TxBalanceInquiry:   "balance inquiry",
}

var accountNames = map[string]string{
	AccountDefault: "default account",
	AccountSavings: "savings account",
	AccountCheque:  "cheque account",
	AccountCredit:  "credit account",
}

// NewProcessingCode builds DE3 from a transaction type and two account
// types, each 2 digits.
func NewProcessingCode(txType, from, to string) (ProcessingCode, error) {
	for _, p := range []string{txType, from, to} {
		if len(p) != 2 || firstBad(p, FormatN) >= 0 {
			return "", fieldErr(FieldProcessingCode, -1, ErrValue, "each part is 2 digits")
		}
	}
	return ProcessingCode(txType + from + to), nil
}

func (p ProcessingCode) valid() bool { return len(p) == 6 && firstBad(p, FormatN) < 0 }

// TransactionType returns the first two digits, or "" if p is malformed.
func (p ProcessingCode) TransactionType() string {
	if !p.valid() {
		return ""
	}
	return string(p[:2])
}

// FromAccount returns digits 3-4, or "" if p is malformed.
func (p ProcessingCode) FromAccount() string {
	if !p.valid() {
		return ""
	}
	return string(p[2:4])
}

// ToAccount returns digits 5-6, or "" if p is malformed.
func (p ProcessingCode) ToAccount() string {
	if !p.valid() {
		return ""
	}
	return string(p[4:6])
}

// Description names the parts: "purchase, default account to default
// account".
func (p ProcessingCode) Description() string {
	if !p.valid() {
		return "malformed processing code"
	}
	tx, ok := txNames[p.TransactionType()]
	if !ok {
		tx = "transaction type " + p.TransactionType()
	}
	return fmt.Sprintf("%s, %s to %s", tx, accountName(p.FromAccount()), accountName(p.ToAccount()))
}

func accountName(a string) string {
	if n, ok := accountNames[a]; ok {
		return n
	}
	return "account type " + a
}

// POSEntryMode is DE22, n3: how the PAN was read (first two digits) and the
// terminal's PIN entry capability (third digit).
type POSEntryMode string

// PAN entry modes (the first two digits of DE22).
const (
	PANEntryUnknown              = "00"
	PANEntryManual               = "01"
	PANEntryMagstripe            = "02"
	PANEntryICC                  = "05"
	PANEntryContactless          = "07" // contactless chip (EMV mode)
	PANEntryFullMagstripe        = "90"
	PANEntryContactlessMagstripe = "91"
)

// PIN entry capabilities (the third digit of DE22).
const (
	PINCapabilityUnknown  = '0'
	PINCapable            = '1'
	PINNotCapable         = '2'
	PINPadInoperative     = '8'
	PINVerifiedByTerminal = '9'
)

var panEntryNames = map[string]string{
	PANEntryUnknown:              "unknown",
	PANEntryManual:               "manual key entry",
	PANEntryMagstripe:            "magnetic stripe",
	PANEntryICC:                  "contact chip",
	PANEntryContactless:          "contactless chip",
	PANEntryFullMagstripe:        "full magnetic stripe",
	PANEntryContactlessMagstripe: "contactless magnetic stripe",
}

var pinCapNames = map[byte]string{
	PINCapabilityUnknown:  "PIN capability unknown",
	PINCapable:            "PIN entry capability",
	PINNotCapable:         "no PIN entry capability",
	PINPadInoperative:     "PIN pad inoperative",
	PINVerifiedByTerminal: "PIN verified by terminal",
}

// NewPOSEntryMode builds DE22 from a 2-digit PAN entry mode and a PIN
// capability digit.
func NewPOSEntryMode(panEntry string, pinCapability byte) (POSEntryMode, error) {
	if len(panEntry) != 2 || firstBad(panEntry, FormatN) >= 0 || pinCapability < '0' || pinCapability > '9' {
		return "", fieldErr(FieldPOSEntryMode, -1, ErrValue, "2-digit entry mode and a digit")
	}
	return POSEntryMode(panEntry + string(pinCapability)), nil
}

// ContactlessEntry is DE22 for a contactless chip read: "071" with a PIN
// pad, "072" without.
func ContactlessEntry(pinPad bool) POSEntryMode {
	if pinPad {
		return POSEntryMode(PANEntryContactless + string(rune(PINCapable)))
	}
	return POSEntryMode(PANEntryContactless + string(rune(PINNotCapable)))
}

func (e POSEntryMode) valid() bool { return len(e) == 3 && firstBad(e, FormatN) < 0 }

// PANEntry returns the first two digits, or "" if e is malformed.
func (e POSEntryMode) PANEntry() string {
	if !e.valid() {
		return ""
	}
	return string(e[:2])
}

// PINCapability returns the third digit, or 0 if e is malformed.
func (e POSEntryMode) PINCapability() byte {
	if !e.valid() {
		return 0
	}
	return e[2]
}

// ContactlessChip reports a contactless chip (EMV mode) read: 07x.
func (e POSEntryMode) ContactlessChip() bool { return e.PANEntry() == PANEntryContactless }

// Contactless reports any contactless read: 07x or 91x.
func (e POSEntryMode) Contactless() bool {
	return e.ContactlessChip() || e.PANEntry() == PANEntryContactlessMagstripe
}

// Chip reports a read that carries ICC data in DE55: contact (05x) or
// contactless chip (07x).
func (e POSEntryMode) Chip() bool { return e.ContactlessChip() || e.PANEntry() == PANEntryICC }

// Description names both parts: "contactless chip, PIN entry capability".
func (e POSEntryMode) Description() string {
	if !e.valid() {
		return "malformed entry mode"
	}
	p, ok := panEntryNames[e.PANEntry()]
	if !ok {
		p = "entry mode " + e.PANEntry()
	}
	c, ok := pinCapNames[e.PINCapability()]
	if !ok {
		c = "PIN capability " + string(rune(e.PINCapability()))
	}
	return p + ", " + c
}

// POS condition codes (DE25, n2).
const (
	POSConditionNormal             = "00"
	POSConditionCustomerNotThere   = "01"
	POSConditionUnattended         = "02"
	POSConditionMerchantSuspicious = "03"
)

var posConditionNames = map[string]string{
	POSConditionNormal:             "normal presentment",
	POSConditionCustomerNotThere:   "customer not present",
	POSConditionUnattended:         "unattended terminal",
	POSConditionMerchantSuspicious: "merchant suspicious",
}

// NetworkCode is DE70, the network management information code (n3).
type NetworkCode string

// Network management codes.
const (
	NetSignOn    NetworkCode = "001"
	NetSignOff   NetworkCode = "002"
	NetKeyChange NetworkCode = "161"
	NetEcho      NetworkCode = "301"
)

var netNames = map[NetworkCode]string{
	NetSignOn:    "sign-on",
	NetSignOff:   "sign-off",
	NetKeyChange: "key change",
	NetEcho:      "echo test",
}

// Known reports whether the dialect uses c.
func (c NetworkCode) Known() bool { _, ok := netNames[c]; return ok }

// Name describes c ("sign-on"), or "unknown network management code".
func (c NetworkCode) Name() string {
	if n, ok := netNames[c]; ok {
		return n
	}
	return "unknown network management code"
}
