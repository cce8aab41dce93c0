package isospec

import "fmt"

// MTI is a message type indicator, 4 digits: version (0 = ISO 8583:1987),
// class, function and origin.
type MTI string

// Message types of the dialect.
const (
	MTIAuthorizationRequest        MTI = "0100"
	MTIAuthorizationResponse       MTI = "0110"
	MTIAuthorizationAdvice         MTI = "0120"
	MTIAuthorizationAdviceRepeat   MTI = "0121"
	MTIAuthorizationAdviceResponse MTI = "0130"
	MTIFinancialRequest            MTI = "0200"
	MTIFinancialResponse           MTI = "0210"
	MTIReversalRequest             MTI = "0400"
	MTIReversalResponse            MTI = "0410"
	MTIReversalAdvice              MTI = "0420"
	MTIReversalAdviceRepeat        MTI = "0421"
	MTIReversalAdviceResponse      MTI = "0430"
	MTINetworkRequest              MTI = "0800"
	MTINetworkResponse             MTI = "0810"
)

var mtiNames = map[MTI]string{
	MTIAuthorizationRequest:        "authorisation request",
	MTIAuthorizationResponse:       "authorisation response",
	MTIAuthorizationAdvice:         "authorisation advice",
	MTIAuthorizationAdviceRepeat:   "authorisation advice repeat",
	MTIAuthorizationAdviceResponse: "authorisation advice response",
	MTIFinancialRequest:            "financial request",
	MTIFinancialResponse:           "financial response",
	MTIReversalRequest:             "reversal request",
	MTIReversalResponse:            "reversal response",
	MTIReversalAdvice:              "reversal advice",
	MTIReversalAdviceRepeat:        "reversal advice repeat",
	MTIReversalAdviceResponse:      "reversal advice response",
	MTINetworkRequest:              "network management request",
	MTINetworkResponse:             "network management response",
}

// Known reports whether the dialect uses m.
func (m MTI) Known() bool { _, ok := mtiNames[m]; return ok }

// Name describes m ("authorisation request"), or "unknown message type".
func (m MTI) Name() string {
	if n, ok := mtiNames[m]; ok {
		return n
	}
	return "unknown message type"
}

// valid reports whether m is 4 digits.
func (m MTI) valid() bool { return len(m) == 4 && firstBad(m, FormatN) < 0 }

// Class is the message class digit: '1' authorisation, '2' financial,
// '4' reversal, '8' network management; 0 if m is malformed.
func (m MTI) Class() byte {
	if !m.valid() {
		return 0
	}
	return m[1]
}

// IsRequest reports whether m is a request or an advice (function digit 0
// or 2), which the receiver answers.
func (m MTI) IsRequest() bool { return m.valid() && (m[2] == '0' || m[2] == '2') }

// IsResponse reports whether m answers a request or an advice (function
// digit 1 or 3).
func (m MTI) IsResponse() bool { return m.valid() && (m[2] == '1' || m[2] == '3') }

// IsRepeat reports whether m is a repeat (origin digit 1), such as 0421.
func (m MTI) IsRepeat() bool { return m.valid() && m[3] == '1' }

// Response returns the MTI that answers m: 0100 -> 0110, 0420 and 0421 ->
// 0430, 0800 -> 0810.
func (m MTI) Response() (MTI, error) {
	if !m.IsRequest() {
		return "", fmt.Errorf("isospec: MTI %q is not a request: %w", string(m), ErrValue)
	}
	b := []byte(m)
	b[2]++
	b[3] = '0'
	return MTI(b), nil
}

// Repeat returns the repeat of an advice or request: 0420 -> 0421.
func (m MTI) Repeat() (MTI, error) {
	if !m.IsRequest() {
		return "", fmt.Errorf("isospec: MTI %q is not a request: %w", string(m), ErrValue)
	}
	b := []byte(m)
	b[3] = '1'
	return MTI(b), nil
}
