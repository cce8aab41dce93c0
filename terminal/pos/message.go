package pos

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/receipt"
)

// errCardData reports a data record the terminal cannot build a request
// from. Its messages never quote the data.
var errCardData = errors.New("pos: card data")

// cardData is what the request needs from the data record.
type cardData struct {
	pan    string
	track2 string // DE35 form, "" when the card gave no track 2
	expiry string // YYMM
	psn    string // 3 digits, "" when absent
}

// cardDataOf reads the PAN (5A, else track 2), track 2 (57), the expiry
// date (5F24, else track 2) and the PAN sequence number (5F34).
func cardDataOf(o kernel.Outcome) (cardData, error) {
	var cd cardData
	t2 := o.Record(0x57)
	if o.MagStripe {
		// A C-2 mag-stripe mode transaction: the track the kernel filled
		// with the CVC3 and its numbers is the card data.
		t2 = o.Record(0x9F6B)
	}
	if len(t2) > 0 {
		s, err := isospec.Track2FromEMV(t2)
		if err != nil {
			return cd, fmt.Errorf("%w: track 2 equivalent data malformed", errCardData)
		}
		cd.track2 = s
		p, exp, _, _ := isospec.SplitTrack2(s)
		cd.pan, cd.expiry = p, exp
	}
	if p := o.Record(0x5A); len(p) > 0 {
		s := strings.TrimRight(strings.ToUpper(hex.EncodeToString(p)), "F")
		if s == "" || strings.Trim(s, "0123456789") != "" || len(s) < 8 || len(s) > 19 {
			return cd, fmt.Errorf("%w: PAN malformed", errCardData)
		}
		if cd.track2 != "" && s != cd.pan {
			return cd, fmt.Errorf("%w: PAN and track 2 name different accounts", errCardData)
		}
		cd.pan = s
	}
	if cd.pan == "" {
		return cd, fmt.Errorf("%w: no PAN", errCardData)
	}
	if e := o.Record(0x5F24); len(e) == 3 {
		if _, ok := kernel.DateInt(e); ok {
			cd.expiry = fmt.Sprintf("%02X%02X", e[0], e[1])
		}
	}
	if s := o.Record(0x5F34); len(s) == 1 {
		if v, ok := kernel.ParseN(s); ok {
			cd.psn = fmt.Sprintf("%03d", v)
		}
	}
	return cd, nil
}

// cardOnlyTags are data-record tags that go in their own fields (2, 14, 35)
// or nowhere (the cardholder name, track 1): field 55 does not repeat them.
var cardOnlyTags = map[tlv.Tag]bool{
	0x57: true, 0x5A: true, 0x5F24: true, 0x5F20: true, 0x56: true, 0x9F6B: true, 0x9F1F: true,
}

// ICCData builds field 55 from a kernel data record: every data-record tag
// as BER-TLV, in the record's order, but the card data that has its own
// field (PAN, track 2, expiry) or none (cardholder name, track 1).
func ICCData(record tlv.List) ([]byte, error) {
	l := make(tlv.List, 0, len(record))
	for _, d := range record {
		if !cardOnlyTags[d.Tag] {
			l = append(l, tlv.TLV{Tag: d.Tag, Value: d.Value})
		}
	}
	if len(l) == 0 {
		return nil, fmt.Errorf("%w: no chip data for field 55", errCardData)
	}
	return l.Encode()
}

// processingCode is field 3 for the kind.
func processingCode(kind Kind) isospec.ProcessingCode {
	if kind == KindRefund {
		return isospec.ProcRefund
	}
	return isospec.ProcPurchase
}

// buildRequest builds the 0100 of a card transaction.
func (t *Terminal) buildRequest(kind Kind, amount int64, o kernel.Outcome, cd cardData, block pinpad.Block, now time.Time) (*isospec.AuthorizationRequest, error) {
	icc, err := ICCData(o.DataRecord)
	if err != nil {
		return nil, err
	}
	entry := isospec.ContactlessEntry(true)
	if o.MagStripe {
		// Contactless mag-stripe mode: entry mode 91, the track in field
		// 35 carries the CVC3; there is no chip data for field 55.
		entry = isospec.POSEntryMode(isospec.PANEntryContactlessMagstripe + string(rune(isospec.PINCapable)))
		icc = nil
	}
	stan := isospec.FormatSTAN(t.o.STAN.NextSTAN())
	rrn, err := isospec.NewRRN(now, stan)
	if err != nil {
		return nil, err
	}
	acceptor, err := isospec.CardAcceptorLocation{Name: t.cfg.MerchantName, City: t.cfg.MerchantCity, Country: t.cfg.MerchantCountry}.Encode()
	if err != nil {
		return nil, err
	}
	req := &isospec.AuthorizationRequest{
		MTI:                  isospec.MTIAuthorizationRequest,
		PAN:                  cd.pan,
		ProcessingCode:       processingCode(kind),
		Amount:               amount,
		TransmissionDateTime: isospec.TransmissionDateTime(now),
		STAN:                 stan,
		LocalTime:            isospec.LocalTime(now),
		LocalDate:            isospec.LocalDate(now),
		Expiry:               cd.expiry,
		POSEntryMode:         entry,
		CardSequenceNumber:   cd.psn,
		POSConditionCode:     isospec.POSConditionNormal,
		AcquirerID:           t.cfg.AcquirerID,
		Track2:               cd.track2,
		RRN:                  rrn,
		TerminalID:           t.cfg.TerminalID,
		MerchantID:           t.cfg.MerchantID,
		CardAcceptor:         acceptor,
		Currency:             fmt.Sprintf("%03d", int(t.cfg.Kernel.Currency)),
		ICCData:              icc,
	}
	if mcc := t.cfg.Kernel.MerchantCategoryCode; len(mcc) == 2 {
		req.MCC = fmt.Sprintf("%02X%02X", mcc[0], mcc[1])
	}
	if !block.IsZero() {
		req.PINBlock = block.PINBlock()
		req.SecurityControl = block.KSN().Bytes()
	}
	pd := isospec.PrivateData{CDCVM: o.CVM == kernel.CVMConfirmationCode}
	if trid := o.Record(0x9F19); len(trid) == 6 {
		if v, ok := kernel.ParseN(trid); ok && v < 1e11 {
			pd.TokenRequestorID = fmt.Sprintf("%011d", v)
		}
	}
	if s, err := pd.Encode(); err == nil {
		req.PrivateData = s
	}
	return req, nil
}

// issuerUpdateOf reads tag 91 and the script templates 71 and 72 from the
// response's field 55. Malformed data gives what could be read.
func issuerUpdateOf(icc []byte) IssuerUpdate {
	var u IssuerUpdate
	if len(icc) == 0 {
		return u
	}
	l, err := tlv.Decode(icc)
	if err != nil {
		return u
	}
	for _, d := range l {
		switch d.Tag {
		case 0x91:
			u.AuthenticationData = append([]byte(nil), d.Value...)
		case 0x71, 0x72:
			if b, err := (tlv.TLV{Tag: d.Tag, Value: d.Value}).Encode(); err == nil {
				u.Scripts = append(u.Scripts, b)
			}
		}
	}
	return u
}

// receiptCVM maps the kernel's CVM to the receipt's verification line.
func receiptCVM(res *Result) receipt.CVM {
	switch res.Outcome.CVM {
	case kernel.CVMConfirmationCode:
		return receipt.CVMDevice
	case kernel.CVMSignature:
		return receipt.CVMSignature
	case kernel.CVMOnlinePIN:
		if res.PINEntered {
			return receipt.CVMPIN
		}
	}
	return receipt.CVMNone
}

// receipt prints the customer copy of a card transaction.
func (t *Terminal) receipt(res *Result, now time.Time) string {
	o := res.Outcome
	kind := receipt.Sale
	if res.Kind == KindRefund {
		kind = receipt.Refund
	}
	d := receipt.Data{
		Merchant:       t.merchantLine(),
		MerchantID:     t.cfg.MerchantID,
		TerminalID:     t.cfg.TerminalID,
		Time:           now,
		Kind:           kind,
		Amount:         res.Amount,
		ApprovedAmount: res.ApprovedAmount,
		Balance:        res.Balance,
		Currency:       int(t.cfg.Kernel.Currency),
		Exponent:       t.cfg.Kernel.CurrencyExponent,
		Label:          o.Label,
		AID:            o.AID,
		Cryptogram:     o.Record(0x9F26),
		ATC:            o.Record(0x9F36),
		TVR:            o.TVR[:],
		STAN:           res.STAN,
		RRN:            res.RRN,
		AuthCode:       res.AuthCode,
		Approved:       res.Status == StatusApproved,
		ResponseCode:   string(res.ResponseCode),
		ResponseText:   res.ResponseMeaning(),
		CVM:            receiptCVM(res),
		Notes:          notesFor(res),
	}
	if cd, err := cardDataOf(o); err == nil {
		d.PAN = cd.pan
	}
	if cid := o.Record(0x9F27); len(cid) == 1 {
		d.CryptogramType = receipt.CryptogramType(cid[0])
	}
	return receipt.Render(d)
}

// merchantLine is the receipt's heading: the merchant's name and city.
func (t *Terminal) merchantLine() string {
	return strings.TrimSpace(t.cfg.MerchantName + " " + t.cfg.MerchantCity)
}
