// Package receipt prints the terminal's transaction slip: merchant and
// terminal, card (masked PAN, application label and AID), the cryptogram,
// amount, the host's answer and the cardholder verification line.
//
// # What the slip shows
//
// The PAN is masked to its first 6 and last 4 digits, whatever the caller
// passes. The application cryptogram is printed with its type (ARQC, TC,
// AAC) as EMV slips do, but masked to its last 4 hex digits: it is enough to
// match the slip with the host's log, and the project treats cryptograms as
// sensitive data that never leaves the terminal in clear (a slip is handed
// to people and often photographed). The TVR and ATC are printed in full:
// they hold no cardholder data.
//
// The cardholder verification line follows the CVM of the outcome:
// "NO SIGNATURE REQUIRED" when no CVM was performed, "VERIFIED BY DEVICE"
// for a consumer device CVM (the phone checked its passcode or biometric),
// "PIN VERIFIED" for an online PIN the issuer accepted, and a signature line
// for the signature CVM. A declined or reversed transaction prints no CVM
// line: nothing was verified.
package receipt

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
)

// Kind is the transaction the slip is for.
type Kind int

// Kinds of slip.
const (
	Sale Kind = iota
	Refund
	Void
)

// String is the slip heading ("SALE", "REFUND", "VOID").
func (k Kind) String() string {
	switch k {
	case Refund:
		return "REFUND"
	case Void:
		return "VOID"
	}
	return "SALE"
}

// CVM is the cardholder verification the slip reports.
type CVM int

// CVM lines.
const (
	// CVMNone: no cardholder verification ("NO SIGNATURE REQUIRED").
	CVMNone CVM = iota
	// CVMDevice: the consumer device verified the holder (CDCVM).
	CVMDevice
	// CVMPIN: online PIN, verified by the issuer.
	CVMPIN
	// CVMSignature: the holder signs the merchant copy.
	CVMSignature
)

// Line texts of the CVM line.
const (
	LineNoSignature = "NO SIGNATURE REQUIRED"
	LineDevice      = "VERIFIED BY DEVICE"
	LinePIN         = "PIN VERIFIED"
	LineSignature   = "X______________________________"
)

// Copy names whose slip this is.
type Copy int

// Copies.
const (
	CustomerCopy Copy = iota
	MerchantCopy
)

// String is the footer line of the copy.
func (c Copy) String() string {
	if c == MerchantCopy {
		return "MERCHANT COPY"
	}
	return "CUSTOMER COPY"
}

// Data is what a slip prints. PAN may be given in full: it is masked here.
type Data struct {
	// Merchant is the merchant name and location (field 43); MerchantID
	// and TerminalID fields 42 and 41.
	Merchant   string
	MerchantID string
	TerminalID string
	// Time is the local transaction date and time.
	Time time.Time
	// Kind is sale, refund or void.
	Kind Kind
	// Amount is in minor units of Currency (ISO 4217 numeric) with
	// Exponent decimals.
	Amount   int64
	Currency int
	Exponent int
	// ApprovedAmount, when set and below Amount, is the part of Amount a
	// partial approval approved: both are printed.
	ApprovedAmount int64
	// Balance, when set, is the available balance the host answered.
	Balance *int64
	// PAN is the account number; it is printed masked.
	PAN string
	// Label is the application label; AID the application identifier.
	Label string
	AID   []byte
	// CryptogramType is ARQC, TC or AAC; Cryptogram the 8-byte AC,
	// printed masked to its last 4 hex digits.
	CryptogramType string
	Cryptogram     []byte
	// ATC and TVR are printed when set.
	ATC []byte
	TVR []byte
	// STAN, RRN and AuthCode are the trace number, retrieval reference
	// number and approval code.
	STAN     string
	RRN      string
	AuthCode string
	// Approved is the host's (or card's) decision; ResponseCode and
	// ResponseText the ISO 8583 answer (field 39) and its meaning.
	Approved     bool
	ResponseCode string
	ResponseText string
	// CVM selects the verification line.
	CVM CVM
	// Notes are extra lines printed before the footer ("NO ANSWER FROM
	// HOST: REVERSED").
	Notes []string
	// Copy is the footer.
	Copy Copy
}

// Width is the slip width in characters.
const Width = 40

// Render prints the slip as lines of at most Width characters, each ending
// with a newline.
func Render(d Data) string {
	var b strings.Builder
	line := func(s string) {
		if len(s) > Width {
			s = s[:Width]
		}
		b.WriteString(strings.TrimRight(s, " "))
		b.WriteByte('\n')
	}
	center := func(s string) {
		if pad := (Width - len(s)) / 2; pad > 0 {
			s = strings.Repeat(" ", pad) + s
		}
		line(s)
	}
	pair := func(l, r string) {
		if gap := Width - len(l) - len(r); gap >= 1 {
			line(l + strings.Repeat(" ", gap) + r)
			return
		}
		line(l)
		line(strings.Repeat(" ", max(0, Width-len(r))) + r)
	}
	rule := func() { line(strings.Repeat("-", Width)) }

	if d.Merchant != "" {
		center(strings.ToUpper(d.Merchant))
	}
	pair("MID "+d.MerchantID, "TID "+d.TerminalID)
	if !d.Time.IsZero() {
		pair(d.Time.Format("2006-01-02"), d.Time.Format("15:04:05"))
	}
	rule()
	pair(d.Kind.String(), "CONTACTLESS")
	if d.Label != "" {
		line(strings.ToUpper(d.Label))
	}
	if d.PAN != "" {
		line(pan.Mask(d.PAN))
	}
	if len(d.AID) > 0 {
		pair("AID", upperHex(d.AID))
	}
	if len(d.Cryptogram) > 0 {
		typ := d.CryptogramType
		if typ == "" {
			typ = "AC"
		}
		pair(typ, MaskCryptogram(d.Cryptogram))
	}
	if len(d.ATC) > 0 {
		pair("ATC", upperHex(d.ATC))
	}
	if len(d.TVR) > 0 {
		pair("TVR", upperHex(d.TVR))
	}
	if d.STAN != "" {
		pair("STAN", d.STAN)
	}
	if d.RRN != "" {
		pair("RRN", d.RRN)
	}
	if d.AuthCode != "" {
		pair("AUTH CODE", d.AuthCode)
	}
	rule()
	amount := FormatAmount(d.Amount, d.Currency, d.Exponent)
	if d.Kind != Sale {
		amount = "-" + amount
	}
	if d.ApprovedAmount > 0 && d.ApprovedAmount < d.Amount {
		pair("AMOUNT REQUESTED", amount)
		pair("AMOUNT APPROVED", FormatAmount(d.ApprovedAmount, d.Currency, d.Exponent))
	} else {
		pair("AMOUNT", amount)
	}
	rule()
	status := "DECLINED"
	if d.Approved {
		status = "APPROVED"
	}
	if d.ResponseCode != "" {
		pair(status, d.ResponseCode)
	} else {
		center(status)
	}
	if d.ResponseText != "" && (!d.Approved || d.ApprovedAmount > 0 && d.ApprovedAmount < d.Amount) {
		center(strings.ToUpper(d.ResponseText))
	}
	if d.Balance != nil {
		pair("AVAILABLE BALANCE", FormatAmount(*d.Balance, d.Currency, d.Exponent))
	}
	for _, n := range d.Notes {
		center(strings.ToUpper(n))
	}
	if d.Approved {
		switch d.CVM {
		case CVMNone:
			center(LineNoSignature)
		case CVMDevice:
			center(LineDevice)
		case CVMPIN:
			center(LinePIN)
		case CVMSignature:
			line("")
			line("")
			center(LineSignature)
			center("CARDHOLDER SIGNATURE")
		}
	}
	line("")
	center(d.Copy.String())
	return b.String()
}

// MaskCryptogram keeps the last 4 hex digits of an application cryptogram
// and replaces the others with '*'.
func MaskCryptogram(ac []byte) string {
	h := upperHex(ac)
	if len(h) <= 4 {
		return strings.Repeat("*", len(h))
	}
	return strings.Repeat("*", len(h)-4) + h[len(h)-4:]
}

// CryptogramType names the cryptogram from the Cryptogram Information Data
// (9F27) bits b8-b7: AAC, TC, ARQC (or "AC" for the reserved value).
func CryptogramType(cid byte) string {
	switch cid & 0xC0 {
	case 0x00:
		return "AAC"
	case 0x40:
		return "TC"
	case 0x80:
		return "ARQC"
	}
	return "AC"
}

var currencies = map[int]string{
	901: "TWD", 840: "USD", 978: "EUR", 392: "JPY", 826: "GBP", 156: "CNY",
	344: "HKD", 410: "KRW", 702: "SGD", 36: "AUD", 124: "CAD", 756: "CHF",
}

// CurrencyCode returns the ISO 4217 alphabetic code of a numeric code, or
// the three digits when unknown.
func CurrencyCode(numeric int) string {
	if c, ok := currencies[numeric]; ok {
		return c
	}
	return fmt.Sprintf("%03d", numeric)
}

// FormatAmount prints minor units with their currency: 350000 in 901 with
// exponent 2 is "TWD 3,500.00".
func FormatAmount(minor int64, currency, exponent int) string {
	neg := minor < 0
	if neg {
		minor = -minor
	}
	unit := int64(1)
	for range exponent {
		unit *= 10
	}
	whole, frac := minor/unit, minor%unit
	s := groupThousands(whole)
	if exponent > 0 {
		s += fmt.Sprintf(".%0*d", exponent, frac)
	}
	if neg {
		s = "-" + s
	}
	return CurrencyCode(currency) + " " + s
}

func groupThousands(v int64) string {
	s := fmt.Sprintf("%d", v)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
