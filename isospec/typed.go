package isospec

import (
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// The typed messages are moved in and out of a message on Spec field by
// field, through the library's field API, with the rules of its struct
// Marshal and Unmarshal (which read the iso8583 tags through reflection
// on every call): a zero value leaves its field unset, except the amount
// (keepzero); a []byte is kept, not copied, both ways; a field the message
// lacks leaves the struct's field as it is.

// fieldWriter sets fields of a new message on Spec.
type fieldWriter struct{ msg *iso8583.Message }

func (w fieldWriter) str(id int, v string) {
	if v == "" {
		return
	}
	_ = w.msg.Field(id, "") // creates the field; "" costs no copy
	w.msg.GetField(id).(*field.String).SetValue(v)
}

func (w fieldWriter) bin(id int, v []byte) {
	if v == nil {
		return
	}
	_ = w.msg.BinaryField(id, v)
}

func (w fieldWriter) num(id int, v int64) {
	_ = w.msg.Field(id, "")
	w.msg.GetField(id).(*field.Numeric).SetValue(v)
}

// getStr, getBin and getNum copy field id of msg, a message on Spec, to
// dst when the message has it.
func getStr[T ~string](msg *iso8583.Message, id int, dst *T) {
	if f, ok := msg.GetField(id).(*field.String); ok {
		*dst = T(f.Value())
	}
}

func getBin(msg *iso8583.Message, id int, dst *[]byte) {
	if f, ok := msg.GetField(id).(*field.Binary); ok {
		*dst = f.Value()
	}
}

func getNum(msg *iso8583.Message, id int, dst *int64) {
	if f, ok := msg.GetField(id).(*field.Numeric); ok {
		*dst = f.Value()
	}
}

// typed returns v as a non-nil *T: v is a *T or a T (copied).
func typed[T any](v any) (*T, bool) {
	switch r := v.(type) {
	case *T:
		return r, r != nil
	case T:
		return &r, true
	}
	return nil, false
}

// encodeTyped sets the fields of v, a typed message of the package or a
// pointer to one, in msg, a new message on Spec. It returns false for any
// other v.
func encodeTyped(msg *iso8583.Message, v any) bool {
	w := fieldWriter{msg}
	if r, ok := typed[AuthorizationRequest](v); ok {
		w.authorizationRequest(r)
	} else if r, ok := typed[AuthorizationResponse](v); ok {
		w.authorizationResponse(r)
	} else if r, ok := typed[ReversalRequest](v); ok {
		w.reversalRequest(r)
	} else if r, ok := typed[ReversalResponse](v); ok {
		w.reversalResponse(r)
	} else if r, ok := typed[NetworkManagement](v); ok {
		w.networkManagement(r)
	} else {
		return false
	}
	return true
}

// decodeTyped copies the fields of msg, a message on Spec, into v, a
// non-nil pointer to a typed message of the package. It returns false for
// any other v.
func decodeTyped(msg *iso8583.Message, v any) bool {
	switch r := v.(type) {
	case *AuthorizationRequest:
		if r != nil {
			decodeAuthorizationRequest(msg, r)
			return true
		}
	case *AuthorizationResponse:
		if r != nil {
			decodeAuthorizationResponse(msg, r)
			return true
		}
	case *ReversalRequest:
		if r != nil {
			decodeReversalRequest(msg, r)
			return true
		}
	case *ReversalResponse:
		if r != nil {
			decodeReversalResponse(msg, r)
			return true
		}
	case *NetworkManagement:
		if r != nil {
			decodeNetworkManagement(msg, r)
			return true
		}
	}
	return false
}

// The functions below follow the struct definitions in messages.go field
// for field, in order; TestTypedFieldsMatchTags checks them against the
// tags.

func (w fieldWriter) authorizationRequest(r *AuthorizationRequest) {
	w.str(0, string(r.MTI))
	w.str(FieldPAN, r.PAN)
	w.str(FieldProcessingCode, string(r.ProcessingCode))
	w.num(FieldAmount, r.Amount)
	w.str(FieldTransmissionDateTime, r.TransmissionDateTime)
	w.str(FieldSTAN, r.STAN)
	w.str(FieldLocalTime, r.LocalTime)
	w.str(FieldLocalDate, r.LocalDate)
	w.str(FieldExpiry, r.Expiry)
	w.str(FieldMCC, r.MCC)
	w.str(FieldPOSEntryMode, string(r.POSEntryMode))
	w.str(FieldCardSequenceNumber, r.CardSequenceNumber)
	w.str(FieldPOSConditionCode, r.POSConditionCode)
	w.str(FieldAcquirerID, r.AcquirerID)
	w.str(FieldForwardingID, r.ForwardingID)
	w.str(FieldTrack2, r.Track2)
	w.str(FieldRRN, r.RRN)
	w.str(FieldTerminalID, r.TerminalID)
	w.str(FieldMerchantID, r.MerchantID)
	w.str(FieldCardAcceptor, r.CardAcceptor)
	w.str(FieldPrivateData, r.PrivateData)
	w.str(FieldCurrency, r.Currency)
	w.bin(FieldPINBlock, r.PINBlock)
	w.bin(FieldSecurityControl, r.SecurityControl)
	w.bin(FieldICCData, r.ICCData)
	w.bin(FieldMAC, r.MAC)
}

func decodeAuthorizationRequest(msg *iso8583.Message, r *AuthorizationRequest) {
	getStr(msg, 0, &r.MTI)
	getStr(msg, FieldPAN, &r.PAN)
	getStr(msg, FieldProcessingCode, &r.ProcessingCode)
	getNum(msg, FieldAmount, &r.Amount)
	getStr(msg, FieldTransmissionDateTime, &r.TransmissionDateTime)
	getStr(msg, FieldSTAN, &r.STAN)
	getStr(msg, FieldLocalTime, &r.LocalTime)
	getStr(msg, FieldLocalDate, &r.LocalDate)
	getStr(msg, FieldExpiry, &r.Expiry)
	getStr(msg, FieldMCC, &r.MCC)
	getStr(msg, FieldPOSEntryMode, &r.POSEntryMode)
	getStr(msg, FieldCardSequenceNumber, &r.CardSequenceNumber)
	getStr(msg, FieldPOSConditionCode, &r.POSConditionCode)
	getStr(msg, FieldAcquirerID, &r.AcquirerID)
	getStr(msg, FieldForwardingID, &r.ForwardingID)
	getStr(msg, FieldTrack2, &r.Track2)
	getStr(msg, FieldRRN, &r.RRN)
	getStr(msg, FieldTerminalID, &r.TerminalID)
	getStr(msg, FieldMerchantID, &r.MerchantID)
	getStr(msg, FieldCardAcceptor, &r.CardAcceptor)
	getStr(msg, FieldPrivateData, &r.PrivateData)
	getStr(msg, FieldCurrency, &r.Currency)
	getBin(msg, FieldPINBlock, &r.PINBlock)
	getBin(msg, FieldSecurityControl, &r.SecurityControl)
	getBin(msg, FieldICCData, &r.ICCData)
	getBin(msg, FieldMAC, &r.MAC)
}

func (w fieldWriter) authorizationResponse(r *AuthorizationResponse) {
	w.str(0, string(r.MTI))
	w.str(FieldPAN, r.PAN)
	w.str(FieldProcessingCode, string(r.ProcessingCode))
	w.num(FieldAmount, r.Amount)
	w.str(FieldTransmissionDateTime, r.TransmissionDateTime)
	w.str(FieldSTAN, r.STAN)
	w.str(FieldLocalTime, r.LocalTime)
	w.str(FieldLocalDate, r.LocalDate)
	w.str(FieldAcquirerID, r.AcquirerID)
	w.str(FieldForwardingID, r.ForwardingID)
	w.str(FieldRRN, r.RRN)
	w.str(FieldAuthCode, r.AuthCode)
	w.str(FieldResponseCode, string(r.ResponseCode))
	w.str(FieldTerminalID, r.TerminalID)
	w.str(FieldMerchantID, r.MerchantID)
	w.str(FieldPrivateData, r.PrivateData)
	w.str(FieldCurrency, r.Currency)
	w.str(FieldAdditionalAmounts, r.AdditionalAmounts)
	w.bin(FieldICCData, r.ICCData)
	w.bin(FieldMAC, r.MAC)
}

func decodeAuthorizationResponse(msg *iso8583.Message, r *AuthorizationResponse) {
	getStr(msg, 0, &r.MTI)
	getStr(msg, FieldPAN, &r.PAN)
	getStr(msg, FieldProcessingCode, &r.ProcessingCode)
	getNum(msg, FieldAmount, &r.Amount)
	getStr(msg, FieldTransmissionDateTime, &r.TransmissionDateTime)
	getStr(msg, FieldSTAN, &r.STAN)
	getStr(msg, FieldLocalTime, &r.LocalTime)
	getStr(msg, FieldLocalDate, &r.LocalDate)
	getStr(msg, FieldAcquirerID, &r.AcquirerID)
	getStr(msg, FieldForwardingID, &r.ForwardingID)
	getStr(msg, FieldRRN, &r.RRN)
	getStr(msg, FieldAuthCode, &r.AuthCode)
	getStr(msg, FieldResponseCode, &r.ResponseCode)
	getStr(msg, FieldTerminalID, &r.TerminalID)
	getStr(msg, FieldMerchantID, &r.MerchantID)
	getStr(msg, FieldPrivateData, &r.PrivateData)
	getStr(msg, FieldCurrency, &r.Currency)
	getStr(msg, FieldAdditionalAmounts, &r.AdditionalAmounts)
	getBin(msg, FieldICCData, &r.ICCData)
	getBin(msg, FieldMAC, &r.MAC)
}

func (w fieldWriter) reversalRequest(r *ReversalRequest) {
	w.str(0, string(r.MTI))
	w.str(FieldPAN, r.PAN)
	w.str(FieldProcessingCode, string(r.ProcessingCode))
	w.num(FieldAmount, r.Amount)
	w.str(FieldTransmissionDateTime, r.TransmissionDateTime)
	w.str(FieldSTAN, r.STAN)
	w.str(FieldLocalTime, r.LocalTime)
	w.str(FieldLocalDate, r.LocalDate)
	w.str(FieldExpiry, r.Expiry)
	w.str(FieldMCC, r.MCC)
	w.str(FieldPOSEntryMode, string(r.POSEntryMode))
	w.str(FieldCardSequenceNumber, r.CardSequenceNumber)
	w.str(FieldPOSConditionCode, r.POSConditionCode)
	w.str(FieldAcquirerID, r.AcquirerID)
	w.str(FieldForwardingID, r.ForwardingID)
	w.str(FieldRRN, r.RRN)
	w.str(FieldAuthCode, r.AuthCode)
	w.str(FieldResponseCode, string(r.ResponseCode))
	w.str(FieldTerminalID, r.TerminalID)
	w.str(FieldMerchantID, r.MerchantID)
	w.str(FieldCardAcceptor, r.CardAcceptor)
	w.str(FieldPrivateData, r.PrivateData)
	w.str(FieldCurrency, r.Currency)
	w.bin(FieldICCData, r.ICCData)
	w.str(FieldOriginalData, r.OriginalData)
	w.bin(FieldMAC2, r.MAC)
}

func decodeReversalRequest(msg *iso8583.Message, r *ReversalRequest) {
	getStr(msg, 0, &r.MTI)
	getStr(msg, FieldPAN, &r.PAN)
	getStr(msg, FieldProcessingCode, &r.ProcessingCode)
	getNum(msg, FieldAmount, &r.Amount)
	getStr(msg, FieldTransmissionDateTime, &r.TransmissionDateTime)
	getStr(msg, FieldSTAN, &r.STAN)
	getStr(msg, FieldLocalTime, &r.LocalTime)
	getStr(msg, FieldLocalDate, &r.LocalDate)
	getStr(msg, FieldExpiry, &r.Expiry)
	getStr(msg, FieldMCC, &r.MCC)
	getStr(msg, FieldPOSEntryMode, &r.POSEntryMode)
	getStr(msg, FieldCardSequenceNumber, &r.CardSequenceNumber)
	getStr(msg, FieldPOSConditionCode, &r.POSConditionCode)
	getStr(msg, FieldAcquirerID, &r.AcquirerID)
	getStr(msg, FieldForwardingID, &r.ForwardingID)
	getStr(msg, FieldRRN, &r.RRN)
	getStr(msg, FieldAuthCode, &r.AuthCode)
	getStr(msg, FieldResponseCode, &r.ResponseCode)
	getStr(msg, FieldTerminalID, &r.TerminalID)
	getStr(msg, FieldMerchantID, &r.MerchantID)
	getStr(msg, FieldCardAcceptor, &r.CardAcceptor)
	getStr(msg, FieldPrivateData, &r.PrivateData)
	getStr(msg, FieldCurrency, &r.Currency)
	getBin(msg, FieldICCData, &r.ICCData)
	getStr(msg, FieldOriginalData, &r.OriginalData)
	getBin(msg, FieldMAC2, &r.MAC)
}

func (w fieldWriter) reversalResponse(r *ReversalResponse) {
	w.str(0, string(r.MTI))
	w.str(FieldPAN, r.PAN)
	w.str(FieldProcessingCode, string(r.ProcessingCode))
	w.num(FieldAmount, r.Amount)
	w.str(FieldTransmissionDateTime, r.TransmissionDateTime)
	w.str(FieldSTAN, r.STAN)
	w.str(FieldAcquirerID, r.AcquirerID)
	w.str(FieldForwardingID, r.ForwardingID)
	w.str(FieldRRN, r.RRN)
	w.str(FieldResponseCode, string(r.ResponseCode))
	w.str(FieldTerminalID, r.TerminalID)
	w.str(FieldMerchantID, r.MerchantID)
	w.str(FieldPrivateData, r.PrivateData)
	w.str(FieldCurrency, r.Currency)
	w.str(FieldOriginalData, r.OriginalData)
	w.bin(FieldMAC2, r.MAC)
}

func decodeReversalResponse(msg *iso8583.Message, r *ReversalResponse) {
	getStr(msg, 0, &r.MTI)
	getStr(msg, FieldPAN, &r.PAN)
	getStr(msg, FieldProcessingCode, &r.ProcessingCode)
	getNum(msg, FieldAmount, &r.Amount)
	getStr(msg, FieldTransmissionDateTime, &r.TransmissionDateTime)
	getStr(msg, FieldSTAN, &r.STAN)
	getStr(msg, FieldAcquirerID, &r.AcquirerID)
	getStr(msg, FieldForwardingID, &r.ForwardingID)
	getStr(msg, FieldRRN, &r.RRN)
	getStr(msg, FieldResponseCode, &r.ResponseCode)
	getStr(msg, FieldTerminalID, &r.TerminalID)
	getStr(msg, FieldMerchantID, &r.MerchantID)
	getStr(msg, FieldPrivateData, &r.PrivateData)
	getStr(msg, FieldCurrency, &r.Currency)
	getStr(msg, FieldOriginalData, &r.OriginalData)
	getBin(msg, FieldMAC2, &r.MAC)
}

func (w fieldWriter) networkManagement(r *NetworkManagement) {
	w.str(0, string(r.MTI))
	w.str(FieldTransmissionDateTime, r.TransmissionDateTime)
	w.str(FieldSTAN, r.STAN)
	w.str(FieldAcquirerID, r.AcquirerID)
	w.str(FieldForwardingID, r.ForwardingID)
	w.str(FieldResponseCode, string(r.ResponseCode))
	w.str(FieldTerminalID, r.TerminalID)
	w.str(FieldMerchantID, r.MerchantID)
	w.str(FieldPrivateData, r.PrivateData)
	w.bin(FieldSecurityControl, r.SecurityControl)
	w.str(FieldNetworkCode, string(r.NetworkCode))
	w.bin(FieldMAC2, r.MAC)
}

func decodeNetworkManagement(msg *iso8583.Message, r *NetworkManagement) {
	getStr(msg, 0, &r.MTI)
	getStr(msg, FieldTransmissionDateTime, &r.TransmissionDateTime)
	getStr(msg, FieldSTAN, &r.STAN)
	getStr(msg, FieldAcquirerID, &r.AcquirerID)
	getStr(msg, FieldForwardingID, &r.ForwardingID)
	getStr(msg, FieldResponseCode, &r.ResponseCode)
	getStr(msg, FieldTerminalID, &r.TerminalID)
	getStr(msg, FieldMerchantID, &r.MerchantID)
	getStr(msg, FieldPrivateData, &r.PrivateData)
	getBin(msg, FieldSecurityControl, &r.SecurityControl)
	getStr(msg, FieldNetworkCode, &r.NetworkCode)
	getBin(msg, FieldMAC2, &r.MAC)
}
