package tlv

import "fmt"

// Kernel selects the meaning of tags that EMV contactless kernels define
// differently.
type Kernel int

const (
	// KernelAny is EMV Book 3 and Entry Point (Book A/B) usage; for tags
	// whose meaning depends on the kernel it gives a combined name.
	KernelAny Kernel = iota
	// Kernel2 is EMV Contactless Book C-2 (Mastercard).
	Kernel2
	// Kernel3 is EMV Contactless Book C-3 (Visa).
	Kernel3
)

// String names the kernel.
func (k Kernel) String() string {
	switch k {
	case KernelAny:
		return "any"
	case Kernel2:
		return "C-2"
	case Kernel3:
		return "C-3"
	}
	return fmt.Sprintf("Kernel(%d)", int(k))
}

// Format is a data element format of EMV Book 3 section 4.3.
type Format int

const (
	// FormatB is binary (b), including bit-coded data.
	FormatB Format = iota
	// FormatN is numeric (n): BCD digits right-justified, leading zeros.
	FormatN
	// FormatCN is compressed numeric (cn): BCD digits left-justified,
	// trailing 'F' nibbles.
	FormatCN
	// FormatA is alphabetic (a).
	FormatA
	// FormatAN is alphanumeric (an).
	FormatAN
	// FormatANS is alphanumeric special (ans).
	FormatANS
	// FormatVar is a template or other variable structure (var.).
	FormatVar
)

// String gives the format as Book 3 writes it ("b", "n", "cn", "an"...).
func (f Format) String() string {
	switch f {
	case FormatB:
		return "b"
	case FormatN:
		return "n"
	case FormatCN:
		return "cn"
	case FormatA:
		return "a"
	case FormatAN:
		return "an"
	case FormatANS:
		return "ans"
	case FormatVar:
		return "var."
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Source is where a data element comes from.
type Source int

const (
	// SourceICC is the card (or phone).
	SourceICC Source = iota
	// SourceTerminal is the terminal: transaction data or configuration.
	SourceTerminal
	// SourceIssuer is the issuer, through the authorisation response.
	SourceIssuer
	// SourceKernel is data the kernel builds for itself or hands back to the
	// terminal as its result (Book C-2 kernel-internal and output data).
	SourceKernel
)

// String names the source.
func (s Source) String() string {
	switch s {
	case SourceICC:
		return "card"
	case SourceTerminal:
		return "terminal"
	case SourceIssuer:
		return "issuer"
	case SourceKernel:
		return "kernel"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// Info describes a data element.
type Info struct {
	Tag    Tag
	Name   string
	Format Format
	Source Source
	// MinLen and MaxLen bound the value length in bytes.
	MinLen, MaxLen int
	// Kernel is the kernel this meaning belongs to (KernelAny if general).
	Kernel Kernel
	// Sensitive marks cardholder data masked in traces: PAN, track data,
	// PIN data, cardholder name.
	Sensitive bool
}

// Lookup returns the general meaning of tag (see LookupFor with KernelAny).
func Lookup(tag Tag) (Info, bool) { return LookupFor(tag, KernelAny) }

// LookupFor returns the meaning of tag under kernel k: the kernel's own
// definition if it has one, else the general one, else the definition of the
// only kernel that defines the tag.
func LookupFor(tag Tag, k Kernel) (Info, bool) {
	var general, other Info
	var haveGeneral bool
	others := 0
	for _, in := range dictionary[tag] {
		switch in.Kernel {
		case k:
			return in, true
		case KernelAny:
			general, haveGeneral = in, true
		default:
			other = in
			others++
		}
	}
	if haveGeneral {
		return general, true
	}
	if others == 1 {
		return other, true
	}
	return Info{}, false
}

// sensitive reports whether any meaning of tag is sensitive.
func sensitive(tag Tag) bool {
	for _, in := range dictionary[tag] {
		if in.Sensitive {
			return true
		}
	}
	return false
}

// Dictionary returns every entry of the tag dictionary, general meanings and
// kernel-specific ones, in a new slice.
func Dictionary() []Info { return table() }

// dictionary indexes the table by tag.
var dictionary = func() map[Tag][]Info {
	t := table()
	m := make(map[Tag][]Info, len(t))
	for _, in := range t {
		m[in.Tag] = append(m[in.Tag], in)
	}
	return m
}()

// table lists the data elements: EMV Book 3 Annex A, Entry Point (Book A/B),
// Book C-2 and Book C-3 Annex A, EMV Payment Tokenisation.
func table() []Info {
	const (
		b   = FormatB
		n   = FormatN
		cn  = FormatCN
		a   = FormatA
		an  = FormatAN
		ans = FormatANS
		vr  = FormatVar

		icc  = SourceICC
		term = SourceTerminal
		iss  = SourceIssuer
		krn  = SourceKernel

		gen = KernelAny
		c2  = Kernel2
		c3  = Kernel3
	)
	return []Info{
		// EMV Book 3 Annex A and Book 1.
		{0x42, "Issuer Identification Number (IIN)", n, icc, 3, 3, gen, false},
		{0x4F, "Application Identifier (AID) - card", b, icc, 5, 16, gen, false},
		{0x50, "Application Label", ans, icc, 1, 16, gen, false},
		{0x52, "Command to Perform", b, iss, 0, 252, gen, false},
		{0x56, "Track 1 Data", ans, icc, 1, 76, gen, true},
		{0x57, "Track 2 Equivalent Data", b, icc, 1, 19, gen, true},
		{0x5A, "Application Primary Account Number (PAN)", cn, icc, 1, 10, gen, true},
		{0x61, "Application Template", vr, icc, 0, 252, gen, false},
		{0x6F, "File Control Information (FCI) Template", vr, icc, 0, 252, gen, false},
		{0x70, "READ RECORD Response Message Template", vr, icc, 0, 252, gen, false},
		{0x71, "Issuer Script Template 1", vr, iss, 0, 252, gen, false},
		{0x72, "Issuer Script Template 2", vr, iss, 0, 252, gen, false},
		{0x73, "Directory Discretionary Template", vr, icc, 0, 252, gen, false},
		{0x77, "Response Message Template Format 2", vr, icc, 0, 252, gen, false},
		{0x80, "Response Message Template Format 1", vr, icc, 0, 252, gen, false},
		{0x81, "Amount, Authorised (Binary)", b, term, 4, 4, gen, false},
		{0x82, "Application Interchange Profile (AIP)", b, icc, 2, 2, gen, false},
		{0x83, "Command Template", b, term, 0, 252, gen, false},
		{0x84, "Dedicated File (DF) Name", b, icc, 5, 16, gen, false},
		{0x86, "Issuer Script Command", b, iss, 0, 261, gen, false},
		{0x87, "Application Priority Indicator", b, icc, 1, 1, gen, false},
		{0x88, "Short File Identifier (SFI)", b, icc, 1, 1, gen, false},
		{0x89, "Authorisation Code", ans, iss, 6, 6, gen, false},
		{0x8A, "Authorisation Response Code", an, iss, 2, 2, gen, false},
		{0x8C, "Card Risk Management Data Object List 1 (CDOL1)", b, icc, 0, 252, gen, false},
		{0x8D, "Card Risk Management Data Object List 2 (CDOL2)", b, icc, 0, 252, gen, false},
		{0x8E, "Cardholder Verification Method (CVM) List", b, icc, 10, 252, gen, false},
		{0x8F, "Certification Authority Public Key Index", b, icc, 1, 1, gen, false},
		{0x90, "Issuer Public Key Certificate", b, icc, 1, 248, gen, false},
		{0x91, "Issuer Authentication Data", b, iss, 8, 16, gen, false},
		{0x92, "Issuer Public Key Remainder", b, icc, 0, 248, gen, false},
		{0x93, "Signed Static Application Data", b, icc, 1, 248, gen, false},
		{0x94, "Application File Locator (AFL)", b, icc, 0, 252, gen, false},
		{0x95, "Terminal Verification Results (TVR)", b, term, 5, 5, gen, false},
		{0x97, "Transaction Certificate Data Object List (TDOL)", b, icc, 0, 252, gen, false},
		{0x98, "Transaction Certificate (TC) Hash Value", b, term, 20, 20, gen, false},
		{0x99, "Transaction Personal Identification Number (PIN) Data", b, term, 0, 252, gen, true},
		{0x9A, "Transaction Date", n, term, 3, 3, gen, false},
		{0x9B, "Transaction Status Information (TSI)", b, term, 2, 2, gen, false},
		{0x9C, "Transaction Type", n, term, 1, 1, gen, false},
		{0x9D, "Directory Definition File (DDF) Name", b, icc, 5, 16, gen, false},
		{0xA5, "File Control Information (FCI) Proprietary Template", vr, icc, 0, 252, gen, false},
		{0xBF0C, "File Control Information (FCI) Issuer Discretionary Data", vr, icc, 0, 222, gen, false},
		{0x5F20, "Cardholder Name", ans, icc, 2, 26, gen, true},
		{0x5F24, "Application Expiration Date", n, icc, 3, 3, gen, false},
		{0x5F25, "Application Effective Date", n, icc, 3, 3, gen, false},
		{0x5F28, "Issuer Country Code", n, icc, 2, 2, gen, false},
		{0x5F2A, "Transaction Currency Code", n, term, 2, 2, gen, false},
		{0x5F2D, "Language Preference", an, icc, 2, 8, gen, false},
		{0x5F30, "Service Code", n, icc, 2, 2, gen, false},
		{0x5F34, "Application PAN Sequence Number", n, icc, 1, 1, gen, false},
		{0x5F36, "Transaction Currency Exponent", n, term, 1, 1, gen, false},
		{0x5F50, "Issuer URL", ans, icc, 0, 252, gen, false},
		{0x5F53, "International Bank Account Number (IBAN)", vr, icc, 0, 34, gen, false},
		{0x5F54, "Bank Identifier Code (BIC)", vr, icc, 8, 11, gen, false},
		{0x5F55, "Issuer Country Code (alpha2 format)", a, icc, 2, 2, gen, false},
		{0x5F56, "Issuer Country Code (alpha3 format)", a, icc, 3, 3, gen, false},
		{0x5F57, "Account Type", n, term, 1, 1, gen, false},
		{0x9F01, "Acquirer Identifier", n, term, 6, 6, gen, false},
		{0x9F02, "Amount, Authorised (Numeric)", n, term, 6, 6, gen, false},
		{0x9F03, "Amount, Other (Numeric)", n, term, 6, 6, gen, false},
		{0x9F04, "Amount, Other (Binary)", b, term, 4, 4, gen, false},
		{0x9F05, "Application Discretionary Data", b, icc, 1, 32, gen, false},
		{0x9F06, "Application Identifier (AID) - terminal", b, term, 5, 16, gen, false},
		{0x9F07, "Application Usage Control", b, icc, 2, 2, gen, false},
		{0x9F08, "Application Version Number - card", b, icc, 2, 2, gen, false},
		{0x9F09, "Application Version Number - terminal", b, term, 2, 2, gen, false},
		{0x9F0A, "Application Selection Registered Proprietary Data", b, icc, 0, 252, gen, false},
		{0x9F0B, "Cardholder Name Extended", ans, icc, 27, 45, gen, true},
		{0x9F0D, "Issuer Action Code - Default", b, icc, 5, 5, gen, false},
		{0x9F0E, "Issuer Action Code - Denial", b, icc, 5, 5, gen, false},
		{0x9F0F, "Issuer Action Code - Online", b, icc, 5, 5, gen, false},
		{0x9F10, "Issuer Application Data (IAD)", b, icc, 0, 32, gen, false},
		{0x9F11, "Issuer Code Table Index", n, icc, 1, 1, gen, false},
		{0x9F12, "Application Preferred Name", ans, icc, 1, 16, gen, false},
		{0x9F13, "Last Online Application Transaction Counter (ATC) Register", b, icc, 2, 2, gen, false},
		{0x9F14, "Lower Consecutive Offline Limit", b, icc, 1, 1, gen, false},
		{0x9F15, "Merchant Category Code", n, term, 2, 2, gen, false},
		{0x9F16, "Merchant Identifier", ans, term, 15, 15, gen, false},
		{0x9F17, "Personal Identification Number (PIN) Try Counter", b, icc, 1, 1, gen, false},
		{0x9F18, "Issuer Script Identifier", b, iss, 4, 4, gen, false},
		{0x9F19, "Token Requestor ID", n, icc, 6, 6, gen, false},
		{0x9F1A, "Terminal Country Code", n, term, 2, 2, gen, false},
		{0x9F1B, "Terminal Floor Limit", b, term, 4, 4, gen, false},
		{0x9F1C, "Terminal Identification", an, term, 8, 8, gen, false},
		{0x9F1D, "Terminal Risk Management Data", b, term, 1, 8, gen, false},
		{0x9F1E, "Interface Device (IFD) Serial Number", an, term, 8, 8, gen, false},
		{0x9F1F, "Track 1 Discretionary Data", ans, icc, 0, 54, gen, true},
		{0x9F20, "Track 2 Discretionary Data", cn, icc, 0, 16, gen, true},
		{0x9F21, "Transaction Time", n, term, 3, 3, gen, false},
		{0x9F22, "Certification Authority Public Key Index - terminal", b, term, 1, 1, gen, false},
		{0x9F23, "Upper Consecutive Offline Limit", b, icc, 1, 1, gen, false},
		{0x9F24, "Payment Account Reference (PAR)", an, icc, 29, 29, gen, false},
		{0x9F25, "Last 4 Digits of PAN", n, icc, 2, 2, gen, false},
		{0x9F26, "Application Cryptogram", b, icc, 8, 8, gen, false},
		{0x9F27, "Cryptogram Information Data", b, icc, 1, 1, gen, false},
		{0x9F29, "Extended Selection", b, icc, 0, 11, gen, false},
		{0x9F2A, "Kernel Identifier", b, icc, 1, 8, gen, false},
		{0x9F2D, "ICC PIN Encipherment Public Key Certificate", b, icc, 1, 248, gen, false},
		{0x9F2E, "ICC PIN Encipherment Public Key Exponent", b, icc, 1, 3, gen, false},
		{0x9F2F, "ICC PIN Encipherment Public Key Remainder", b, icc, 0, 248, gen, false},
		{0x9F32, "Issuer Public Key Exponent", b, icc, 1, 3, gen, false},
		{0x9F33, "Terminal Capabilities", b, term, 3, 3, gen, false},
		{0x9F34, "Cardholder Verification Method (CVM) Results", b, term, 3, 3, gen, false},
		{0x9F35, "Terminal Type", n, term, 1, 1, gen, false},
		{0x9F36, "Application Transaction Counter (ATC)", b, icc, 2, 2, gen, false},
		{0x9F37, "Unpredictable Number", b, term, 4, 4, gen, false},
		{0x9F38, "Processing Options Data Object List (PDOL)", b, icc, 0, 252, gen, false},
		{0x9F39, "Point-of-Service (POS) Entry Mode", n, term, 1, 1, gen, false},
		{0x9F3A, "Amount, Reference Currency", b, term, 4, 4, gen, false},
		{0x9F3B, "Application Reference Currency", n, icc, 2, 8, gen, false},
		{0x9F3C, "Transaction Reference Currency Code", n, term, 2, 2, gen, false},
		{0x9F3D, "Transaction Reference Currency Exponent", n, term, 1, 1, gen, false},
		{0x9F40, "Additional Terminal Capabilities", b, term, 5, 5, gen, false},
		{0x9F41, "Transaction Sequence Counter", n, term, 2, 4, gen, false},
		{0x9F42, "Application Currency Code", n, icc, 2, 2, gen, false},
		{0x9F43, "Application Reference Currency Exponent", n, icc, 1, 4, gen, false},
		{0x9F44, "Application Currency Exponent", n, icc, 1, 1, gen, false},
		{0x9F45, "Data Authentication Code", b, icc, 2, 2, gen, false},
		{0x9F46, "ICC Public Key Certificate", b, icc, 1, 248, gen, false},
		{0x9F47, "ICC Public Key Exponent", b, icc, 1, 3, gen, false},
		{0x9F48, "ICC Public Key Remainder", b, icc, 0, 248, gen, false},
		{0x9F49, "Dynamic Data Authentication Data Object List (DDOL)", b, icc, 0, 252, gen, false},
		{0x9F4A, "Static Data Authentication Tag List", vr, icc, 0, 252, gen, false},
		{0x9F4B, "Signed Dynamic Application Data", b, icc, 1, 248, gen, false},
		{0x9F4C, "ICC Dynamic Number", b, icc, 2, 8, gen, false},
		{0x9F4D, "Log Entry", b, icc, 2, 2, gen, false},
		{0x9F4E, "Merchant Name and Location", ans, term, 0, 252, gen, false},
		{0x9F4F, "Log Format", b, icc, 0, 252, gen, false},
		{0x9F5B, "Issuer Script Results", b, term, 0, 252, gen, false},

		// Entry Point (Book A/B) and Book C-3.
		{0x9F66, "Terminal Transaction Qualifiers (TTQ)", b, term, 4, 4, gen, false},
		{0x9F5A, "Application Program Identifier (Program ID)", b, icc, 1, 16, c3, false},
		{0x9F68, "Card Additional Processes", b, icc, 4, 4, c3, false},
		{0x9F5D, "Available Offline Spending Amount (AOSA)", n, icc, 6, 6, c3, false},
		{0x9F69, "Card Authentication Related Data", b, icc, 5, 16, c3, false},
		{0x9F6C, "Card Transaction Qualifiers (CTQ)", b, icc, 2, 2, c3, false},
		{0x9F6E, "Form Factor Indicator (FFI)", b, icc, 4, 4, c3, false},
		{0x9F7C, "Customer Exclusive Data (CED)", b, icc, 0, 32, c3, false},

		// Tags whose meaning depends on the kernel: the general entry names both.
		{0x9F5D, "Application Capabilities Information (C-2) / Available Offline Spending Amount (C-3)", b, icc, 3, 6, gen, false},
		{0x9F68, "Mag-stripe CVM List (C-2) / Card Additional Processes (C-3)", b, icc, 4, 32, gen, false},
		{0x9F69, "UDOL (C-2) / Card Authentication Related Data (C-3)", b, icc, 0, 16, gen, false},
		{0x9F6C, "Mag-stripe Application Version Number (C-2) / Card Transaction Qualifiers (C-3)", b, icc, 2, 2, gen, false},
		{0x9F6E, "Third Party Data (C-2) / Form Factor Indicator (C-3)", b, icc, 4, 32, gen, false},
		{0x9F7C, "Merchant Custom Data (C-2) / Customer Exclusive Data (C-3)", b, icc, 0, 32, gen, false},
		{0x9F7E, "Application Life Cycle Data", b, icc, 48, 48, gen, false},

		// Book C-2 Annex A.
		{0x9F50, "Offline Accumulator Balance", n, icc, 6, 6, c2, false},
		{0x9F51, "DRDOL", b, icc, 0, 252, c2, false},
		{0x9F53, "Transaction Category Code", an, term, 1, 1, c2, false},
		// Data storage: the card's own objects (DS ODS Card, DS Slot
		// Availability, DS Slot Management Control, DS Summary 1, DS
		// Unpredictable Number) come in the GET PROCESSING OPTIONS
		// response; DS ODS Info (DF62) and DS ODS Term (DF63) are the
		// terminal's, sent to the card in the DSDOL related data of
		// GENERATE AC (kernel tag lists quoting Book C-2's dictionary agree
		// on both: "Terminal provided data to be forwarded to the Card with
		// the GENERATE AC command"); the DS Summaries 2 and 3 are not BER
		// objects on the card's side but fields of the ICC Dynamic Data
		// recovered from the CDA signature.
		{0x9F54, "DS ODS Card", b, icc, 0, 160, c2, false},
		{0x9F5B, "DSDOL", b, icc, 0, 250, c2, false},
		{0x9F5C, "DS Requested Operator ID", b, term, 8, 8, c2, false},
		{0x9F5D, "Application Capabilities Information", b, icc, 3, 3, c2, false},
		// DS ID: Application PAN (without 'F' padding) || PAN Sequence
		// Number ('00' without one), left-padded with zeros to whole bytes
		// and to at least 8 bytes. Book C-2's data dictionary gives the
		// format n (8-11 bytes), as the kernels whose dictionaries quote it
		// do (PayPass 3 kernel tag lists: "Format: n, Length: 8 to 11
		// bytes"); a dictionary that renders it as binary shows the same
		// digits, but n is the book's. It carries the PAN: masked in traces.
		{0x9F5E, "DS ID", n, icc, 8, 11, c2, true},
		{0x9F5F, "DS Slot Availability", b, icc, 1, 1, c2, false},
		{0x9F60, "CVC3 (Track1)", b, icc, 2, 2, c2, false},
		{0x9F61, "CVC3 (Track2)", b, icc, 2, 2, c2, false},
		{0x9F62, "PCVC3 (Track1)", b, icc, 6, 6, c2, false},
		{0x9F63, "PUNATC (Track1)", b, icc, 6, 6, c2, false},
		{0x9F64, "NATC (Track1)", b, icc, 1, 1, c2, false},
		{0x9F65, "PCVC3 (Track2)", b, icc, 2, 2, c2, false},
		{0x9F66, "PUNATC (Track2)", b, icc, 2, 2, c2, false},
		{0x9F68, "Mag-stripe CVM List", b, icc, 10, 32, c2, false},
		{0x9F67, "NATC (Track2)", b, icc, 1, 1, c2, false},
		{0x9F69, "UDOL", b, icc, 0, 252, c2, false},
		{0x9F6A, "Unpredictable Number (Numeric)", n, krn, 4, 4, c2, false},
		{0x9F6B, "Track 2 Data", b, icc, 1, 19, c2, true},
		{0x9F6C, "Mag-stripe Application Version Number (Card)", b, icc, 2, 2, c2, false},
		{0x9F6D, "Mag-stripe Application Version Number (Reader)", b, term, 2, 2, c2, false},
		{0x9F6E, "Third Party Data", b, icc, 5, 32, c2, false},
		{0x9F6F, "DS Slot Management Control", b, icc, 1, 1, c2, false},
		{0x9F70, "Protected Data Envelope 1", b, icc, 0, 192, c2, false},
		{0x9F71, "Protected Data Envelope 2", b, icc, 0, 192, c2, false},
		{0x9F72, "Protected Data Envelope 3", b, icc, 0, 192, c2, false},
		{0x9F73, "Protected Data Envelope 4", b, icc, 0, 192, c2, false},
		{0x9F74, "Protected Data Envelope 5", b, icc, 0, 192, c2, false},
		{0x9F75, "Unprotected Data Envelope 1", b, icc, 0, 192, c2, false},
		{0x9F76, "Unprotected Data Envelope 2", b, icc, 0, 192, c2, false},
		{0x9F77, "Unprotected Data Envelope 3", b, icc, 0, 192, c2, false},
		{0x9F78, "Unprotected Data Envelope 4", b, icc, 0, 192, c2, false},
		{0x9F79, "Unprotected Data Envelope 5", b, icc, 0, 192, c2, false},
		{0x9F7C, "Merchant Custom Data", b, term, 20, 20, c2, false},
		{0x9F7D, "DS Summary 1", b, icc, 8, 16, c2, false},
		{0x9F7E, "Mobile Support Indicator", b, term, 1, 1, c2, false},
		{0x9F7F, "DS Unpredictable Number", b, icc, 4, 4, c2, false},
		{0xDF4B, "POS Cardholder Interaction Information", b, icc, 3, 3, c2, false},
		{0xDF60, "DS Input (Card)", b, term, 8, 8, c2, false},
		{0xDF61, "DS Digest H", b, term, 8, 8, c2, false},
		{0xDF62, "DS ODS Info", b, term, 1, 1, c2, false},
		{0xDF63, "DS ODS Term", b, term, 0, 160, c2, false},
		{0xDF8101, "DS Summary 2", b, icc, 8, 16, c2, false},
		{0xDF8102, "DS Summary 3", b, icc, 8, 16, c2, false},
		{0xDF8104, "Balance Read Before Gen AC", n, krn, 6, 6, c2, false},
		{0xDF8105, "Balance Read After Gen AC", n, krn, 6, 6, c2, false},
		{0xDF8106, "Data Needed", b, krn, 0, 252, c2, false},
		{0xDF8107, "CDOL1 Related Data", b, krn, 0, 252, c2, false},
		{0xDF8108, "DS AC Type", b, term, 1, 1, c2, false},
		{0xDF8109, "DS Input (Term)", b, term, 8, 8, c2, false},
		{0xDF810A, "DS ODS Info For Reader", b, term, 1, 1, c2, false},
		{0xDF810B, "DS Summary Status", b, krn, 1, 1, c2, false},
		{0xDF810C, "Kernel ID", b, term, 1, 1, c2, false},
		{0xDF810D, "DSVN Term", b, krn, 0, 252, c2, false},
		{0xDF810E, "Post-Gen AC Put Data Status", b, krn, 1, 1, c2, false},
		{0xDF810F, "Pre-Gen AC Put Data Status", b, krn, 1, 1, c2, false},
		{0xDF8110, "Proceed To First Write Flag", b, term, 1, 1, c2, false},
		{0xDF8111, "PDOL Related Data", b, krn, 0, 252, c2, false},
		{0xDF8112, "Tags To Read", b, term, 0, 252, c2, false},
		{0xDF8113, "DRDOL Related Data", b, krn, 0, 252, c2, false},
		{0xDF8114, "Reference Control Parameter", b, krn, 1, 1, c2, false},
		{0xDF8115, "Error Indication", b, krn, 6, 6, c2, false},
		{0xDF8116, "User Interface Request Data", b, krn, 22, 22, c2, false},
		{0xDF8117, "Card Data Input Capability", b, term, 1, 1, c2, false},
		{0xDF8118, "CVM Capability - CVM Required", b, term, 1, 1, c2, false},
		{0xDF8119, "CVM Capability - No CVM Required", b, term, 1, 1, c2, false},
		{0xDF811A, "Default UDOL", b, term, 3, 3, c2, false},
		{0xDF811B, "Kernel Configuration", b, term, 1, 1, c2, false},
		{0xDF811C, "Max Lifetime of Torn Transaction Log Record", b, term, 2, 2, c2, false},
		{0xDF811D, "Max Number of Torn Transaction Log Records", b, term, 1, 1, c2, false},
		{0xDF811E, "Mag-stripe CVM Capability - CVM Required", b, term, 1, 1, c2, false},
		{0xDF811F, "Security Capability", b, term, 1, 1, c2, false},
		{0xDF8120, "Terminal Action Code - Default", b, term, 5, 5, c2, false},
		{0xDF8121, "Terminal Action Code - Denial", b, term, 5, 5, c2, false},
		{0xDF8122, "Terminal Action Code - Online", b, term, 5, 5, c2, false},
		{0xDF8123, "Reader Contactless Floor Limit", n, term, 6, 6, c2, false},
		{0xDF8124, "Reader Contactless Transaction Limit (No On-device CVM)", n, term, 6, 6, c2, false},
		{0xDF8125, "Reader Contactless Transaction Limit (On-device CVM)", n, term, 6, 6, c2, false},
		{0xDF8126, "Reader CVM Required Limit", n, term, 6, 6, c2, false},
		{0xDF8127, "Time Out Value", b, term, 2, 2, c2, false},
		{0xDF8128, "IDS Status", b, krn, 1, 1, c2, false},
		{0xDF8129, "Outcome Parameter Set", b, krn, 8, 8, c2, false},
		{0xDF812A, "DD Card (Track1)", ans, krn, 0, 56, c2, false},
		// DD Card (Track2): the discretionary data field of the card's
		// Track 2 Data without the UN, ATC, CVC3 and nUN digits. Public
		// dictionaries disagree (binary in tag-name lists, ans in one
		// vendor's PayPass 3 header); those that quote Book C-2's data
		// dictionary entry with its columns give cn, up to 8 bytes, which
		// is followed here: digits left-justified, padded with 'F'. Part of
		// track 2: masked in traces.
		{0xDF812B, "DD Card (Track2)", cn, krn, 0, 8, c2, true},
		{0xDF812C, "Mag-stripe CVM Capability - No CVM Required", b, term, 1, 1, c2, false},
		{0xDF812D, "Message Hold Time", n, term, 3, 3, c2, false},
		{0xDF8130, "Hold Time Value", b, term, 1, 1, c2, false},
		{0xDF8131, "Phone Message Table", b, term, 0, 252, c2, false},
		{0xDF8132, "Minimum Relay Resistance Grace Period", b, term, 2, 2, c2, false},
		{0xDF8133, "Maximum Relay Resistance Grace Period", b, term, 2, 2, c2, false},
		{0xDF8134, "Terminal Expected Transmission Time For Relay Resistance C-APDU", b, term, 2, 2, c2, false},
		{0xDF8135, "Terminal Expected Transmission Time For Relay Resistance R-APDU", b, term, 2, 2, c2, false},
		{0xDF8136, "Relay Resistance Accuracy Threshold", b, term, 2, 2, c2, false},
		{0xDF8137, "Relay Resistance Transmission Time Mismatch Threshold", b, term, 1, 1, c2, false},
		{0xDF8301, "Terminal Relay Resistance Entropy", b, krn, 4, 4, c2, false},
		{0xDF8302, "Device Relay Resistance Entropy", b, icc, 4, 4, c2, false},
		{0xDF8303, "Min Time For Processing Relay Resistance APDU", b, icc, 2, 2, c2, false},
		{0xDF8304, "Max Time For Processing Relay Resistance APDU", b, icc, 2, 2, c2, false},
		{0xDF8305, "Device Estimated Transmission Time For Relay Resistance R-APDU", b, icc, 2, 2, c2, false},
		{0xDF8306, "Measured Relay Resistance Processing Time", b, krn, 2, 2, c2, false},
		{0xDF8307, "RRP Counter", b, krn, 1, 1, c2, false},
		{0xFF8101, "Torn Record", vr, krn, 0, 0xFFFF, c2, false},
		{0xFF8102, "Tags To Write Before Gen AC", vr, term, 0, 0xFFFF, c2, false},
		{0xFF8103, "Tags To Write After Gen AC", vr, term, 0, 0xFFFF, c2, false},
		{0xFF8104, "Data To Send", vr, krn, 0, 0xFFFF, c2, false},
		{0xFF8105, "Data Record", vr, krn, 0, 0xFFFF, c2, false},
		{0xFF8106, "Discretionary Data", vr, krn, 0, 0xFFFF, c2, false},
	}
}
