package isospec

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// AuthorizationRequest is the 0100 authorisation request (and, with MTI
// 0200, the financial request): terminal to acquirer, acquirer to issuer.
// Use Encode or Marshal to build the message; SetMAC adds DE64.
//
// It prints masked under every fmt verb (see Describe): never print its
// fields one by one.
type AuthorizationRequest struct {
	MTI                  MTI            `iso8583:"0"`
	PAN                  string         `iso8583:"2"`
	ProcessingCode       ProcessingCode `iso8583:"3"`
	Amount               int64          `iso8583:"4,keepzero"` // minor units
	TransmissionDateTime string         `iso8583:"7"`          // MMDDhhmmss UTC
	STAN                 string         `iso8583:"11"`
	LocalTime            string         `iso8583:"12"` // hhmmss
	LocalDate            string         `iso8583:"13"` // MMDD
	Expiry               string         `iso8583:"14"` // YYMM
	MCC                  string         `iso8583:"18"`
	POSEntryMode         POSEntryMode   `iso8583:"22"`
	CardSequenceNumber   string         `iso8583:"23"`
	POSConditionCode     string         `iso8583:"25"`
	AcquirerID           string         `iso8583:"32"`
	ForwardingID         string         `iso8583:"33"`
	Track2               string         `iso8583:"35"`
	RRN                  string         `iso8583:"37"`
	TerminalID           string         `iso8583:"41"`
	MerchantID           string         `iso8583:"42"`
	CardAcceptor         string         `iso8583:"43"` // see CardAcceptorLocation
	PrivateData          string         `iso8583:"48"` // see PrivateData
	Currency             string         `iso8583:"49"` // ISO 4217 numeric
	PINBlock             []byte         `iso8583:"52"`
	SecurityControl      []byte         `iso8583:"53"` // DUKPT KSN
	ICCData              []byte         `iso8583:"55"` // BER-TLV
	MAC                  []byte         `iso8583:"64"`
}

// AuthorizationAdvice is the 0120 authorisation advice (0121 repeated):
// the acquirer telling the issuer of an authorisation it gave in the
// issuer's stead. It carries the fields of a reversal advice: DE39 the
// answer given, DE38 its authorisation code, DE90 the original as sent on
// the issuer link (or as it would have been), DE48 the stand-in marker.
// The full PAN is not kept by the acquirer, so DE2 is absent.
type AuthorizationAdvice = ReversalRequest

// AuthorizationAdviceResponse is the 0130 answering an 0120 or 0121;
// NewReversalResponse builds it.
type AuthorizationAdviceResponse = ReversalResponse

// FinancialRequest is the 0200 financial request; it carries the same
// fields as the 0100.
type FinancialRequest = AuthorizationRequest

// AuthorizationResponse is the 0110 authorisation response (and, with MTI
// 0210, the financial response).
type AuthorizationResponse struct {
	MTI                  MTI            `iso8583:"0"`
	PAN                  string         `iso8583:"2"`
	ProcessingCode       ProcessingCode `iso8583:"3"`
	Amount               int64          `iso8583:"4,keepzero"`
	TransmissionDateTime string         `iso8583:"7"`
	STAN                 string         `iso8583:"11"`
	LocalTime            string         `iso8583:"12"`
	LocalDate            string         `iso8583:"13"`
	AcquirerID           string         `iso8583:"32"`
	ForwardingID         string         `iso8583:"33"`
	RRN                  string         `iso8583:"37"`
	AuthCode             string         `iso8583:"38"`
	ResponseCode         ResponseCode   `iso8583:"39"`
	TerminalID           string         `iso8583:"41"`
	MerchantID           string         `iso8583:"42"`
	PrivateData          string         `iso8583:"48"` // decline reason
	Currency             string         `iso8583:"49"`
	AdditionalAmounts    string         `iso8583:"54"` // see Balance
	ICCData              []byte         `iso8583:"55"` // 91 ARPC, 71/72 scripts
	MAC                  []byte         `iso8583:"64"`
}

// FinancialResponse is the 0210 financial response.
type FinancialResponse = AuthorizationResponse

// ReversalRequest is the 0400 reversal request; with MTI 0420 or 0421 it is
// the reversal advice and its repeat. DE90 identifies the original; DE39
// may carry the reason (68 when the response came too late or never).
type ReversalRequest struct {
	MTI                  MTI            `iso8583:"0"`
	PAN                  string         `iso8583:"2"`
	ProcessingCode       ProcessingCode `iso8583:"3"`
	Amount               int64          `iso8583:"4,keepzero"`
	TransmissionDateTime string         `iso8583:"7"`
	STAN                 string         `iso8583:"11"`
	LocalTime            string         `iso8583:"12"`
	LocalDate            string         `iso8583:"13"`
	Expiry               string         `iso8583:"14"`
	MCC                  string         `iso8583:"18"`
	POSEntryMode         POSEntryMode   `iso8583:"22"`
	CardSequenceNumber   string         `iso8583:"23"`
	POSConditionCode     string         `iso8583:"25"`
	AcquirerID           string         `iso8583:"32"`
	ForwardingID         string         `iso8583:"33"`
	RRN                  string         `iso8583:"37"`
	AuthCode             string         `iso8583:"38"`
	ResponseCode         ResponseCode   `iso8583:"39"`
	TerminalID           string         `iso8583:"41"`
	MerchantID           string         `iso8583:"42"`
	CardAcceptor         string         `iso8583:"43"`
	PrivateData          string         `iso8583:"48"`
	Currency             string         `iso8583:"49"`
	ICCData              []byte         `iso8583:"55"`
	OriginalData         string         `iso8583:"90"` // see OriginalData
	MAC                  []byte         `iso8583:"128"`
}

// ReversalAdvice is the 0420 reversal advice (0421 when repeated).
type ReversalAdvice = ReversalRequest

// ReversalResponse is the 0410 reversal response; with MTI 0430 it
// acknowledges a reversal advice.
type ReversalResponse struct {
	MTI                  MTI            `iso8583:"0"`
	PAN                  string         `iso8583:"2"`
	ProcessingCode       ProcessingCode `iso8583:"3"`
	Amount               int64          `iso8583:"4,keepzero"`
	TransmissionDateTime string         `iso8583:"7"`
	STAN                 string         `iso8583:"11"`
	AcquirerID           string         `iso8583:"32"`
	ForwardingID         string         `iso8583:"33"`
	RRN                  string         `iso8583:"37"`
	ResponseCode         ResponseCode   `iso8583:"39"`
	TerminalID           string         `iso8583:"41"`
	MerchantID           string         `iso8583:"42"`
	PrivateData          string         `iso8583:"48"`
	Currency             string         `iso8583:"49"`
	OriginalData         string         `iso8583:"90"`
	MAC                  []byte         `iso8583:"128"`
}

// ReversalAdviceResponse is the 0430 reversal advice response.
type ReversalAdviceResponse = ReversalResponse

// NetworkManagement is the 0800 network management request and its 0810
// response: sign-on, sign-off, echo and key change (DE70). A key change
// carries the new key under the key-encrypting key in the private data
// (PrivateData.KeyUnderKEK, KeyCheckValue).
type NetworkManagement struct {
	MTI                  MTI          `iso8583:"0"`
	TransmissionDateTime string       `iso8583:"7"`
	STAN                 string       `iso8583:"11"`
	AcquirerID           string       `iso8583:"32"`
	ForwardingID         string       `iso8583:"33"`
	ResponseCode         ResponseCode `iso8583:"39"`
	TerminalID           string       `iso8583:"41"`
	MerchantID           string       `iso8583:"42"`
	PrivateData          string       `iso8583:"48"`
	SecurityControl      []byte       `iso8583:"53"`
	NetworkCode          NetworkCode  `iso8583:"70"`
	MAC                  []byte       `iso8583:"128"`
}

// NewAuthorizationResponse starts the answer to req: the 0110 (or 0210)
// with the fields the response echoes (DE2, 3, 4, 7, 11, 12, 13, 32, 33, 37,
// 41, 42, 49) and rc in DE39. The caller adds DE38, DE48 and DE55.
func NewAuthorizationResponse(req *AuthorizationRequest, rc ResponseCode) (*AuthorizationResponse, error) {
	mti, err := req.MTI.Response()
	if err != nil {
		return nil, err
	}
	return &AuthorizationResponse{
		MTI:                  mti,
		PAN:                  req.PAN,
		ProcessingCode:       req.ProcessingCode,
		Amount:               req.Amount,
		TransmissionDateTime: req.TransmissionDateTime,
		STAN:                 req.STAN,
		LocalTime:            req.LocalTime,
		LocalDate:            req.LocalDate,
		AcquirerID:           req.AcquirerID,
		ForwardingID:         req.ForwardingID,
		RRN:                  req.RRN,
		ResponseCode:         rc,
		TerminalID:           req.TerminalID,
		MerchantID:           req.MerchantID,
		Currency:             req.Currency,
	}, nil
}

// NewReversal builds the 0400 reversal of the original request orig, sent
// at now with its own STAN; reason (68 after a timeout, for example) goes
// in DE39 and authCode, if known, in DE38. DE90 identifies the original.
// The card data kept is the PAN (taken from DE2 or from track 2), never
// track 2, the PIN block or the cryptogram.
func NewReversal(orig *AuthorizationRequest, stan string, now time.Time, reason ResponseCode, authCode string) (*ReversalRequest, error) {
	od, err := OriginalData{
		MTI:                  orig.MTI,
		STAN:                 orig.STAN,
		TransmissionDateTime: orig.TransmissionDateTime,
		AcquirerID:           orig.AcquirerID,
		ForwardingID:         orig.ForwardingID,
	}.Encode()
	if err != nil {
		return nil, err
	}
	pan := orig.PAN
	if pan == "" && orig.Track2 != "" {
		if pan, _, _, err = SplitTrack2(orig.Track2); err != nil {
			return nil, err
		}
	}
	return &ReversalRequest{
		MTI:                  MTIReversalRequest,
		PAN:                  pan,
		ProcessingCode:       orig.ProcessingCode,
		Amount:               orig.Amount,
		TransmissionDateTime: TransmissionDateTime(now),
		STAN:                 stan,
		LocalTime:            orig.LocalTime,
		LocalDate:            orig.LocalDate,
		MCC:                  orig.MCC,
		POSEntryMode:         orig.POSEntryMode,
		CardSequenceNumber:   orig.CardSequenceNumber,
		POSConditionCode:     orig.POSConditionCode,
		AcquirerID:           orig.AcquirerID,
		ForwardingID:         orig.ForwardingID,
		RRN:                  orig.RRN,
		AuthCode:             authCode,
		ResponseCode:         reason,
		TerminalID:           orig.TerminalID,
		MerchantID:           orig.MerchantID,
		CardAcceptor:         orig.CardAcceptor,
		Currency:             orig.Currency,
		OriginalData:         od,
	}, nil
}

// Advice returns a copy of r as a reversal advice: 0420, or 0421 when
// repeat is set. The MAC is dropped (compute it again).
func (r ReversalRequest) Advice(repeat bool) *ReversalRequest {
	c := r
	c.MAC = nil
	c.MTI = MTIReversalAdvice
	if repeat {
		c.MTI = MTIReversalAdviceRepeat
	}
	return &c
}

// NewReversalResponse starts the answer to a reversal or reversal advice:
// 0410 or 0430 echoing DE2, 3, 4, 7, 11, 32, 33, 37, 41, 42, 49 and 90, with
// rc in DE39.
func NewReversalResponse(r *ReversalRequest, rc ResponseCode) (*ReversalResponse, error) {
	mti, err := r.MTI.Response()
	if err != nil {
		return nil, err
	}
	return &ReversalResponse{
		MTI:                  mti,
		PAN:                  r.PAN,
		ProcessingCode:       r.ProcessingCode,
		Amount:               r.Amount,
		TransmissionDateTime: r.TransmissionDateTime,
		STAN:                 r.STAN,
		AcquirerID:           r.AcquirerID,
		ForwardingID:         r.ForwardingID,
		RRN:                  r.RRN,
		ResponseCode:         rc,
		TerminalID:           r.TerminalID,
		MerchantID:           r.MerchantID,
		Currency:             r.Currency,
		OriginalData:         r.OriginalData,
	}, nil
}

// NewNetworkManagement builds an 0800 with code in DE70, sent at now with
// stan.
func NewNetworkManagement(code NetworkCode, stan string, now time.Time) *NetworkManagement {
	return &NetworkManagement{
		MTI:                  MTINetworkRequest,
		TransmissionDateTime: TransmissionDateTime(now),
		STAN:                 stan,
		NetworkCode:          code,
	}
}

// Response returns the 0810 answering n with rc: DE7, 11, 32, 33, 41, 42
// and 70 echoed. Private data and DE53 are not echoed.
func (n NetworkManagement) Response(rc ResponseCode) (*NetworkManagement, error) {
	mti, err := n.MTI.Response()
	if err != nil {
		return nil, err
	}
	return &NetworkManagement{
		MTI:                  mti,
		TransmissionDateTime: n.TransmissionDateTime,
		STAN:                 n.STAN,
		AcquirerID:           n.AcquirerID,
		ForwardingID:         n.ForwardingID,
		ResponseCode:         rc,
		TerminalID:           n.TerminalID,
		MerchantID:           n.MerchantID,
		NetworkCode:          n.NetworkCode,
	}, nil
}

// Masked printing of the typed messages: every verb gives the masked text,
// so that no PAN, track 2, PIN block or cryptogram reaches a log through
// fmt or slog. %v and %s give Summary's one line; %+v and %#v give
// Describe's full listing.

func formatMessage(f fmt.State, verb rune, v any) {
	msg := NewMessage()
	if err := msg.Marshal(v); err != nil {
		_, _ = io.WriteString(f, "isospec: unprintable message")
		return
	}
	if verb == 'v' && (f.Flag('+') || f.Flag('#')) {
		_, _ = io.WriteString(f, Describe(msg))
		return
	}
	_, _ = io.WriteString(f, Summary(msg))
}

func logValue(v any) slog.Value {
	msg := NewMessage()
	if err := msg.Marshal(v); err != nil {
		return slog.StringValue("isospec: unprintable message")
	}
	return slog.StringValue(Summary(msg))
}

// Format prints r masked: %v and %s one line, %+v and %#v the full
// listing.
func (r AuthorizationRequest) Format(f fmt.State, verb rune) { formatMessage(f, verb, &r) }

// String returns the masked one-line summary.
func (r AuthorizationRequest) String() string { return fmt.Sprint(r) }

// LogValue logs the masked one-line summary.
func (r AuthorizationRequest) LogValue() slog.Value { return logValue(&r) }

// Format prints r masked: %v and %s one line, %+v and %#v the full
// listing.
func (r AuthorizationResponse) Format(f fmt.State, verb rune) { formatMessage(f, verb, &r) }

// String returns the masked one-line summary.
func (r AuthorizationResponse) String() string { return fmt.Sprint(r) }

// LogValue logs the masked one-line summary.
func (r AuthorizationResponse) LogValue() slog.Value { return logValue(&r) }

// Format prints r masked: %v and %s one line, %+v and %#v the full
// listing.
func (r ReversalRequest) Format(f fmt.State, verb rune) { formatMessage(f, verb, &r) }

// String returns the masked one-line summary.
func (r ReversalRequest) String() string { return fmt.Sprint(r) }

// LogValue logs the masked one-line summary.
func (r ReversalRequest) LogValue() slog.Value { return logValue(&r) }

// Format prints r masked: %v and %s one line, %+v and %#v the full
// listing.
func (r ReversalResponse) Format(f fmt.State, verb rune) { formatMessage(f, verb, &r) }

// String returns the masked one-line summary.
func (r ReversalResponse) String() string { return fmt.Sprint(r) }

// LogValue logs the masked one-line summary.
func (r ReversalResponse) LogValue() slog.Value { return logValue(&r) }

// Format prints n masked: %v and %s one line, %+v and %#v the full
// listing.
func (n NetworkManagement) Format(f fmt.State, verb rune) { formatMessage(f, verb, &n) }

// String returns the masked one-line summary.
func (n NetworkManagement) String() string { return fmt.Sprint(n) }

// LogValue logs the masked one-line summary.
func (n NetworkManagement) LogValue() slog.Value { return logValue(&n) }

// Compile-time checks that the typed messages print masked.
var (
	_ fmt.Formatter  = AuthorizationRequest{}
	_ slog.LogValuer = AuthorizationRequest{}
	_ fmt.Formatter  = AuthorizationResponse{}
	_ fmt.Formatter  = ReversalRequest{}
	_ fmt.Formatter  = ReversalResponse{}
	_ fmt.Formatter  = NetworkManagement{}
)
