package kernel

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// TVR is the Terminal Verification Results (tag 95, EMV Book 3 Annex C5):
// five bytes of bits the terminal sets as checks fail or steps are skipped.
type TVR [5]byte

// TVRBit names one bit of the TVR: the byte number (1 to 5) in the high
// byte and the bit mask in the low byte, so TVRCDAFailed (byte 1, b3) is
// 0x0104.
type TVRBit uint16

// TVR bits of EMV Book 3 Annex C5 (and the contactless kernels' use of them).
const (
	// Byte 1: offline data authentication.
	TVRODANotPerformed    TVRBit = 0x0180 // b8 Offline data authentication was not performed
	TVRSDAFailed          TVRBit = 0x0140 // b7 SDA failed
	TVRICCDataMissing     TVRBit = 0x0120 // b6 ICC data missing
	TVRExceptionFile      TVRBit = 0x0110 // b5 Card appears on terminal exception file
	TVRDDAFailed          TVRBit = 0x0108 // b4 DDA failed (fDDA too)
	TVRCDAFailed          TVRBit = 0x0104 // b3 CDA failed
	TVRSDASelected        TVRBit = 0x0102 // b2 SDA selected
	TVRDifferentVersions  TVRBit = 0x0280 // byte 2 b8 ICC and terminal have different application versions
	TVRExpired            TVRBit = 0x0240 // byte 2 b7 Expired application
	TVRNotEffective       TVRBit = 0x0220 // byte 2 b6 Application not yet effective
	TVRServiceNotAllowed  TVRBit = 0x0210 // byte 2 b5 Requested service not allowed for card product
	TVRNewCard            TVRBit = 0x0208 // byte 2 b4 New card
	TVRCVMFailed          TVRBit = 0x0380 // byte 3 b8 Cardholder verification was not successful
	TVRUnrecognisedCVM    TVRBit = 0x0340 // byte 3 b7 Unrecognised CVM
	TVRPINTryLimit        TVRBit = 0x0320 // byte 3 b6 PIN Try Limit exceeded
	TVRPINPadMissing      TVRBit = 0x0310 // byte 3 b5 PIN entry required and PIN pad not present or not working
	TVRPINNotEntered      TVRBit = 0x0308 // byte 3 b4 PIN entry required, PIN pad present, but PIN was not entered
	TVROnlinePINEntered   TVRBit = 0x0304 // byte 3 b3 Online PIN entered
	TVRFloorLimitExceeded TVRBit = 0x0480 // byte 4 b8 Transaction exceeds floor limit
	TVRLowerOfflineLimit  TVRBit = 0x0440 // byte 4 b7 Lower consecutive offline limit exceeded
	TVRUpperOfflineLimit  TVRBit = 0x0420 // byte 4 b6 Upper consecutive offline limit exceeded
	TVRRandomOnline       TVRBit = 0x0410 // byte 4 b5 Transaction selected randomly for online processing
	TVRMerchantForced     TVRBit = 0x0408 // byte 4 b4 Merchant forced transaction online
	TVRDefaultTDOL        TVRBit = 0x0580 // byte 5 b8 Default TDOL used
	TVRIssuerAuthFailed   TVRBit = 0x0540 // byte 5 b7 Issuer authentication failed
	TVRScriptBeforeFailed TVRBit = 0x0520 // byte 5 b6 Script processing failed before final GENERATE AC
	TVRScriptAfterFailed  TVRBit = 0x0510 // byte 5 b5 Script processing failed after final GENERATE AC
	TVRRRThreshold        TVRBit = 0x0508 // byte 5 b4 Relay resistance threshold exceeded
	TVRRRTimeLimits       TVRBit = 0x0504 // byte 5 b3 Relay resistance time limits exceeded
	TVRRRNotPerformed     TVRBit = 0x0501 // byte 5 b2-b1 = 01: relay resistance protocol not performed
	TVRRRPerformed        TVRBit = 0x0502 // byte 5 b2-b1 = 10: relay resistance protocol performed
)

var tvrBitNames = []struct {
	bit  TVRBit
	name string
	text string
}{
	{TVRODANotPerformed, "oda_not_performed", "Offline data authentication was not performed"},
	{TVRSDAFailed, "sda_failed", "SDA failed"},
	{TVRICCDataMissing, "icc_data_missing", "ICC data missing"},
	{TVRExceptionFile, "exception_file", "Card appears on terminal exception file"},
	{TVRDDAFailed, "dda_failed", "DDA failed"},
	{TVRCDAFailed, "cda_failed", "CDA failed"},
	{TVRSDASelected, "sda_selected", "SDA selected"},
	{TVRDifferentVersions, "different_versions", "ICC and terminal have different application versions"},
	{TVRExpired, "expired_application", "Expired application"},
	{TVRNotEffective, "not_yet_effective", "Application not yet effective"},
	{TVRServiceNotAllowed, "service_not_allowed", "Requested service not allowed for card product"},
	{TVRNewCard, "new_card", "New card"},
	{TVRCVMFailed, "cvm_failed", "Cardholder verification was not successful"},
	{TVRUnrecognisedCVM, "unrecognised_cvm", "Unrecognised CVM"},
	{TVRPINTryLimit, "pin_try_limit_exceeded", "PIN Try Limit exceeded"},
	{TVRPINPadMissing, "pin_pad_missing", "PIN entry required and PIN pad not present or not working"},
	{TVRPINNotEntered, "pin_not_entered", "PIN entry required, PIN pad present, but PIN was not entered"},
	{TVROnlinePINEntered, "online_pin_entered", "Online PIN entered"},
	{TVRFloorLimitExceeded, "floor_limit_exceeded", "Transaction exceeds floor limit"},
	{TVRLowerOfflineLimit, "lower_offline_limit_exceeded", "Lower consecutive offline limit exceeded"},
	{TVRUpperOfflineLimit, "upper_offline_limit_exceeded", "Upper consecutive offline limit exceeded"},
	{TVRRandomOnline, "random_online", "Transaction selected randomly for online processing"},
	{TVRMerchantForced, "merchant_forced_online", "Merchant forced transaction online"},
	{TVRDefaultTDOL, "default_tdol", "Default TDOL used"},
	{TVRIssuerAuthFailed, "issuer_auth_failed", "Issuer authentication failed"},
	{TVRScriptBeforeFailed, "script_failed_before_gac", "Script processing failed before final GENERATE AC"},
	{TVRScriptAfterFailed, "script_failed_after_gac", "Script processing failed after final GENERATE AC"},
	{TVRRRThreshold, "rr_threshold_exceeded", "Relay resistance threshold exceeded"},
	{TVRRRTimeLimits, "rr_time_limits_exceeded", "Relay resistance time limits exceeded"},
	{TVRRRNotPerformed, "rr_not_performed", "Relay resistance protocol not performed"},
	{TVRRRPerformed, "rr_performed", "Relay resistance protocol performed"},
}

func (b TVRBit) index() (int, byte) { return int(b>>8) - 1, byte(b) }

// Name is the bit's short name ("cda_failed").
func (b TVRBit) Name() string {
	for _, n := range tvrBitNames {
		if n.bit == b {
			return n.name
		}
	}
	return fmt.Sprintf("tvr_%04X", uint16(b))
}

// String is the bit's meaning as Book 3 words it.
func (b TVRBit) String() string {
	for _, n := range tvrBitNames {
		if n.bit == b {
			return n.text
		}
	}
	return b.Name()
}

// ParseTVRBit reads a bit by its short name ("expired_application") or as
// four hex digits (byte number and mask, "0240").
func ParseTVRBit(s string) (TVRBit, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, n := range tvrBitNames {
		if n.name == t {
			return n.bit, nil
		}
	}
	if len(t) == 4 {
		if v, err := hex.DecodeString(t); err == nil && v[0] >= 1 && v[0] <= 5 && v[1] != 0 {
			return TVRBit(uint16(v[0])<<8 | uint16(v[1])), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown TVR bit %q", ErrConfig, s)
}

// Set sets bit b.
func (t *TVR) Set(b TVRBit) {
	i, m := b.index()
	if i >= 0 && i < len(t) {
		t[i] |= m
	}
}

// Has reports whether every bit of b's mask is set.
func (t TVR) Has(b TVRBit) bool {
	i, m := b.index()
	if i < 0 || i >= len(t) || m == 0 {
		return false
	}
	return t[i]&m == m
}

// Bits lists the named bits that are set, in byte and bit order.
func (t TVR) Bits() []TVRBit {
	var out []TVRBit
	for _, n := range tvrBitNames {
		if n.bit == TVRRRNotPerformed || n.bit == TVRRRPerformed {
			if t[4]&0x03 == byte(n.bit) {
				out = append(out, n.bit)
			}
			continue
		}
		if t.Has(n.bit) {
			out = append(out, n.bit)
		}
	}
	return out
}

// IsZero reports whether no bit is set.
func (t TVR) IsZero() bool { return t == TVR{} }

// String prints the TVR in hex with the names of the set bits:
// "8000048000 (oda_not_performed, floor_limit_exceeded)".
func (t TVR) String() string {
	s := strings.ToUpper(hex.EncodeToString(t[:]))
	bits := t.Bits()
	if len(bits) == 0 {
		return s
	}
	names := make([]string, len(bits))
	for i, b := range bits {
		names[i] = b.Name()
	}
	return s + " (" + strings.Join(names, ", ") + ")"
}
