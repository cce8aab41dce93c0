package authz

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/emv/tlv"
)

// CVM is the cardholder verification a transaction carried.
type CVM string

// Cardholder verification methods, as the issuer sees them.
const (
	CVMNone      CVM = "none"
	CVMSignature CVM = "signature"
	CVMOnlinePIN CVM = "online_pin"
	CVMCDCVM     CVM = "cdcvm" // consumer device CVM: passcode or biometric on the phone (R-G3f)
)

// Request is one authorisation request (0100 or 0200) as the pipeline
// reads it, whatever carried it.
type Request struct {
	MTI              string // "0100" or "0200"
	PAN              string // DE2 (or from track 2)
	Expiry           string // YYMM from DE14 or track 2; "" when absent
	PSN              string // PAN sequence number from DE23 (last 2 digits); "" when absent
	ProcessingCode   string // DE3; "00" purchase and "20" refund are accepted
	Amount           int64  // DE4, minor units
	Currency         int    // DE49, ISO 4217 numeric
	EntryMode        string // DE22, 3 digits ("071" contactless chip)
	TransmissionTime string // DE7, MMDDhhmmss
	STAN             string // DE11
	RRN              string // DE37
	AcquirerID       string // DE32
	TerminalID       string // DE41
	MerchantID       string // DE42
	ICC              []byte // DE55, BER-TLV
	Track2           string // DE35 as sent ("" when absent): the track of a contactless mag-stripe mode transaction
	PINBlock         []byte // DE52, enciphered under the zone PIN key
	LocalDate        string // DE13, MMDD; "" when absent
	MCC              string // DE18, merchant category code; "" when absent
	ConditionCode    string // DE25, POS condition code; "" when absent
	// TokenRequestorID is the token requestor ID of the private field (11
	// digits), "" when absent; advisory, like 9F19 in DE55.
	TokenRequestorID string
	// DeviceID and CVM are advisory claims of the private field: the device
	// ID (hex) and the CVM it names ("" when absent). The engine trusts
	// neither; a claim the authenticated data contradict declines.
	DeviceID string
	CVM      CVM
	// KeyATC, when HasKeyATC is set, is the ATC of the single-use key the
	// private field names for an HCE cryptogram; it must be the ATC of
	// 9F36.
	KeyATC    uint16
	HasKeyATC bool
}

// String describes the request with the PAN masked and no ICC data or PIN
// block.
func (r Request) String() string {
	return fmt.Sprintf("%s %s amount %d/%03d entry %s STAN %s", r.MTI, pan.Mask(r.PAN), r.Amount, r.Currency, r.EntryMode, r.STAN)
}

// GoString is String.
func (r Request) GoString() string { return r.String() }

// Key is the request's original-data key, the one its reversal will name
// (see OriginalKey).
func (r Request) Key() string { return OriginalKey(r.MTI, r.STAN, r.TransmissionTime, r.AcquirerID) }

// OriginalKey is the key a hold is kept under: the original message type,
// STAN, transmission date and time and acquiring institution (the first
// four parts of ISO 8583 field 90), the institution padded on the left with
// zeros to 11 digits.
func OriginalKey(mti, stan, transmission, acquirer string) string {
	acq := strings.TrimLeft(acquirer, "0")
	if len(acq) < 11 {
		acq = strings.Repeat("0", 11-len(acq)) + acq
	}
	return mti + "/" + stan + "/" + transmission + "/" + acq
}

// ParseOriginalData splits ISO 8583 field 90 (42 digits: MTI 4, STAN 6,
// transmission date and time 10, acquirer 11, forwarder 11) and returns
// the original's key. It never reads past s.
func ParseOriginalData(s string) (string, error) {
	if len(s) != 42 || !digits(s) {
		return "", fmt.Errorf("authz: original data elements: want 42 digits, got %d characters", len(s))
	}
	return OriginalKey(s[0:4], s[4:10], s[10:20], s[20:31]), nil
}

// Reversal is a reversal (0400) or reversal advice (0420, repeated as
// 0421) of an earlier authorisation.
type Reversal struct {
	MTI        string
	Original   string // the original's key (OriginalKey, ParseOriginalData)
	PAN        string // for the log, masked there
	Amount     int64
	Currency   int
	STAN       string
	RRN        string
	TerminalID string
	MerchantID string
	AcquirerID string
	// TransmissionTime is the reversal's own DE7.
	TransmissionTime string
}

// Key is the reversal's own key.
func (r Reversal) Key() string { return OriginalKey(r.MTI, r.STAN, r.TransmissionTime, r.AcquirerID) }

// iccData is DE55 decoded.
type iccData struct {
	tags cryptogram.Values
}

// parseICC decodes DE55 (a list of primitive BER-TLV objects; templates
// are searched too) into a tag map. It never reads past b.
func parseICC(b []byte) (iccData, error) {
	l, err := tlv.Decode(b)
	if err != nil {
		return iccData{}, fmt.Errorf("authz: DE55: %w", err)
	}
	out := cryptogram.Values{}
	var walk func(tlv.List)
	walk = func(l tlv.List) {
		for _, o := range l {
			if o.Tag.Constructed() {
				walk(o.Children)
				continue
			}
			if _, dup := out[uint32(o.Tag)]; !dup {
				out[uint32(o.Tag)] = o.Value
			}
		}
	}
	walk(l)
	return iccData{tags: out}, nil
}

func (d iccData) get(tag uint32) []byte { return d.tags[tag] }

// cvmClaims are what the unauthenticated parts of a request say of
// cardholder verification: the Visa Card Transaction Qualifiers (9F6C),
// the terminal's CVM Results (9F34) and the private field. None of them is
// in any CVN's cryptogram input (Covered), so they are advisory: a
// signature claim is taken as the terminal's word for a plastic card
// only, and a claim that a CDCVM or an offline PIN was performed must be
// borne out by the covered CVR. An online PIN selection (9F34 '02') claims
// nothing performed (its result is "unknown": the issuer verifies the PIN
// block); without a PIN block it is a PIN bypass, no CVM.
type cvmClaims struct {
	cdcvm      bool // 9F6C byte 2 bit 8; 9F34 '01' result '02' on a contactless read; private field
	offlinePIN bool // 9F34 '01' (contact read), '03', '04' or '05' with result '02' successful
	signature  bool // 9F6C byte 1 bit 7; 9F34 '1E', '03' or '05'
}

// claimsOf reads the CVM claims of d and of the private field's cvm.
func claimsOf(d iccData, cvm CVM, contactless bool) cvmClaims {
	var c cvmClaims
	if ctq := d.get(0x9F6C); len(ctq) == 2 {
		c.cdcvm = c.cdcvm || ctq[1]&0x80 != 0
		c.signature = c.signature || ctq[0]&0x40 != 0
	}
	if res := d.get(0x9F34); len(res) == 3 {
		ok := res[2] == 0x02 // successful
		switch res[0] & 0x3F {
		case 0x01: // contactless: this project's CDCVM; contact: offline plaintext PIN
			if contactless {
				c.cdcvm = c.cdcvm || ok
			} else {
				c.offlinePIN = c.offlinePIN || ok
			}
		case 0x04: // offline enciphered PIN
			c.offlinePIN = c.offlinePIN || ok
		case 0x03, 0x05: // offline PIN and signature
			c.offlinePIN = c.offlinePIN || ok
			c.signature = true
		case 0x1E:
			c.signature = true
		}
	}
	switch cvm {
	case CVMCDCVM:
		c.cdcvm = true
	case CVMSignature:
		c.signature = true
	}
	return c
}

// cvrOfflinePIN reads the "offline PIN verification performed" bit of the
// CVR in 9F10 (Visa format 0/1/3: CVR byte 2 bit 3; Mastercard: CVR byte 1
// bit 3; Visa format 2 and CCD: CVR byte 2 bit 4). This project's cards
// offer no offline PIN and never set it; the engine gives no credit for an
// offline PIN, but a claim of one the CVR does not record declines.
func cvrOfflinePIN(iad []byte, scheme cryptogram.Scheme) bool {
	switch scheme {
	case cryptogram.SchemeVisa:
		switch {
		case len(iad) >= 7 && iad[0] == 0x06 && iad[3] == 0x03:
			return iad[4]&0x04 != 0
		case len(iad) == 32 && iad[0] == 0x1F:
			return iad[4]&0x08 != 0
		}
	case cryptogram.SchemeMastercard:
		if len(iad) >= 8 {
			return iad[2]&0x04 != 0
		}
	case cryptogram.SchemeCCD:
		if len(iad) >= 16 && iad[0] == 0x0F {
			return iad[4]&0x08 != 0
		}
	}
	return false
}

// cvrACType reads the type of the cryptogram the card made from the
// first GENERATE AC bits (6-5) of the Card Verification Results in 9F10:
// 0 an AAC, 1 a TC, 2 an ARQC (Visa format 0/1/3: CVR byte 2; Visa format
// 2 and the CCD layout: CVR byte 1; Mastercard: CVR byte 1). Every CVN
// covers the CVR; 9F27, which says the same, is covered by none. ok is
// false for a layout it does not know.
func cvrACType(iad []byte, scheme cryptogram.Scheme) (typ byte, ok bool) {
	switch scheme {
	case cryptogram.SchemeVisa:
		switch {
		case len(iad) >= 7 && iad[0] == 0x06 && iad[3] == 0x03:
			return iad[4] >> 4 & 0x03, true
		case len(iad) == 32 && iad[0] == 0x1F:
			return iad[3] >> 4 & 0x03, true
		}
	case cryptogram.SchemeMastercard:
		if len(iad) >= 8 {
			return iad[2] >> 4 & 0x03, true
		}
	case cryptogram.SchemeCCD:
		if len(iad) >= 16 && iad[0] == 0x0F {
			return iad[3] >> 4 & 0x03, true
		}
	}
	return 0, false
}

// cvrCDCVM reads the CDCVM flag of the Card Verification Results in 9F10
// as this project's cards set it (Visa format 0/1/3: CVR byte 4 bit 1;
// Visa format 2 and the CCD layout: CVR byte 3 bit 4; Mastercard: CVR
// byte 6 bit 1). Every CVN covers the CVR, so once the cryptogram verified
// the flag is the card's own word: the only evidence of a consumer-device
// CVM the issuer takes.
func cvrCDCVM(iad []byte, scheme cryptogram.Scheme) bool {
	switch scheme {
	case cryptogram.SchemeVisa:
		switch {
		case len(iad) >= 7 && iad[0] == 0x06 && iad[3] == 0x03:
			return iad[6]&0x01 != 0
		case len(iad) == 32 && iad[0] == 0x1F:
			return iad[5]&0x08 != 0
		}
	case cryptogram.SchemeMastercard:
		if len(iad) >= 8 {
			return iad[7]&0x01 != 0
		}
	case cryptogram.SchemeCCD:
		if len(iad) >= 16 && iad[0] == 0x0F {
			return iad[5]&0x08 != 0
		}
	}
	return false
}

// deviceBindingTag starts the device binding in the issuer-discretionary
// part of 9F10: 'D1' and the 8-byte device ID (R-S5d).
const deviceBindingTag = 0xD1

// DeviceFromIAD finds the device binding ('D1' and 8 bytes of device ID)
// in Issuer Application Data of the scheme's layout and returns the device
// ID in upper-case hex, or "" when there is none. Visa format 0/1/3: after
// the CVR, length '0F' and 15 bytes of issuer-discretionary data starting
// with the binding; Visa format 2: issuer-discretionary data from byte 9;
// Mastercard: after DKI, CVN, CVR (6), DAC (2) and counters (8); EMV CCD:
// after the first 16 bytes, length '0F' and the binding. It never reads
// past iad.
func DeviceFromIAD(iad []byte, scheme cryptogram.Scheme) string {
	at := -1
	switch scheme {
	case cryptogram.SchemeVisa:
		switch {
		case len(iad) >= 8 && iad[0] == 0x06 && iad[7] == 0x0F:
			at = 8
		case len(iad) == 32 && iad[0] == 0x1F:
			at = 8
		}
	case cryptogram.SchemeMastercard:
		at = 18
	case cryptogram.SchemeCCD:
		if len(iad) == 32 && iad[16] == 0x0F {
			at = 17
		}
	}
	if at < 0 || len(iad) < at+9 || iad[at] != deviceBindingTag {
		return ""
	}
	return strings.ToUpper(hex.EncodeToString(iad[at+1 : at+9]))
}

// NormaliseDeviceID writes a device ID as the binding carries it: 8 bytes,
// padded on the right with zeros, upper-case hex. It fails for anything
// that is not hex or longer than 8 bytes.
func NormaliseDeviceID(id string) (string, error) {
	b, err := hex.DecodeString(strings.TrimSpace(id))
	if err != nil || len(b) == 0 || len(b) > 8 {
		return "", fmt.Errorf("authz: device ID must be 1 to 8 bytes of hex")
	}
	out := make([]byte, 8)
	copy(out, b)
	return strings.ToUpper(hex.EncodeToString(out)), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
