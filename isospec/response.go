package isospec

import "sort"

// ResponseCode is DE39, an2: the outcome of a request.
type ResponseCode string

// Response codes of the dialect (ISO 8583:1987 meanings; 82 is the
// dialect's "cryptogram failure").
const (
	RCApproved               ResponseCode = "00"
	RCReferToIssuer          ResponseCode = "01"
	RCDoNotHonour            ResponseCode = "05"
	RCPartialApproval        ResponseCode = "10"
	RCInvalidTransaction     ResponseCode = "12"
	RCInvalidAmount          ResponseCode = "13"
	RCInvalidCardNumber      ResponseCode = "14"
	RCFormatError            ResponseCode = "30"
	RCLostCard               ResponseCode = "41"
	RCStolenCard             ResponseCode = "43"
	RCInsufficientFunds      ResponseCode = "51"
	RCExpiredCard            ResponseCode = "54"
	RCIncorrectPIN           ResponseCode = "55"
	RCNotPermittedCardholder ResponseCode = "57"
	RCNotPermittedTerminal   ResponseCode = "58"
	RCExceedsAmountLimit     ResponseCode = "61"
	RCRestrictedCard         ResponseCode = "62"
	RCSecurityViolation      ResponseCode = "63"
	RCExceedsFrequencyLimit  ResponseCode = "65"
	RCResponseTooLate        ResponseCode = "68"
	RCPINTriesExceeded       ResponseCode = "75"
	RCCryptogramFailure      ResponseCode = "82"
	RCIssuerInoperative      ResponseCode = "91"
	RCDuplicateTransmission  ResponseCode = "94"
	RCSystemMalfunction      ResponseCode = "96"
)

var rcMeanings = map[ResponseCode]string{
	RCApproved:               "approved",
	RCReferToIssuer:          "refer to card issuer",
	RCPartialApproval:        "approved for partial amount",
	RCDoNotHonour:            "do not honour",
	RCInvalidTransaction:     "invalid transaction",
	RCInvalidAmount:          "invalid amount",
	RCInvalidCardNumber:      "invalid card number",
	RCFormatError:            "format error",
	RCLostCard:               "lost card",
	RCStolenCard:             "stolen card",
	RCInsufficientFunds:      "insufficient funds",
	RCExpiredCard:            "expired card",
	RCIncorrectPIN:           "incorrect PIN",
	RCNotPermittedCardholder: "transaction not permitted to cardholder",
	RCNotPermittedTerminal:   "transaction not permitted to terminal",
	RCExceedsAmountLimit:     "exceeds withdrawal amount limit",
	RCRestrictedCard:         "restricted card",
	RCSecurityViolation:      "security violation",
	RCExceedsFrequencyLimit:  "exceeds withdrawal frequency limit",
	RCResponseTooLate:        "response received too late",
	RCPINTriesExceeded:       "allowable PIN tries exceeded",
	RCCryptogramFailure:      "cryptogram failure",
	RCIssuerInoperative:      "issuer or switch inoperative",
	RCDuplicateTransmission:  "duplicate transmission",
	RCSystemMalfunction:      "system malfunction",
}

// ResponseCodes returns every code of the table in ascending order.
func ResponseCodes() []ResponseCode {
	out := make([]ResponseCode, 0, len(rcMeanings))
	for c := range rcMeanings {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Known reports whether c is in the table.
func (c ResponseCode) Known() bool { _, ok := rcMeanings[c]; return ok }

// Meaning returns the code's meaning ("do not honour"), or "unknown
// response code".
func (c ResponseCode) Meaning() string {
	if m, ok := rcMeanings[c]; ok {
		return m
	}
	return "unknown response code"
}

// Approved reports whether c approves the transaction (00).
func (c ResponseCode) Approved() bool { return c == RCApproved }

// String returns the code and its meaning: "05 (do not honour)".
func (c ResponseCode) String() string {
	code := string(c)
	if len(code) != 2 || firstBad(code, FormatAN) >= 0 {
		code = "??"
	}
	return code + " (" + c.Meaning() + ")"
}

// DeclineReason is the machine-readable reason of a decline, carried in
// the private data (DE48 subelement 01) of responses next to DE39, and
// recorded in journals and logs.
type DeclineReason string

// Decline reasons the hosts give.
const (
	ReasonFormat                DeclineReason = "format_error"
	ReasonMACInvalid            DeclineReason = "mac_invalid"
	ReasonDuplicate             DeclineReason = "duplicate_transmission"
	ReasonNoRoute               DeclineReason = "no_route"
	ReasonIssuerUnavailable     DeclineReason = "issuer_unavailable"
	ReasonCardUnknown           DeclineReason = "card_unknown"
	ReasonCardBlocked           DeclineReason = "card_blocked"
	ReasonCardExpired           DeclineReason = "card_expired"
	ReasonTokenUnknown          DeclineReason = "token_unknown"
	ReasonTokenSuspended        DeclineReason = "token_suspended"
	ReasonTokenDeleted          DeclineReason = "token_deleted"
	ReasonTokenExpired          DeclineReason = "token_expired"
	ReasonTokenDomain           DeclineReason = "token_domain_restricted"
	ReasonDeviceNotBound        DeclineReason = "device_not_bound"
	ReasonARQCInvalid           DeclineReason = "arqc_invalid"
	ReasonATCReplay             DeclineReason = "atc_replay"
	ReasonCryptogramReplay      DeclineReason = "cryptogram_replay"
	ReasonHCEKeyNotIssued       DeclineReason = "hce_key_not_issued"
	ReasonHCEKeyUsed            DeclineReason = "hce_key_used"
	ReasonHCEKeyExpired         DeclineReason = "hce_key_expired"
	ReasonCVMRequired           DeclineReason = "cvm_required"
	ReasonHCECVMRequired        DeclineReason = "hce_cvm_required"
	ReasonPINIncorrect          DeclineReason = "pin_incorrect"
	ReasonPINTriesExceeded      DeclineReason = "pin_tries_exceeded"
	ReasonPINLocked             DeclineReason = "pin_locked"
	ReasonInsufficientFunds     DeclineReason = "insufficient_funds"
	ReasonAmountLimit           DeclineReason = "amount_limit"
	ReasonFrequencyLimit        DeclineReason = "frequency_limit"
	ReasonTransactionNotAllowed DeclineReason = "transaction_not_allowed"
	ReasonSystemError           DeclineReason = "system_error"
	// ReasonKeyChange refuses a key change by network management (0800,
	// DE70 161): keys are loaded through the security module only.
	ReasonKeyChange DeclineReason = "key_change_not_supported"
)

var reasonCodes = map[DeclineReason]ResponseCode{
	ReasonFormat:                RCFormatError,
	ReasonMACInvalid:            RCSecurityViolation,
	ReasonDuplicate:             RCDuplicateTransmission,
	ReasonNoRoute:               RCInvalidCardNumber,
	ReasonIssuerUnavailable:     RCIssuerInoperative,
	ReasonCardUnknown:           RCInvalidCardNumber,
	ReasonCardBlocked:           RCRestrictedCard,
	ReasonCardExpired:           RCExpiredCard,
	ReasonTokenUnknown:          RCInvalidCardNumber,
	ReasonTokenSuspended:        RCRestrictedCard,
	ReasonTokenDeleted:          RCRestrictedCard,
	ReasonTokenExpired:          RCExpiredCard,
	ReasonTokenDomain:           RCNotPermittedCardholder,
	ReasonDeviceNotBound:        RCSecurityViolation,
	ReasonARQCInvalid:           RCCryptogramFailure,
	ReasonATCReplay:             RCCryptogramFailure,
	ReasonCryptogramReplay:      RCCryptogramFailure,
	ReasonHCEKeyNotIssued:       RCCryptogramFailure,
	ReasonHCEKeyUsed:            RCCryptogramFailure,
	ReasonHCEKeyExpired:         RCCryptogramFailure,
	ReasonCVMRequired:           RCNotPermittedCardholder,
	ReasonHCECVMRequired:        RCNotPermittedCardholder,
	ReasonPINIncorrect:          RCIncorrectPIN,
	ReasonPINTriesExceeded:      RCPINTriesExceeded,
	ReasonPINLocked:             RCPINTriesExceeded,
	ReasonInsufficientFunds:     RCInsufficientFunds,
	ReasonAmountLimit:           RCExceedsAmountLimit,
	ReasonFrequencyLimit:        RCExceedsFrequencyLimit,
	ReasonTransactionNotAllowed: RCNotPermittedCardholder,
	ReasonSystemError:           RCSystemMalfunction,
	ReasonKeyChange:             RCInvalidTransaction,
}

// DeclineReasons returns every reason the package defines, sorted.
func DeclineReasons() []DeclineReason {
	out := make([]DeclineReason, 0, len(reasonCodes))
	for r := range reasonCodes {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ResponseCode returns the DE39 code that goes with the reason: 82 for
// cryptogram, replay and single-use key failures, 94 for a duplicate, 63 for
// a bad MAC... An unknown reason gives 05 (do not honour).
func (r DeclineReason) ResponseCode() ResponseCode {
	if c, ok := reasonCodes[r]; ok {
		return c
	}
	return RCDoNotHonour
}
