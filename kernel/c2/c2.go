// Package c2 is a contactless kernel modelled on EMV Contactless Book C-2
// (Kernel 2, the Mastercard-like M/Chip path), EMV mode:
//
//   - GET PROCESSING OPTIONS (with the PDOL related data, the Mobile Support
//     Indicator among them when the card asks) returning the AIP and AFL;
//   - READ RECORD of every record the AFL names, the records it marks for
//     offline data authentication collected as EMV Book 3 section 10.3 says;
//   - the Reader Contactless Transaction Limit of the card's kind: DF8125 for
//     a card (phone) whose AIP announces on-device cardholder verification
//     when the kernel supports it, DF8124 otherwise; an amount above it gives
//     Select Next;
//   - processing restrictions (application version, effective and expiry
//     dates, Application Usage Control), CVM selection (on-device CVM for
//     phones above the Reader CVM Required Limit, else the CVM List of Book 3
//     section 10.5 with the terminal's CVM capability for the amount), the
//     floor limit, and Terminal Action Analysis with the TACs and IACs;
//   - GENERATE AC for the cryptogram Terminal Action Analysis chose, asking
//     for a CDA signature when the card and the reader support CDA, and the
//     CDA verification of the response; a card with on-device CVM (AIP and
//     Kernel Configuration) is asked for an AAC when the ODA Status is not
//     CDA or CDA failed before GENERATE AC (GAC.20-23);
//   - the POS Cardholder Interaction Information (DF4B) of a phone that
//     declined: when it asks the holder to act on the phone (mask 00030F),
//     the outcome is End Application with Start B and the Phone Message
//     Table's message ("See Phone"), so the holder verifies on the phone and
//     taps again.
//
// Limits are compared as Book C-2 does: exceeded when the amount is greater
// than the limit.
//
// Choices where Book C-2 is not followed to the letter, each documented where
// it is made: the Mobile Support Indicator (9F7E) is sent as '01' (mobile
// supported) with b2 ("OD-CVM required") set when the kernel supports
// on-device CVM and the amount is above the Reader CVM Required Limit; a CDA
// signature that fails verification ends the transaction (End Application,
// CDA failed in the TVR); a refund asks for an AAC and ends with End
// Application and the data record; data storage follows this model's
// reading of the book (startIDS, the summaries' check in verifyCDA), and
// of data exchange only Data Needed for the PDOL before GET PROCESSING
// OPTIONS, the Tags To Read after the records (a DEK with Data To Send, the
// terminal's DET with terminal data and Tags To Write) and the Tags To
// Write Before and After Gen AC (PUT DATA, DF810F and DF810E) are.
//
// Torn transactions: when the reader keeps a torn log (Config.TornLog) and
// the card has a DRDOL (9F51), a GENERATE AC whose response is lost is
// recorded (PAN, PSN, the CDOL1 and DRDOL values, the command's reference
// control parameter), at most MaxTornRecords (DF811D) for MaxTornLifetime
// (DF811C). At the same card's next presentation the kernel sends RECOVER
// AC with the record's DRDOL related data before any GENERATE AC; the
// recovered response is processed with the torn transaction's data (TVR,
// CVM Results, CDOL1 for the CDA hash). A card that cannot recover answers
// an error and gets a new GENERATE AC.
//
// Balance reading: with BalanceReadBefore or BalanceReadAfter in the
// combination and a card whose Application Capabilities Information (9F5D)
// supports it, GET DATA of the Offline Accumulator Balance (9F50) just before
// and just after GENERATE AC; the balances are DF8104 and DF8105 in the
// outcome's discretionary data.
//
// # Relay resistance
//
// When the Kernel Configuration (DF811B b5) and the AIP (byte 2 b1) both
// support the Relay Resistance Protocol, the kernel sends EXCHANGE RELAY
// RESISTANCE DATA after GET PROCESSING OPTIONS with the Unpredictable
// Number as Terminal Relay Resistance Entropy (DF8301) and times the
// exchange with Config.Stopwatch. The card answers template 80 with its
// entropy (DF8302), its minimum and maximum processing times (DF8303,
// DF8304) and its estimated R-APDU transmission time (DF8305), in units of
// 100 microseconds. The measured processing time (DF8306) is the exchange's
// duration less the expected C-APDU transmission time (DF8134) and the
// smaller of the card's and the reader's R-APDU transmission times (DF8305,
// DF8135). Below the card's minimum less the minimum grace period (DF8132)
// the card cannot be genuine: End Application, card data error. Above its
// maximum plus the maximum grace period (DF8133) the exchange is tried again
// with a new Unpredictable Number, twice at most; then 'relay resistance time
// limits exceeded' is set in the TVR. 'Relay resistance threshold exceeded'
// is set when the measured time exceeds the minimum by more than the
// accuracy threshold (DF8136), or when either transmission time is below the
// mismatch threshold (DF8137, percent) of the other. 'Relay resistance
// protocol performed' is set in the TVR (byte 5 b2-b1 = 10); Terminal Action
// Analysis then weighs the bits like any other. A CDA signature must then
// cover the relay resistance data (terminal and device entropies, the three
// times) after the Transaction Data Hash Code, else CDA fails.
package c2

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/datastorage"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
)

// ID is the Kernel ID of C-2.
const ID byte = 2

// Bits the kernel reads.
const (
	aip1ODCVM      = 0x02 // AIP byte 1 b2: on-device cardholder verification supported
	aip1CVM        = 0x10 // AIP byte 1 b5: cardholder verification supported
	aip1CDA        = 0x01 // AIP byte 1 b1: CDA supported
	aip2EMV        = 0x80 // AIP byte 2 b8: EMV mode supported
	kcMSNotSupp    = 0x80 // Kernel Configuration b8: mag-stripe mode not supported
	kcEMVNotSupp   = 0x40 // Kernel Configuration b7: EMV mode not supported
	kcODCVM        = 0x20 // Kernel Configuration b6: on-device cardholder verification supported
	kcRRP          = 0x10 // Kernel Configuration b5: relay resistance protocol supported
	aip2RRP        = 0x01 // AIP byte 2 b1: relay resistance protocol supported
	sec3CDA        = 0x08 // Terminal Capabilities byte 3 b4: CDA
	msiMobile      = 0x01 // Mobile Support Indicator b1
	msiODCVMReq    = 0x02 // Mobile Support Indicator b2: OD-CVM required
	pcii2ndTapMask = 0x00030F
)

// Kernel is the C-2 kernel. The zero value is ready to use.
type Kernel struct{}

// New returns the C-2 kernel.
func New() *Kernel { return &Kernel{} }

// ID returns 2.
func (*Kernel) ID() byte { return ID }

// acType is a cryptogram type as GENERATE AC P1 codes it.
type acType byte

const (
	acAAC  acType = acType(apdu.AAC)
	acTC   acType = acType(apdu.TC)
	acARQC acType = acType(apdu.ARQC)
)

// run is one activation.
type run struct {
	a       *kernel.Activation
	cb      *kernel.Combination
	term    tlv.Map
	card    tlv.Map
	fci     kernel.FCI
	static  kernel.StaticData
	tvr     kernel.TVR
	cvmRes  [3]byte
	cvm     kernel.CVM
	receipt bool
	cda     bool // ODA status: CDA
	ac      acType
	odaRes  kernel.ODAResult
	pdol    []byte
	cdol1   []byte
	limit   *int64
	kc      byte
	amount  int64
	ms      bool // mag-stripe mode
	// dataToSend is the Data To Send of the data exchange.
	dataToSend tlv.List
	// writeBefore and writeAfter are the Tags To Write Before and After
	// Gen AC: the combination's, then the DET's.
	writeBefore, writeAfter tlv.List
	// ids is true when the kernel reads the card's Integrated Data
	// Storage; idsMissing when the CDA signature lacks the DS summaries it
	// should carry; idsMismatch when the signed DS Summary 2 differs from the
	// DS Summary 1 read.
	ids, idsMissing, idsMismatch bool
	// idsWrite is true when the kernel also writes the data storage with
	// GENERATE AC (DSDOL related data dsdolData); idsWritten when the DS
	// Summary 3 shows the write.
	idsWrite, idsWritten bool
	dsdolData            []byte
	// recovered is set when RECOVER AC answered a torn transaction's
	// GENERATE AC; tornPDOL is that transaction's PDOL related data.
	recovered bool
	tornPDOL  []byte
}

// Activate runs Kernel 2 on the selected application.
func (k *Kernel) Activate(ctx context.Context, a *kernel.Activation) (kernel.Outcome, error) {
	r := &run{a: a, cb: a.Combination, term: a.TerminalData(), card: tlv.Map{}, amount: a.Transaction.Amount}
	if r.cb == nil {
		return kernel.Outcome{}, fmt.Errorf("%w: activation without a combination", kernel.ErrConfig)
	}
	return r.process()
}

func (r *run) process() (kernel.Outcome, error) {
	a := r.a
	fci, err := kernel.ParseFCI(a.FCI)
	if err != nil {
		return r.endApplication(kernel.L2ParsingError, "FCI: "+err.Error()), nil
	}
	r.fci = fci
	// S1.7: the DF Name is required.
	if len(fci.DFName) == 0 {
		return kernel.Outcome{Type: kernel.SelectNext, Start: kernel.StartC, KernelID: ID,
			Error: kernel.L2CardDataMissing, Reason: "FCI has no DF Name (84)"}, nil
	}
	for tag, v := range fci.Data {
		r.card[tag] = v
	}
	r.kc = r.cb.KernelConfiguration.ByteOr(0x00)
	// The configuration's Tags To Write (checked when it was loaded); a
	// DET may add to them.
	r.writeBefore, _ = kernel.TagsToWrite(r.cb.TagsToWriteBeforeGenAC)
	r.writeAfter, _ = kernel.TagsToWrite(r.cb.TagsToWriteAfterGenAC)

	// S1.9: initial terminal data. Terminal Capabilities byte 1 is the
	// Card Data Input Capability, byte 2 is set after reading, byte 3 is
	// the Security Capability.
	caps := append([]byte(nil), a.Config.Capabilities...)
	if len(caps) != 3 {
		caps = []byte{0, 0, 0}
	}
	caps[0] = r.cb.CardDataInputCapability.ByteOr(caps[0])
	caps[1] = 0
	caps[2] = r.cb.SecurityCapability.ByteOr(caps[2])
	r.term[0x9F33] = caps
	r.term[0x9F34] = r.cvmRes[:]
	r.term[0x95] = r.tvr[:]
	// Mobile Support Indicator: mobile supported, and OD-CVM required when
	// the kernel supports on-device CVM and the amount needs a CVM.
	msi := byte(msiMobile)
	if r.kc&kcODCVM != 0 && r.cvmRequired() {
		msi |= msiODCVMReq
	}
	r.term[0x9F7E] = []byte{msi}
	// The DS Requested Operator ID goes to a card whose PDOL asks for it:
	// the card opens its data storage to that operator only.
	if len(r.cb.DSRequestedOperatorID) == 8 {
		r.term[0x9F5C] = append([]byte(nil), r.cb.DSRequestedOperatorID...)
	}

	// Data Needed before GET PROCESSING OPTIONS: PDOL tags the kernel has
	// no value for are sent to the terminal in a DEK; the DET's terminal
	// data fill them (a tag still missing is zero-filled, as any DOL).
	if !r.pdolDataNeeded(fci.PDOL) {
		return r.timeOut("the DET with the PDOL's Data Needed did not come"), nil
	}

	// S1.13: GET PROCESSING OPTIONS.
	r.pdol = tlv.BuildDOLFor(tlv.Kernel2, fci.PDOL, r.term.Lookup)
	resp, err := a.Card.Send(apdu.GPO(r.pdol))
	if err != nil {
		if !kernel.IsCommunicationError(err) {
			return kernel.Outcome{}, err
		}
		// S3.5: Try Again.
		return kernel.Outcome{Type: kernel.TryAgain, Start: kernel.StartB, CVM: kernel.CVMNA, KernelID: ID,
			UIOnRestart: &kernel.UIRequest{Message: kernel.MsgPresentCardAgain, Status: kernel.StatusReadyToRead},
			Error:       kernel.L2CommunicationError, Reason: "communication error: " + err.Error()}, nil
	}
	if !resp.OK() {
		// S3.9: Select Next.
		return kernel.Outcome{Type: kernel.SelectNext, Start: kernel.StartC, KernelID: ID, AID: fci.DFName,
			Error: kernel.L2StatusBytes, SW: resp.SW, Reason: "GET PROCESSING OPTIONS: " + apdu.Describe(resp.SW)}, nil
	}
	if o, bad := r.parseGPO(resp.Data); bad {
		return o, nil
	}
	aip := r.card[0x82]
	// S3.15, S3.16: EMV mode when the card and the kernel support it, else
	// mag-stripe mode when the kernel does.
	if r.kc&kcEMVNotSupp != 0 || aip[1]&aip2EMV == 0 {
		if r.kc&kcMSNotSupp != 0 {
			return r.endApplication(kernel.L2CardDataError, "the card does not support EMV mode and the kernel does not support mag-stripe mode"), nil
		}
		return r.magStripe()
	}
	afl := r.card[0x94]
	// S3.32: a mag-stripe-only first AFL entry is skipped when mag-stripe
	// mode is supported.
	if len(afl) >= 4 && bytes.Equal(afl[:4], []byte{0x08, 0x01, 0x01, 0x00}) && r.kc&kcMSNotSupp == 0 {
		afl = afl[4:]
	}
	// S3.30: the transaction limit of the card's kind.
	if aip[0]&aip1ODCVM != 0 && r.kc&kcODCVM != 0 {
		r.limit = r.cb.TransactionLimitODCVM
	} else {
		r.limit = r.cb.TransactionLimitNoODCVM
	}
	// Relay resistance (the steps after GET PROCESSING OPTIONS) when the
	// card and the kernel support it, else the TVR says it was not
	// performed.
	if r.kc&kcRRP != 0 && aip[1]&aip2RRP != 0 {
		if o, done, err := r.relayResistance(); done || err != nil {
			return o, err
		}
	} else {
		r.tvr.Set(kernel.TVRRRNotPerformed)
	}
	if len(afl) == 0 {
		return r.endApplication(kernel.L2CardDataError, "empty AFL"), nil
	}
	entries, err := kernel.ParseAFL(afl)
	if err != nil {
		return r.endApplication(kernel.L2CardDataError, err.Error()), nil
	}
	// S3R1.17-20: CDA when the card and the reader support it.
	if aip[0]&aip1CDA != 0 && caps[2]&sec3CDA != 0 {
		r.cda = true
	} else {
		r.tvr.Set(kernel.TVRODANotPerformed)
	}
	if err := kernel.ReadRecords(a.Card, entries, r.card, &r.static); err != nil {
		return r.recordError(err)
	}
	if o, done := r.startIDS(); done {
		return o, nil
	}
	if o, done, err := r.dataExchange(); done || err != nil {
		return o, err
	}
	return r.afterRead()
}

// parseGPO reads format 1 (80: AIP then AFL) or format 2 (77) and requires
// the AIP and AFL (S3.10-S3.14).
func (r *run) parseGPO(data []byte) (kernel.Outcome, bool) {
	l, err := tlv.Decode(data)
	if err != nil {
		return r.endApplication(kernel.L2ParsingError, "GET PROCESSING OPTIONS response: "+err.Error()), true
	}
	switch {
	case len(l) == 1 && l[0].Tag == 0x80:
		v := l[0].Value
		if len(v) < 2 {
			return r.endApplication(kernel.L2ParsingError, "format 1 response shorter than the AIP"), true
		}
		if err := kernel.CollectUnique(r.card, []tlv.TLV{{Tag: 0x82, Value: v[:2]}, {Tag: 0x94, Value: v[2:]}}); err != nil {
			return r.endApplication(kernel.L2CardDataError, err.Error()), true
		}
	case len(l) == 1 && l[0].Tag == 0x77:
		if err := kernel.CollectUnique(r.card, l[0].Children); err != nil {
			return r.endApplication(kernel.L2CardDataError, err.Error()), true
		}
	default:
		return r.endApplication(kernel.L2ParsingError, "GET PROCESSING OPTIONS response is neither template 80 nor 77"), true
	}
	aip, okAIP := r.card[0x82]
	_, okAFL := r.card[0x94]
	if !okAIP || !okAFL {
		return r.endApplication(kernel.L2CardDataMissing, "AIP or AFL missing"), true
	}
	if len(aip) != 2 {
		return r.endApplication(kernel.L2CardDataError, "AIP is not 2 bytes"), true
	}
	return kernel.Outcome{}, false
}

// dataExchange is C-2 Data Exchange after the records: the Tags To Read
// (DF8112) taken from the card's data or read with GET DATA, sent to the
// terminal (DEK) whose answer (DET) updates terminal data; Data To Send
// (FF8104) goes in the outcome's discretionary data too. A communication
// error during GET DATA ends with Start B; a card refusing GET DATA leaves
// the tag in Data Needed.
func (r *run) dataExchange() (kernel.Outcome, bool, error) {
	exchange := r.a.Config.Exchange()
	// Proceed To First Write Flag present and 00: the kernel asks for it
	// and waits for the terminal before writing anything to the card.
	flag := r.cb.ProceedToFirstWriteFlag
	wait := len(flag) == 1 && flag[0] == 0x00
	if len(flag) == 1 {
		r.term[0xDF8110] = []byte{flag[0]}
	}
	if len(r.cb.TagsToRead) == 0 && exchange == nil && !wait {
		return kernel.Outcome{}, false, nil
	}
	// The data storage objects of the GET PROCESSING OPTIONS response, when
	// the kernel reads the slot (startIDS), lead the Data To Send.
	dek := kernel.DEK{DataToSend: append(tlv.List(nil), r.dataToSend...)}
	for _, raw := range r.cb.TagsToRead {
		tag, err := tlv.ParseTag(fmt.Sprintf("%X", []byte(raw)))
		if err != nil {
			continue
		}
		if v, ok := r.card[tag]; ok {
			dek.DataToSend = append(dek.DataToSend, tlv.TLV{Tag: tag, Value: append([]byte(nil), v...)})
			continue
		}
		if tag > 0xFFFF || tag < 0x100 {
			dek.DataNeeded = append(dek.DataNeeded, tag)
			continue
		}
		resp, err := r.a.Card.Send(apdu.GetData(uint16(tag)))
		if err != nil {
			if !kernel.IsCommunicationError(err) {
				return kernel.Outcome{}, true, err
			}
			return r.commError(err), true, nil
		}
		l, derr := tlv.Decode(resp.Data)
		if !resp.OK() || derr != nil || len(l) != 1 || l[0].Tag != tag {
			dek.DataNeeded = append(dek.DataNeeded, tag)
			continue
		}
		// Kept apart from the card's data: a later response (the ATC of
		// GENERATE AC) may carry the same tag.
		dek.DataToSend = append(dek.DataToSend, tlv.TLV{Tag: tag, Value: append([]byte(nil), l[0].Value...)})
	}
	if len(dek.DataToSend) > 0 {
		r.dataToSend = dek.DataToSend
	}
	if wait {
		dek.DataNeeded = append(dek.DataNeeded, 0xDF8110)
	}
	if exchange == nil {
		if wait {
			return r.timeOut("no terminal answers the DEK: the Proceed To First Write Flag stays 00"), true, nil
		}
		return kernel.Outcome{}, false, nil
	}
	in := r.exchangeDET(exchange, dek)
	if wait {
		// The first write waits for a DET setting the flag; one that
		// comes late, or leaves the flag at 00, leaves the kernel waiting
		// until the Time Out Value runs out.
		if !in {
			return r.timeOut("the DET setting the Proceed To First Write Flag came after the Time Out Value"), true, nil
		}
		if f := r.term[0xDF8110]; len(f) != 1 || f[0] == 0x00 {
			return r.timeOut("the DET left the Proceed To First Write Flag at 00"), true, nil
		}
	}
	return kernel.Outcome{}, false, nil
}

// exchangeDET sends dek to the terminal and takes its DET: terminal data
// the DET may set and Tags To Write. It reports whether the DET came within
// the combination's Time Out Value (the call's time by Config.Stopwatch
// plus the DET's Delay).
func (r *run) exchangeDET(exchange func(kernel.DEK) kernel.DET, dek kernel.DEK) bool {
	var det kernel.DET
	took := r.a.Config.Measure(func() { det = exchange(dek) })
	took += det.Delay
	for _, d := range det.Data {
		if kernel.DETAllows(d.Tag) {
			r.term[d.Tag] = append([]byte(nil), d.Value...)
		}
	}
	r.writeBefore = appendWritable(r.writeBefore, det.TagsToWriteBeforeGenAC)
	r.writeAfter = appendWritable(r.writeAfter, det.TagsToWriteAfterGenAC)
	return took <= r.cb.TimeOut()
}

// timeOut ends the transaction when the DET the kernel waits for does not
// come in time: End Application with the L3 error Time Out.
func (r *run) timeOut(reason string) kernel.Outcome {
	o := r.base(kernel.EndApplication)
	o.CVM = kernel.CVMNA
	o.UIOnOutcome = &kernel.UIRequest{Message: kernel.MsgTryAnotherCard, Status: kernel.StatusNotReady, Hold: r.cb.MessageHoldTime}
	o.L3 = kernel.L3TimeOut
	o.Reason = "time out: " + reason
	return o
}

// startIDS decides, once the records are read, whether the kernel reads and
// writes the card's Integrated Data Storage (Book C-2 S1.17-20, S3R1.12-13,
// S456.18-20). It reads when the combination has a DS Requested Operator ID
// (9F5C), the card's Application Capabilities Information (9F5D, in its
// FCI) announces Data Storage version 1 (byte 1 b4-b1; version 2, with
// AES and 16-byte summaries, is not modelled), it has a DS ID (9F5E) and
// CDA is the ODA Status, since only a CDA signature carries the DS Summary
// 2; and when the GET PROCESSING OPTIONS response gave either a DS Summary 1
// (9F7D) with the slot's DS ODS Card (9F54), or the DS Slot Availability
// (9F5F), a DS Summary 1 and a DS Unpredictable Number (9F7F) without one
// (an empty slot). The IDS Status (DF8128) then says Read, and the DS ID
// must be the PAN and PSN digits (Y of S456.19), else the card's data are
// in error. The slot's objects go to the terminal as Data To Send. The
// terminal data for a write (DS ODS Info DF62, DS ODS Term DF63, DS AC Type
// DF8108, DS ODS Info For Reader DF810A, DS Input (Term) DF8109, DS Input
// (Card) DF60) come from the combination, a DET may change them; the write
// itself is decided at GENERATE AC (generateAC).
func (r *run) startIDS() (kernel.Outcome, bool) {
	aci := r.card[0x9F5D]
	if len(r.cb.DSRequestedOperatorID) != 8 || len(aci) == 0 || aci[0]&0x0F != 0x01 || !r.cda {
		return kernel.Outcome{}, false
	}
	if len(r.card[0x9F5E]) == 0 {
		return kernel.Outcome{}, false
	}
	has := func(t tlv.Tag) bool { return len(r.card[t]) > 0 }
	withCard := has(0x9F7D) && has(0x9F54)
	empty := has(0x9F5F) && has(0x9F7D) && has(0x9F7F) && !has(0x9F54)
	if (!withCard && !empty) || len(r.card[0x9F7D]) != 8 {
		return kernel.Outcome{}, false
	}
	if y := dsIDOf(r.card[0x5A], r.card[0x5F34]); !bytes.Equal(y, r.card[0x9F5E]) {
		return r.endApplication(kernel.L2CardDataError, "the DS ID is not the card's PAN and PAN Sequence Number"), true
	}
	r.ids = true
	r.term[0x9F5C] = append([]byte(nil), r.cb.DSRequestedOperatorID...)
	r.term[0xDF8128] = []byte{0x80}
	for _, d := range []struct {
		tag tlv.Tag
		v   kernel.HexBytes
	}{{0xDF62, r.cb.DSODSInfo}, {0xDF63, r.cb.DSODSTerm}, {0xDF8108, r.cb.DSACType}, {0xDF810A, r.cb.DSODSInfoForReader}, {0xDF8109, r.cb.DSInputTerm}, {0xDF60, r.cb.DSInputCard}} {
		if _, ok := r.term[d.tag]; !ok && d.v != nil {
			r.term[d.tag] = append([]byte(nil), d.v...)
		}
	}
	for _, t := range []tlv.Tag{0x9F5F, 0x9F7D, 0x9F7F, 0x9F6F, 0x9F54} {
		if v, ok := r.card[t]; ok {
			r.dataToSend = append(r.dataToSend, tlv.TLV{Tag: t, Value: append([]byte(nil), v...)})
		}
	}
	return kernel.Outcome{}, false
}

// dsIDOf is Y of Book C-2 S456.19: the PAN's digits (without 'F' padding)
// and the PAN Sequence Number ('00' without one), left-padded with zeros
// to whole bytes and to at least 8 bytes.
func dsIDOf(pan, psn []byte) []byte {
	digits := strings.TrimRight(fmt.Sprintf("%X", pan), "F")
	if len(psn) == 1 {
		digits += fmt.Sprintf("%02X", psn[0])
	} else {
		digits += "00"
	}
	for len(digits) < 16 || len(digits)%2 != 0 {
		digits = "0" + digits
	}
	b, err := hex.DecodeString(digits)
	if err != nil {
		return nil
	}
	return b
}

// pdolDataNeeded asks the terminal, when it takes part in data exchange,
// for the PDOL data objects the kernel has no value for (Data Needed in a
// DEK) and takes the terminal data of its DET. It reports false when the
// DET came after the Time Out Value.
func (r *run) pdolDataNeeded(pdol tlv.DOL) bool {
	exchange := r.a.Config.Exchange()
	if exchange == nil {
		return true
	}
	var needed []tlv.Tag
	for _, e := range pdol {
		if _, ok := r.term.Lookup(e.Tag); !ok {
			needed = append(needed, e.Tag)
		}
	}
	if len(needed) == 0 {
		return true
	}
	return r.exchangeDET(exchange, kernel.DEK{DataNeeded: needed})
}

// appendWritable adds to dst the data objects of src that PUT DATA can
// carry: primitive, with a tag of at most two bytes (P1 P2); a tag already
// in dst has its value replaced.
func appendWritable(dst, src tlv.List) tlv.List {
next:
	for _, t := range src {
		if t.Tag.Constructed() || t.Tag > 0xFFFF {
			continue
		}
		v := append([]byte(nil), t.Value...)
		// A tag already to be written takes the later value: a DET sent
		// at two steps does not write it twice.
		for i := range dst {
			if dst[i].Tag == t.Tag {
				dst[i].Value = v
				continue next
			}
		}
		dst = append(dst, tlv.TLV{Tag: t.Tag, Value: v})
	}
	return dst
}

// putData writes the data objects of l to the card with PUT DATA (80 DA,
// the tag in P1 P2, the value as data), in order, as C-2 Data Exchange
// does with the Tags To Write Before Gen AC (before GENERATE AC) and After
// Gen AC (state 15, after it). It stops at the first status word other
// than 9000 and reports whether every object was written; a communication
// error is returned for the caller to decide.
func (r *run) putData(l tlv.List) (bool, error) {
	for _, t := range l {
		resp, err := r.a.Card.Send(apdu.Command{CLA: 0x80, INS: 0xDA, P1: byte(t.Tag >> 8), P2: byte(t.Tag), Data: t.Value})
		if err != nil {
			return false, err
		}
		if !resp.OK() {
			return false, nil
		}
	}
	return true, nil
}

// putDataStatus is the value of the Pre-Gen AC (DF810F) and Post-Gen AC
// (DF810E) Put Data Status: '80' when every data object was written.
func putDataStatus(done bool) []byte {
	if done {
		return []byte{0x80}
	}
	return []byte{0x00}
}

// relayResistance is the Relay Resistance Protocol of Book C-2: EXCHANGE
// RELAY RESISTANCE DATA, the timing and its checks (see the package
// documentation). It reports done
// with the outcome when the transaction ends here.
func (r *run) relayResistance() (kernel.Outcome, bool, error) {
	a := r.a
	cfg := r.cb.RelayResistanceConfig()
	for attempt := 0; ; attempt++ {
		un := a.UN
		if attempt > 0 {
			// A new Unpredictable Number for each retry.
			un = a.Config.NewUnpredictableNumber()
		}
		r.term[0x9F37] = un[:]
		r.term[0xDF8301] = append([]byte(nil), un[:]...)
		var (
			resp apdu.Response
			err  error
		)
		took := a.Config.Measure(func() { resp, err = a.Card.Send(apdu.ExchangeRelayResistanceData(un)) })
		if err != nil {
			if !kernel.IsCommunicationError(err) {
				return kernel.Outcome{}, true, err
			}
			return r.commError(err), true, nil
		}
		if !resp.OK() {
			o := r.endApplication(kernel.L2StatusBytes, "EXCHANGE RELAY RESISTANCE DATA: "+apdu.Describe(resp.SW))
			o.SW = resp.SW
			return o, true, nil
		}
		l, err := tlv.Decode(resp.Data)
		if err != nil || len(l) != 1 || l[0].Tag != 0x80 {
			return r.endApplication(kernel.L2ParsingError, "EXCHANGE RELAY RESISTANCE DATA response is not template 80"), true, nil
		}
		v := l[0].Value
		if len(v) != 10 {
			return r.endApplication(kernel.L2CardDataError, fmt.Sprintf("EXCHANGE RELAY RESISTANCE DATA response has %d bytes, not 10", len(v))), true, nil
		}
		r.card[0xDF8302] = append([]byte(nil), v[:4]...)
		r.card[0xDF8303] = append([]byte(nil), v[4:6]...)
		r.card[0xDF8304] = append([]byte(nil), v[6:8]...)
		r.card[0xDF8305] = append([]byte(nil), v[8:10]...)
		minTime := units(v[4:6])
		maxTime := units(v[6:8])
		devR := units(v[8:10])
		measured := took - cfg.ExpectedCAPDU - min(devR, cfg.ExpectedRAPDU)
		if measured < 0 {
			measured = 0
		}
		r.term[0xDF8306] = toUnits(measured)
		r.term[0xDF8307] = []byte{byte(attempt)}
		// Faster than the card can be.
		if measured < minTime-cfg.MinGrace {
			return r.endApplication(kernel.L2CardDataError, fmt.Sprintf("relay resistance: the card answered in %v, under its minimum %v less the grace period", measured, minTime)), true, nil
		}
		slow := measured > maxTime+cfg.MaxGrace
		// Too slow: try again, twice at most, with a new number.
		if slow && attempt < 2 {
			continue
		}
		if slow {
			r.tvr.Set(kernel.TVRRRTimeLimits)
		}
		mismatch := func(x, y time.Duration) bool {
			return y > 0 && int64(x)*100/int64(y) < int64(cfg.MismatchThreshold)
		}
		if measured-minTime > cfg.AccuracyThreshold || mismatch(devR, cfg.ExpectedRAPDU) || mismatch(cfg.ExpectedRAPDU, devR) {
			r.tvr.Set(kernel.TVRRRThreshold)
		}
		r.tvr.Set(kernel.TVRRRPerformed)
		return kernel.Outcome{}, false, nil
	}
}

// units reads a 2-byte time in units of 100 microseconds.
func units(b []byte) time.Duration {
	return time.Duration(int(b[0])<<8|int(b[1])) * 100 * time.Microsecond
}

// toUnits codes a duration in units of 100 microseconds on 2 bytes,
// saturating.
func toUnits(d time.Duration) []byte {
	n := d / (100 * time.Microsecond)
	if n > 0xFFFF {
		n = 0xFFFF
	}
	return []byte{byte(n >> 8), byte(n)}
}

// recordError turns a READ RECORD failure into an outcome (S4.10, S4.27).
func (r *run) recordError(err error) (kernel.Outcome, error) {
	var re *kernel.RecordError
	switch {
	case kernel.IsCommunicationError(err):
		return r.commError(err), nil
	case !errors.As(err, &re):
		return kernel.Outcome{}, err
	case re.Err == nil:
		o := r.endApplication(kernel.L2StatusBytes, err.Error())
		o.SW = re.SW
		return o, nil
	}
	var de *tlv.DecodeError
	if errors.As(re.Err, &de) {
		return r.endApplication(kernel.L2ParsingError, err.Error()), nil
	}
	return r.endApplication(kernel.L2CardDataError, err.Error()), nil
}

// cvmRequired is "amount above the Reader CVM Required Limit" (S456.30).
func (r *run) cvmRequired() bool {
	l := r.cb.CVMRequiredLimit
	return l != nil && r.amount > *l
}

// afterRead is S456: checks, CVM, risk management, action analysis and
// GENERATE AC.
func (r *run) afterRead() (kernel.Outcome, error) {
	a := r.a
	// S456.14: amount above the Reader Contactless Transaction Limit.
	if r.limit != nil && r.amount > *r.limit {
		return kernel.Outcome{Type: kernel.SelectNext, Start: kernel.StartC, KernelID: ID, AID: r.aid(),
			Error: kernel.L2MaxLimitExceeded, TVR: r.tvr,
			Reason: fmt.Sprintf("amount above the reader contactless transaction limit %s", limitName(r))}, nil
	}
	// S456.16: mandatory data.
	for _, t := range []tlv.Tag{0x5F24, 0x5A, 0x8C} {
		if _, ok := r.card[t]; !ok {
			return r.endApplication(kernel.L2CardDataMissing, fmt.Sprintf("mandatory tag %s missing", t)), nil
		}
	}
	if o, bad := r.checkData(); bad {
		return o, nil
	}
	// S456.25-27: what CDA will need.
	if r.cda {
		for _, t := range []tlv.Tag{0x8F, 0x90, 0x9F32, 0x9F46, 0x9F47} {
			if _, ok := r.card[t]; !ok {
				r.tvr.Set(kernel.TVRICCDataMissing)
				r.tvr.Set(kernel.TVRCDAFailed)
				r.odaRes = kernel.ODAResult{Method: "CDA", Status: kernel.ODAFailed, Reason: fmt.Sprintf("tag %s missing", t)}
				break
			}
		}
		if !r.tvr.Has(kernel.TVRCDAFailed) {
			rid, _ := kernel.RID(r.aid())
			var err error
			if len(r.card[0x8F]) != 1 {
				err = fmt.Errorf("%w: CA public key index (8F) is not 1 byte", kernel.ErrODAData)
			} else {
				_, err = a.Config.LookupCAKey(rid, r.card[0x8F][0], a.Transaction.Date)
			}
			if err != nil {
				r.tvr.Set(kernel.TVRCDAFailed)
				r.odaRes = kernel.ODAResult{Method: "CDA", Status: kernel.ODAFailed, Reason: kernel.ODAReason(err)}
			}
		}
		if list, ok := r.card[0x9F4A]; ok && !bytes.Equal(list, []byte{0x82}) {
			return r.endApplication(kernel.L2CardDataError, "SDA tag list names tags other than the AIP"), nil
		}
	}
	// S456.30: the CVM capability for the amount.
	caps := r.term[0x9F33]
	if r.cvmRequired() {
		r.receipt = true
		caps[1] = r.cb.CVMCapabilityCVMRequired.ByteOr(0x00)
	} else {
		caps[1] = r.cb.CVMCapabilityNoCVMRequired.ByteOr(0x00)
	}
	r.restrictions()
	r.selectCVM()
	// S456.37: floor limit.
	if fl := r.cb.FloorLimit; fl != nil && r.amount > *fl {
		r.tvr.Set(kernel.TVRFloorLimitExceeded)
	}
	r.actionAnalysis()
	// Tags To Write Before Gen AC: PUT DATA just before GENERATE AC; a
	// card refusing one leaves the Pre-Gen AC Put Data Status (DF810F) at
	// '00' and the transaction goes on; a communication error is one of
	// the transaction's (Start B).
	if len(r.writeBefore) > 0 {
		done, err := r.putData(r.writeBefore)
		if err != nil {
			if !kernel.IsCommunicationError(err) {
				return kernel.Outcome{}, err
			}
			return r.commError(err), nil
		}
		r.term[0xDF810F] = putDataStatus(done)
	}
	o, err := r.generateAC()
	if err != nil || len(r.writeAfter) == 0 || o.Error != kernel.L2OK {
		return o, err
	}
	// Tags To Write After Gen AC (state 15): the cryptogram is the card's
	// answer already, so neither a refusal nor a lost card changes the
	// outcome; the Post-Gen AC Put Data Status (DF810E) says whether all
	// were written.
	done, err := r.putData(r.writeAfter)
	if err != nil && !kernel.IsCommunicationError(err) {
		return kernel.Outcome{}, err
	}
	o.DiscretionaryData = append(o.DiscretionaryData, tlv.TLV{Tag: 0xDF810E, Value: putDataStatus(done && err == nil)})
	return o, nil
}

// checkData checks lengths and that 5A and 57 name the same PAN.
func (r *run) checkData() (kernel.Outcome, bool) {
	lengths := []struct {
		tag  tlv.Tag
		n, m int
	}{
		{0x5A, 1, 10}, {0x57, 1, 19}, {0x5F24, 3, 3}, {0x5F25, 3, 3}, {0x8F, 1, 1},
		{0x9F07, 2, 2}, {0x9F08, 2, 2}, {0x9F0D, 5, 5}, {0x9F0E, 5, 5}, {0x9F0F, 5, 5},
		{0x9F42, 2, 2}, {0x5F28, 2, 2}, {0x5F34, 1, 1},
	}
	for _, x := range lengths {
		if v, ok := r.card[x.tag]; ok && (len(v) < x.n || len(v) > x.m) {
			return r.endApplication(kernel.L2CardDataError, fmt.Sprintf("tag %s has %d bytes", x.tag, len(v))), true
		}
	}
	if _, err := tlv.ParseDOL(r.card[0x8C]); err != nil {
		return r.endApplication(kernel.L2CardDataError, "CDOL1: "+err.Error()), true
	}
	if t2, ok := r.card[0x57]; ok {
		p1, _ := kernel.PAN(tlv.Map{0x5A: r.card[0x5A]})
		p2, _ := kernel.PAN(tlv.Map{0x57: t2})
		if p1 != p2 {
			return r.endApplication(kernel.L2CardDataError, "PAN in 5A differs from track 2 equivalent data"), true
		}
	}
	return kernel.Outcome{}, false
}

// restrictions is processing restrictions (S456.35, EMV Book 3 section
// 10.4): application versions, dates and Application Usage Control.
func (r *run) restrictions() {
	if v, ok := r.card[0x9F08]; ok && len(r.cb.ApplicationVersion) == 2 && !bytes.Equal(v, r.cb.ApplicationVersion) {
		r.tvr.Set(kernel.TVRDifferentVersions)
	}
	today := r.term[0x9A]
	if eff, ok := r.card[0x5F25]; ok && !kernel.DateOnOrBefore(eff, today) {
		r.tvr.Set(kernel.TVRNotEffective)
	}
	if !kernel.DateOnOrBefore(today, r.card[0x5F24]) {
		r.tvr.Set(kernel.TVRExpired)
	}
	auc, ok := r.card[0x9F07]
	if !ok {
		return
	}
	cfg := r.a.Config
	add := cfg.AdditionalCapabilities
	// An ATM (Book 4 Annex A1) is a financial institution's unattended
	// terminal (type 14, 15 or 16) that dispenses cash.
	atm := len(cfg.TerminalType) == 1 && cfg.TerminalType[0]>>4 == 1 && cfg.Unattended() &&
		len(add) == 5 && add[0]&0x80 != 0
	if (atm && auc[0]&0x02 == 0) || (!atm && auc[0]&0x01 == 0) {
		r.tvr.Set(kernel.TVRServiceNotAllowed)
		return
	}
	icc, ok := r.card[0x5F28]
	if !ok {
		return
	}
	domestic := bytes.Equal(icc, r.term[0x9F1A])
	t := r.a.Transaction.Type
	switch t {
	case kernel.Cash:
		if (domestic && auc[0]&0x80 == 0) || (!domestic && auc[0]&0x40 == 0) {
			r.tvr.Set(kernel.TVRServiceNotAllowed)
		}
	case kernel.Purchase, kernel.PurchaseWithCashback:
		if auc[0]&purchaseAUC(domestic, add) == 0 {
			r.tvr.Set(kernel.TVRServiceNotAllowed)
		}
	}
	if r.a.Transaction.Other > 0 {
		if (domestic && auc[1]&0x80 == 0) || (!domestic && auc[1]&0x40 == 0) {
			r.tvr.Set(kernel.TVRServiceNotAllowed)
		}
	}
}

// purchaseAUC returns the bits of the Application Usage Control's first
// byte of which one must be set for a purchase (Book 3 section 10.4.3,
// Annex C2): valid for domestic goods (b6) or services (b4), or for
// international goods (b5) or services (b3). A terminal whose Additional
// Terminal Capabilities (add) say it sells goods only, or services only,
// asks for that kind only; one that says both or neither, for either.
func purchaseAUC(domestic bool, add []byte) byte {
	goods, services := byte(0x10), byte(0x04)
	if domestic {
		goods, services = 0x20, 0x08
	}
	var sells byte
	if len(add) == 5 {
		if add[0]&0x40 != 0 { // byte 1 b7: goods
			sells |= goods
		}
		if add[0]&0x20 != 0 { // byte 1 b6: services
			sells |= services
		}
	}
	if sells == 0 {
		sells = goods | services
	}
	return sells
}

// CVM Results method codes (EMV Book 3 Annex C3).
const (
	cvmFail          = 0x00
	cvmPlaintextICC  = 0x01
	cvmOnlinePIN     = 0x02
	cvmPlainSig      = 0x03
	cvmEncICC        = 0x04
	cvmEncSig        = 0x05
	cvmSignature     = 0x1E
	cvmNoCVM         = 0x1F
	cvmNoCVMPerfomed = 0x3F
	resUnknown       = 0x00
	resFailed        = 0x01
	resSuccessful    = 0x02
)

func (r *run) setCVM(c kernel.CVM, method, cond, result byte) {
	r.cvm = c
	r.cvmRes = [3]byte{method, cond, result}
	r.term[0x9F34] = r.cvmRes[:]
}

// selectCVM is CVM selection (S456.36, Book C-2 section 7.5 over EMV Book 3
// section 10.5).
func (r *run) selectCVM() {
	aip := r.card[0x82]
	// CVM.1-4: a phone that verifies the holder itself.
	if aip[0]&aip1ODCVM != 0 && r.kc&kcODCVM != 0 {
		if r.cvmRequired() {
			r.setCVM(kernel.CVMConfirmationCode, cvmPlaintextICC, 0x00, resSuccessful)
		} else {
			r.setCVM(kernel.CVMNone, cvmNoCVMPerfomed, 0x00, resSuccessful)
		}
		return
	}
	// CVM.5-6: the card does not support cardholder verification.
	if aip[0]&aip1CVM == 0 {
		r.setCVM(kernel.CVMNone, cvmNoCVMPerfomed, 0x00, resUnknown)
		return
	}
	list := r.card[0x8E]
	// CVM.7-8: no CVM List, or one without rules.
	if len(list) < 10 {
		r.setCVM(kernel.CVMNone, cvmNoCVMPerfomed, 0x00, resUnknown)
		r.tvr.Set(kernel.TVRICCDataMissing)
		return
	}
	if len(list)%2 != 0 {
		// An incomplete rule is a formatting error: the rules before it
		// are still used, the odd byte is ignored.
		list = list[:len(list)-1]
	}
	x := int64(uint32(list[0])<<24 | uint32(list[1])<<16 | uint32(list[2])<<8 | uint32(list[3]))
	y := int64(uint32(list[4])<<24 | uint32(list[5])<<16 | uint32(list[6])<<8 | uint32(list[7]))
	for i := 8; i+1 < len(list); i += 2 {
		code, cond := list[i], list[i+1]
		method := code & 0x3F
		last := i+2 >= len(list)
		// CVM.10-12: a condition that is understood and satisfied.
		if !r.conditionSatisfied(cond, method, x, y) {
			if last {
				break
			}
			continue
		}
		if !recognised(method) {
			// CVM.16.
			r.tvr.Set(kernel.TVRUnrecognisedCVM)
		} else if r.supports(method) && method != cvmFail {
			// CVM.18: perform the CVM.
			switch method {
			case cvmOnlinePIN:
				r.setCVM(kernel.CVMOnlinePIN, code, cond, resUnknown)
				r.tvr.Set(kernel.TVROnlinePINEntered)
			case cvmSignature:
				r.setCVM(kernel.CVMSignature, code, cond, resUnknown)
				r.receipt = true
			case cvmNoCVM:
				r.setCVM(kernel.CVMNone, code, cond, resSuccessful)
			default:
				r.setCVM(kernel.CVMNA, code, cond, resUnknown)
			}
			return
		}
		// CVM.19: apply the next rule when b7 of the method says so.
		if code&0x40 != 0 && !last {
			continue
		}
		// CVM.22-25: cardholder verification failed.
		r.tvr.Set(kernel.TVRCVMFailed)
		if method == cvmFail {
			r.setCVM(kernel.CVMNone, code, cond, resFailed)
		} else {
			r.setCVM(kernel.CVMNone, cvmNoCVMPerfomed, 0x00, resFailed)
		}
		return
	}
	// CVM.14: no rule applied.
	r.tvr.Set(kernel.TVRCVMFailed)
	r.setCVM(kernel.CVMNone, cvmNoCVMPerfomed, 0x00, resFailed)
}

// conditionSatisfied is the CV Rule condition codes of Book 3 Annex C3.
// Amount conditions need the Application Currency Code (9F42) to match the
// transaction currency; X and Y are in the currency's minor units.
func (r *run) conditionSatisfied(cond, method byte, x, y int64) bool {
	t := r.a.Transaction.Type
	cash := t == kernel.Cash
	unattendedCash := cash && r.a.Config.Unattended()
	amount := r.amount
	sameCurrency := func() bool {
		c, ok := r.card[0x9F42]
		return ok && bytes.Equal(c, r.term[0x5F2A])
	}
	switch cond {
	case 0x00:
		return true
	case 0x01:
		return unattendedCash
	case 0x02:
		return !unattendedCash && !cash && t != kernel.PurchaseWithCashback
	case 0x03:
		return r.supports(method)
	case 0x04:
		return cash && !r.a.Config.Unattended()
	case 0x05:
		return t == kernel.PurchaseWithCashback
	case 0x06:
		return sameCurrency() && amount < x
	case 0x07:
		return sameCurrency() && amount > x
	case 0x08:
		return sameCurrency() && amount < y
	case 0x09:
		return sameCurrency() && amount > y
	}
	return false
}

func recognised(method byte) bool {
	switch method {
	case cvmFail, cvmPlaintextICC, cvmOnlinePIN, cvmPlainSig, cvmEncICC, cvmEncSig, cvmSignature, cvmNoCVM:
		return true
	}
	return false
}

// supports reads byte 2 of Terminal Capabilities as set for the amount.
// Offline PIN (plaintext or enciphered, with or without signature) is never
// supported: a contactless reader cannot verify a PIN with the card.
func (r *run) supports(method byte) bool {
	c := r.term[0x9F33][1]
	switch method {
	case cvmFail:
		return true
	case cvmNoCVM:
		return c&0x08 != 0
	case cvmOnlinePIN:
		return c&0x40 != 0
	case cvmSignature:
		return c&0x20 != 0
	}
	return false
}

// actionAnalysis is Terminal Action Analysis (S456.39, Book C-2 section
// 7.8): denial codes, then online codes for a terminal that can go online,
// default codes for one that cannot. A refund asks for an AAC.
func (r *run) actionAnalysis() {
	tvr := r.tvr[:]
	match := func(code []byte) bool {
		if len(code) != 5 {
			return false
		}
		for i := range code {
			if code[i]&tvr[i] != 0 {
				return true
			}
		}
		return false
	}
	anySet := !r.tvr.IsZero()
	iacDenial, hasIACDenial := r.card[0x9F0E]
	iacOnline, hasIACOnline := r.card[0x9F0F]
	iacDefault, hasIACDefault := r.card[0x9F0D]
	cfg := r.a.Config
	switch {
	case r.a.Transaction.Type == kernel.Refund:
		r.ac = acAAC
	case match(r.cb.TACDenial) || (hasIACDenial && match(iacDenial)):
		r.ac = acAAC
	case cfg.OnlineOnly():
		r.ac = acARQC
	case cfg.OnlineCapable():
		online := anySet
		if hasIACOnline {
			online = match(iacOnline) || match(r.cb.TACOnline)
		}
		if online {
			r.ac = acARQC
		} else {
			r.ac = acTC
		}
	default:
		def := anySet
		if hasIACDefault {
			def = match(iacDefault) || match(r.cb.TACDefault)
		}
		if def {
			r.ac = acAAC
		} else {
			r.ac = acTC
		}
	}
}

// DS ODS Info For Reader (DF810A) bits.
const (
	dsODSUsableTC        = 0x80
	dsODSUsableARQC      = 0x40
	dsODSUsableAAC       = 0x20
	dsODSStopNoTerm      = 0x04
	dsODSStopWriteFailed = 0x02
)

// dsODSUsable is the DS ODS Info For Reader bit that lets a write go with
// the AC type t.
func dsODSUsable(t acType) byte {
	switch t {
	case acTC:
		return dsODSUsableTC
	case acARQC:
		return dsODSUsableARQC
	}
	return dsODSUsableAAC
}

// idsWriteDecision is Book C-2 GAC.3-13 for a transaction that reads the
// data storage: a write needs the terminal's DS ODS Info (DF62) and the
// card's DSDOL (GAC.3-4), then the DS AC Type and the DS ODS Info For
// Reader (GAC.5-6, else an IDS data error). The write goes when the DS AC
// Type is the AC type, or AAC, or ARQC with a TC decided, and the AC type
// becomes the DS AC Type (GAC.7-8); else when the DS ODS Info For Reader
// lets it go with the AC type (GAC.9: b8, b7, b6 for TC, ARQC, AAC); else it
// is left out, or with 'stop if no DS ODS Term' the transaction ends (IDS no
// matching AC, GAC.10-13).
func (r *run) idsWriteDecision() (kernel.Outcome, bool) {
	if len(r.term[0xDF62]) == 0 || len(r.card[0x9F5B]) == 0 {
		return kernel.Outcome{}, false
	}
	acT, forReader := r.term[0xDF8108], r.term[0xDF810A]
	if len(acT) != 1 || len(forReader) != 1 {
		return r.endApplication(kernel.L2IDSDataError, "a data storage write without the DS AC Type or the DS ODS Info For Reader"), true
	}
	dsAC := acType(acT[0] & 0xC0)
	switch {
	case dsAC == r.ac || dsAC == acAAC || (dsAC == acARQC && r.ac == acTC):
		r.ac = dsAC
	case forReader[0]&dsODSUsable(r.ac) != 0:
	case forReader[0]&dsODSStopNoTerm != 0:
		return r.endApplication(kernel.L2IDSNoMatchingAC, fmt.Sprintf("the DS AC Type %02X and the DS ODS Info For Reader %02X do not let the write go with the AC type decided", acT[0], forReader[0])), true
	default:
		return kernel.Outcome{}, false
	}
	r.idsWrite = true
	r.term[0xDF8128] = []byte{0xC0}
	return kernel.Outcome{}, false
}

// buildDSDOL makes the DSDOL related data (GAC.40-48): the DS Digest H
// (DF61) is OWHF2 of the DS Input (Term) when the DSDOL asks for it and the
// terminal gave one (else zeros), and a last entry that is the DS ODS Term
// (as in the book's DSDOL) goes with the data's own length rather than the
// entry's.
func (r *run) buildDSDOL(src func(tlv.Tag) ([]byte, bool)) []byte {
	dsdol, _ := tlv.ParseDOL(r.card[0x9F5B])
	if len(dsdol) == 0 {
		return nil
	}
	if in := r.term[0xDF8109]; len(in) == 8 && hasEntry(dsdol, 0xDF61) {
		info := r.term[0xDF62]
		oid := datastorage.ObjectID(r.term[0x9F5C], r.card[0x9F6F], info[0])
		if h, err := datastorage.OWHF2(r.card[0x9F5E], oid, in); err == nil {
			r.term[0xDF61] = h
		}
	}
	last := dsdol[len(dsdol)-1]
	if last.Tag != 0xDF63 {
		return tlv.BuildDOLFor(tlv.Kernel2, dsdol, src)
	}
	out := tlv.BuildDOLFor(tlv.Kernel2, dsdol[:len(dsdol)-1], src)
	if v, ok := src(last.Tag); ok && !last.Tag.Constructed() {
		return append(out, v[:min(len(v), last.Len)]...)
	}
	return out
}

// hasEntry reports whether dol lists tag.
func hasEntry(dol tlv.DOL, tag tlv.Tag) bool {
	for _, e := range dol {
		if e.Tag == tag {
			return true
		}
	}
	return false
}

// generateAC is GAC.20-29 and the response processing of S9 and S910.
func (r *run) generateAC() (kernel.Outcome, error) {
	a := r.a
	aip := r.card[0x82]
	var ref byte
	cdaRequested := false
	cdol, _ := tlv.ParseDOL(r.card[0x8C])
	r.term[0x95] = r.tvr[:]
	src := func(t tlv.Tag) ([]byte, bool) {
		if v, ok := r.term[t]; ok {
			return v, true
		}
		v, ok := r.card[t]
		return v, ok
	}
	if r.cb.BalanceReadBefore {
		if err := r.readBalance(0xDF8104); err != nil {
			return r.commError(err), nil
		}
	}
	// Torn transaction recovery: the same card's torn GENERATE AC is asked
	// for again with RECOVER AC before any new one.
	var resp apdu.Response
	recovered := false
	if rec, ok := r.tornRecord(); ok {
		drdol, _ := tlv.ParseDOL(r.card[0x9F51])
		rresp, err := a.Card.Send(apdu.RecoverAC(tlv.BuildDOLFor(tlv.Kernel2, drdol, rec.Term.Lookup)))
		if err != nil {
			if !kernel.IsCommunicationError(err) {
				return kernel.Outcome{}, err
			}
			// Still torn: keep the record for the next presentation.
			a.Config.TornLog.Add(rec, r.cb.MaxTornRecords)
			return r.commError(err), nil
		}
		if rresp.OK() {
			// The torn transaction's data, not this one's, go with its
			// cryptogram.
			for t, v := range rec.Term {
				r.term[t] = v
			}
			if v := rec.Term[0x95]; len(v) == 5 {
				copy(r.tvr[:], v)
			}
			if v := rec.Term[0x9F34]; len(v) == 3 {
				copy(r.cvmRes[:], v)
			}
			r.cdol1, r.tornPDOL = rec.CDOL1, rec.PDOL
			r.recovered = true
			// The torn transaction's data storage use: its IDS Status
			// and the DS Summary 1 it read (in its record).
			st := rec.Term[0xDF8128]
			r.ids = len(st) == 1 && len(rec.Term[0x9F7D]) == 8
			r.idsWrite = r.ids && st[0]&0x40 != 0
			ref = rec.Ref
			r.ac = acType(ref & 0xC0)
			cdaRequested = ref&apdu.CDARequest != 0
			resp, recovered = rresp, true
		}
	}
	if !recovered {
		// Prepare Generate AC, once no torn transaction was recovered (a
		// recovered one brings its own AC type and data). GAC.1-13: whether
		// the data storage is written, which may lower the AC type to the
		// DS AC Type.
		if r.ids && !r.tvr.Has(kernel.TVRCDAFailed) {
			if o, done := r.idsWriteDecision(); done {
				return o, nil
			}
		}
		ref = byte(r.ac)
		if !r.cda || r.tvr.Has(kernel.TVRCDAFailed) {
			// Book C-2 section 7.6, Prepare Generate AC: GAC.20 goes to GAC.22
			// when the ODA Status is not CDA (the AIP or the reader does not
			// support it), GAC.21 when it is CDA but 'CDA failed' is already
			// set (CA key, certificates or data missing). GAC.22-23: when the
			// card's AIP and the Kernel Configuration both support on-device
			// cardholder verification, the AC type becomes AAC, since without a
			// CDA signature nothing authenticates the phone's verification
			// result. Either way the command goes without the CDA request.
			if aip[0]&aip1ODCVM != 0 && r.kc&kcODCVM != 0 {
				r.ac = acAAC
				ref = byte(acAAC)
			}
		} else if r.ac != acAAC || r.cdaOverAAC() {
			// GAC.24-27: CDA for TC and ARQC; for an AAC (GAC.24-25) only when
			// the card's Application Capabilities Information (9F5D) byte 2 b1
			// says it supports CDA over TC, ARQC and AAC, or when Integrated
			// Data Storage is read (IDS Status Read). Else the AAC goes without
			// the CDA request.
			ref |= apdu.CDARequest
			cdaRequested = true
		}
		r.cdol1 = tlv.BuildDOLFor(tlv.Kernel2, cdol, src)
		var err error
		data := r.cdol1
		if r.idsWrite {
			r.dsdolData = r.buildDSDOL(src)
			data = append(append([]byte(nil), r.cdol1...), r.dsdolData...)
		}
		resp, err = a.Card.Send(apdu.GenerateAC(ref, data))
		if err != nil {
			if !kernel.IsCommunicationError(err) {
				return kernel.Outcome{}, err
			}
			r.tear(ref)
			return r.commError(err), nil
		}
	}
	a.SendUI(kernel.UIRequest{Message: kernel.MsgCardReadOK, Status: kernel.StatusCardReadOK})
	if !resp.OK() {
		o := r.endApplication(kernel.L2StatusBytes, "GENERATE AC: "+apdu.Describe(resp.SW))
		o.SW = resp.SW
		return o, nil
	}
	l, err := tlv.Decode(resp.Data)
	if err != nil {
		return r.endApplication(kernel.L2ParsingError, "GENERATE AC response: "+err.Error()), nil
	}
	var respTemplate []byte
	switch {
	case len(l) == 1 && l[0].Tag == 0x80:
		v := l[0].Value
		if len(v) < 11 {
			return r.endApplication(kernel.L2ParsingError, "format 1 GENERATE AC response too short"), nil
		}
		objs := []tlv.TLV{{Tag: 0x9F27, Value: v[:1]}, {Tag: 0x9F36, Value: v[1:3]}, {Tag: 0x9F26, Value: v[3:11]}}
		if len(v) > 11 {
			objs = append(objs, tlv.TLV{Tag: 0x9F10, Value: v[11:]})
		}
		if err := kernel.CollectUnique(r.card, objs); err != nil {
			return r.endApplication(kernel.L2CardDataError, err.Error()), nil
		}
	case len(l) == 1 && l[0].Tag == 0x77:
		respTemplate = l[0].Value
		if err := kernel.CollectUnique(r.card, l[0].Children); err != nil {
			return r.endApplication(kernel.L2CardDataError, err.Error()), nil
		}
	default:
		return r.endApplication(kernel.L2ParsingError, "GENERATE AC response is neither template 80 nor 77"), nil
	}
	cidv, ok1 := r.card[0x9F27]
	atc, ok2 := r.card[0x9F36]
	if !ok1 || !ok2 || len(cidv) != 1 || len(atc) != 2 {
		return r.endApplication(kernel.L2CardDataMissing, "CID or ATC missing from the GENERATE AC response"), nil
	}
	cid := cidv[0]
	kind := acType(cid & 0xC0)
	if kind == 0xC0 || (kind == acTC && r.ac != acTC) || (kind == acARQC && r.ac == acAAC) {
		return r.endApplication(kernel.L2CardDataError, fmt.Sprintf("card returned a cryptogram type (%02X) above the one asked for", cid&0xC0)), nil
	}
	_, hasSDAD := r.card[0x9F4B]
	if v, ok := r.card[0x9F26]; ok && len(v) != 8 {
		return r.endApplication(kernel.L2CardDataError, "application cryptogram is not 8 bytes"), nil
	}
	// An AAC is signed only when the card announced CDA over an AAC or the
	// kernel reads its data storage (GAC.24-25); else a declining card
	// answers a CDA request with an unsigned AAC.
	signed := cdaRequested && (kind != acAAC || r.cdaOverAAC())
	if signed && !hasSDAD {
		// The card did not sign although CDA was asked for.
		r.tvr.Set(kernel.TVRCDAFailed)
		r.odaRes = kernel.ODAResult{Method: "CDA", Status: kernel.ODAFailed, Reason: "no signed dynamic application data in the response"}
		return r.camFailed(), nil
	}
	if !signed {
		if _, ok := r.card[0x9F26]; !ok {
			return r.endApplication(kernel.L2CardDataMissing, "application cryptogram missing"), nil
		}
	}
	if signed {
		if err := r.verifyCDA(cid, respTemplate); err != nil {
			r.tvr.Set(kernel.TVRCDAFailed)
			r.odaRes = kernel.ODAResult{Method: "CDA", Status: kernel.ODAFailed, Reason: kernel.ODAReason(err)}
			return r.camFailed(), nil
		}
		r.odaRes = kernel.ODAResult{Method: "CDA", Status: kernel.ODAPassed}
	}
	// S910.52-53: these End Application outcomes carry the data record
	// when the IDS Status says write (the kernel sent the DSDOL data and
	// the card made its cryptogram over them), not otherwise.
	idsEnd := func(e kernel.L2Error, reason string) kernel.Outcome {
		o := r.endApplication(e, reason)
		if r.idsWrite {
			o.DataRecord = r.record()
		}
		return o
	}
	if r.idsMissing {
		// S910.8-9, S910.14-15: the signature verified but the card
		// left out a summary it owed.
		return idsEnd(kernel.L2CardDataMissing, "the CDA signature carries no DS Summary 2 (or no DS Summary 3 after a write)"), nil
	}
	if r.idsMismatch {
		// The storage changed between the read and the cryptogram: the
		// summary the terminal read cannot be trusted.
		r.term[0xDF810B] = []byte{0x00}
		return idsEnd(kernel.L2IDSReadError, "DS Summary 2 signed with the cryptogram differs from the DS Summary 1 read"), nil
	}
	if r.ids {
		// DS Summary Status (DF810B): b8 successful read, b7 successful
		// write.
		st := byte(0x80)
		if r.idsWritten {
			st |= 0x40
		}
		r.term[0xDF810B] = []byte{st}
		if info := r.term[0xDF810A]; r.idsWrite && !r.idsWritten && len(info) == 1 && info[0]&dsODSStopWriteFailed != 0 {
			return r.endApplication(kernel.L2IDSWriteError, "the card did not write its data storage (DS Summary 3 is the DS Summary 2)"), nil
		}
	}
	if r.cb.BalanceReadAfter {
		if err := r.readBalance(0xDF8105); err != nil {
			return r.commError(err), nil
		}
	}
	var o kernel.Outcome
	switch kind {
	case acTC:
		o = r.approved()
	case acARQC:
		o = r.onlineRequest()
	default:
		o = r.aac()
	}
	if r.recovered {
		o.Reason = "torn transaction recovered with RECOVER AC: " + o.Reason
	}
	return o, nil
}

// cdaOverAAC reports GAC.24-25: an AAC is asked for with CDA when the
// card's Application Capabilities Information (9F5D) byte 2 b1 announces CDA
// over TC, ARQC and AAC, or when the IDS Status (DF8128) says Read.
func (r *run) cdaOverAAC() bool {
	if aci := r.card[0x9F5D]; len(aci) >= 2 && aci[1]&0x01 != 0 {
		return true
	}
	st := r.term[0xDF8128]
	return r.ids && len(st) == 1 && st[0]&0x80 != 0
}

// readBalance is C-2 balance reading: when the card's Application
// Capabilities Information (9F5D) says it supports balance reading (byte 2
// b2), GET DATA of the Offline Accumulator Balance (9F50); a well-formed
// answer is kept as tag (DF8104 before GENERATE AC, DF8105 after). A card
// that refuses the command or answers a malformed balance leaves it unread;
// only a communication error stops the transaction.
func (r *run) readBalance(tag tlv.Tag) error {
	aci := r.card[0x9F5D]
	if len(aci) < 2 || aci[1]&0x02 == 0 {
		return nil
	}
	resp, err := r.a.Card.Send(apdu.GetData(0x9F50))
	if err != nil {
		if kernel.IsCommunicationError(err) {
			return err
		}
		return nil
	}
	if !resp.OK() {
		return nil
	}
	l, err := tlv.Decode(resp.Data)
	if err != nil || len(l) != 1 || l[0].Tag != 0x9F50 || len(l[0].Value) != 6 {
		return nil
	}
	if _, ok := kernel.ParseN(l[0].Value); !ok {
		return nil
	}
	r.term[tag] = append([]byte(nil), l[0].Value...)
	return nil
}

// verifyCDA recovers the ICC key and checks the signature (Book 2 6.6.2).
// The cryptogram recovered from the signature becomes 9F26.
func (r *run) verifyCDA(cid byte, template []byte) error {
	if template == nil {
		return fmt.Errorf("%w: a format 1 response cannot carry a CDA signature", kernel.ErrODAData)
	}
	static, err := r.static.Bytes(r.card)
	if err != nil {
		return err
	}
	icc, err := kernel.RecoverICCKey(r.a.Config, r.aid(), r.card, static, r.a.Transaction.Date)
	if err != nil {
		return err
	}
	in := oda.CDAInput{
		UnpredictableNumber: r.term[0x9F37],
		CID:                 cid,
		AC:                  r.card[0x9F26],
		Transaction:         oda.TransactionData{PDOL: r.pdolOrNil(), CDOL1: r.cdol1, Response: template},
	}
	dd, err := oda.VerifyCDA(icc.PublicKey, r.card[0x9F4B], in)
	if err != nil {
		return err
	}
	extra := dd.Extra
	// With Integrated Data Storage the signed data begin with the DS
	// Summary 2, which must be the DS Summary 1 read (else an IDS read
	// error, decided by the caller).
	if r.ids {
		// A recovered torn transaction is checked against the summary
		// it read, kept in its record.
		sum1 := r.card[0x9F7D]
		if v, ok := r.term[0x9F7D]; ok && r.recovered {
			sum1 = v
		}
		n := 8
		if r.idsWrite {
			n = 16
		}
		switch {
		case len(extra) >= n:
			r.card[0xDF8101] = append([]byte(nil), extra[:8]...)
			r.idsMismatch = !bytes.Equal(extra[:8], sum1)
			if r.idsWrite {
				r.card[0xDF8102] = append([]byte(nil), extra[8:16]...)
				r.idsWritten = !bytes.Equal(extra[8:16], extra[:8])
			}
			extra = extra[n:]
		case r.tvr.Has(kernel.TVRRRPerformed) && !r.recovered:
			// After relay resistance the signed data have a fixed layout,
			// and a short one fails CDA.
			return fmt.Errorf("%w: the DS summaries are missing from the signature", kernel.ErrODAData)
		case len(extra) >= 8:
			// A write's signature with the DS Summary 2 alone: it is still
			// checked against the DS Summary 1 (a read error first), and
			// the DS Summary 3 is missing.
			r.card[0xDF8101] = append([]byte(nil), extra[:8]...)
			r.idsMismatch = !bytes.Equal(extra[:8], sum1)
			r.idsMissing = !r.idsMismatch
			extra = extra[8:]
		default:
			// Without it the summaries are optional in the signature, and
			// a missing one is card data missing (S910.8-9, S910.14-15).
			r.idsMissing = true
		}
	}
	// After relay resistance the signed ICC Dynamic Data carry the
	// exchange's entropies and times: a relay that changed them, or a card
	// that did not sign them, fails CDA.
	if r.tvr.Has(kernel.TVRRRPerformed) && !r.recovered {
		want := append([]byte(nil), r.term[0xDF8301]...)
		for _, t := range []tlv.Tag{0xDF8302, 0xDF8303, 0xDF8304, 0xDF8305} {
			want = append(want, r.card[t]...)
		}
		if !bytes.Equal(extra, want) {
			return fmt.Errorf("%w: the relay resistance data in the signature differ from the exchange's", kernel.ErrODAData)
		}
	}
	if _, ok := r.card[0x9F26]; !ok {
		r.card[0x9F26] = append([]byte(nil), dd.AC...)
	}
	if len(dd.Number) > 0 {
		if _, ok := r.card[0x9F4C]; !ok {
			r.card[0x9F4C] = append([]byte(nil), dd.Number...)
		}
	}
	return nil
}

// tornRecord takes the torn transaction record of the card in the field,
// when the reader keeps a torn log and the card has a DRDOL (9F51).
func (r *run) tornRecord() (kernel.TornRecord, bool) {
	log := r.a.Config.TornLog
	if log == nil || len(r.card[0x9F51]) == 0 {
		return kernel.TornRecord{}, false
	}
	pan, _ := kernel.PAN(r.card)
	return log.Take(pan, r.card[0x5F34], r.a.Config.Now(), r.cb.MaxTornLifetime)
}

// tear records a GENERATE AC whose response was lost (Book C-2 torn
// transaction log): for a card with a DRDOL, when the reader keeps a log.
func (r *run) tear(ref byte) {
	log := r.a.Config.TornLog
	if log == nil || len(r.card[0x9F51]) == 0 || r.cb.MaxTornRecords <= 0 {
		return
	}
	pan, _ := kernel.PAN(r.card)
	term := tlv.Map{}
	for _, dol := range [][]byte{r.card[0x8C], r.card[0x9F51]} {
		d, err := tlv.ParseDOL(dol)
		if err != nil {
			continue
		}
		for _, e := range d {
			if v, ok := r.term[e.Tag]; ok {
				term[e.Tag] = append([]byte(nil), v...)
			}
		}
	}
	if r.ids {
		// The data storage use, to check the recovered summaries.
		term[0xDF8128] = append([]byte(nil), r.term[0xDF8128]...)
		term[0x9F7D] = append([]byte(nil), r.card[0x9F7D]...)
	}
	log.Add(kernel.TornRecord{
		PAN: pan, PSN: append([]byte(nil), r.card[0x5F34]...), At: r.a.Config.Now(), Term: term,
		CDOL1: append([]byte(nil), r.cdol1...), PDOL: append([]byte(nil), r.pdolOrNil()...), Ref: ref,
	}, r.cb.MaxTornRecords)
}

// pdolOrNil is the PDOL related data for the transaction data hash: nil
// when the card has no PDOL; for a recovered torn transaction, its own.
func (r *run) pdolOrNil() []byte {
	if r.recovered {
		return r.tornPDOL
	}
	if !r.fci.HasPDOL {
		return nil
	}
	return r.pdol
}

// aac handles an AAC: a phone's request for a second tap, a refund, or a
// decline (Book C-2 S910, with the Phone Message Table).
func (r *run) aac() kernel.Outcome {
	hold := r.cb.MessageHoldTime
	if pcii, ok := r.card[0xDF4B]; ok && len(pcii) == 3 {
		v := uint32(pcii[0])<<16 | uint32(pcii[1])<<8 | uint32(pcii[2])
		if v&pcii2ndTapMask != 0 {
			msg := kernel.UIRequest{Message: kernel.MsgSeePhone, Status: kernel.StatusNotReady, Hold: hold}
			for _, p := range r.phoneTable() {
				if p.Matches(pcii) {
					msg = kernel.UIRequest{Message: p.Message, Status: p.Status, Hold: hold}
					break
				}
			}
			o := r.base(kernel.EndApplication)
			o.Start = kernel.StartB
			o.CVM = kernel.CVMNA
			o.UIOnOutcome = &msg
			o.UIOnRestart = &kernel.UIRequest{Message: msg.Message, Status: kernel.StatusReadyToRead}
			o.DataRecord = r.record()
			o.Reason = "the phone asks the holder to act on the phone, then tap again"
			return o
		}
	}
	if r.a.Transaction.Type == kernel.Refund {
		o := r.base(kernel.EndApplication)
		o.CVM = kernel.CVMNA
		o.UIOnOutcome = &kernel.UIRequest{Message: kernel.MsgCardReadOK, Status: kernel.StatusCardReadOK, Hold: hold}
		o.DataRecord = r.record()
		o.Reason = "refund: card returned AAC"
		return o
	}
	o := r.base(kernel.Declined)
	o.CVM = r.cvm
	o.UIOnOutcome = &kernel.UIRequest{Message: kernel.MsgNotAuthorised, Status: kernel.StatusNotReady, Hold: hold}
	o.DataRecord = r.record()
	o.Reason = "card returned AAC"
	if r.ac == acAAC {
		o.Reason = "terminal action analysis asked for AAC"
	}
	return o
}

func (r *run) phoneTable() []kernel.PhoneMessage {
	if r.cb.PhoneMessageTable != nil {
		return r.cb.PhoneMessageTable
	}
	return kernel.DefaultPhoneMessageTable()
}

func (r *run) approved() kernel.Outcome {
	o := r.base(kernel.Approved)
	o.CVM = r.cvm
	msg := kernel.MsgApproved
	if r.cvm == kernel.CVMSignature {
		msg = kernel.MsgApprovedSign
	}
	o.UIOnOutcome = &kernel.UIRequest{Message: msg, Status: kernel.StatusNotReady, Hold: r.cb.MessageHoldTime}
	o.DataRecord = r.record()
	o.Reason = "card returned TC"
	return o
}

// onlineRequest: with an online PIN the reader prompts for it before the
// authorisation, so the UI Request is "Please Enter Your PIN".
func (r *run) onlineRequest() kernel.Outcome {
	o := r.base(kernel.OnlineRequest)
	o.CVM = r.cvm
	msg := kernel.MsgAuthorising
	if r.cvm == kernel.CVMOnlinePIN {
		msg = kernel.MsgEnterPIN
	}
	o.UIOnOutcome = &kernel.UIRequest{Message: msg, Status: kernel.StatusNotReady}
	o.DataRecord = r.record()
	o.Reason = "card returned ARQC"
	return o
}

// camFailed: CDA did not verify; the transaction ends.
func (r *run) camFailed() kernel.Outcome {
	o := r.endApplication(kernel.L2CAMFailed, "CDA failed: "+r.odaRes.Reason)
	o.DataRecord = r.record()
	return o
}

func (r *run) aid() []byte {
	if v, ok := r.card[0x84]; ok && len(v) >= 5 {
		return v
	}
	return r.a.ADFName
}

func (r *run) record() tlv.List {
	r.term[0x95] = r.tvr[:]
	r.term[0x9F34] = r.cvmRes[:]
	kernelData := tlv.Map{0x95: r.tvr[:], 0x9F34: r.cvmRes[:], 0x9F33: r.term[0x9F33], 0x9F7E: r.term[0x9F7E]}
	return kernel.BuildDataRecord(kernelData, r.card, r.term)
}

// base fills the outcome fields every outcome of a read card has. The
// discretionary data carries the phone's POS Cardholder Interaction
// Information (DF4B) and the Third Party Data (9F6E) when the card gave
// them.
func (r *run) base(t kernel.OutcomeType) kernel.Outcome {
	o := kernel.Outcome{
		Type:       t,
		TVR:        r.tvr,
		CVMResults: r.cvmRes,
		Receipt:    r.receipt && (t == kernel.Approved || t == kernel.OnlineRequest),
		AID:        r.aid(),
		Label:      r.fci.Label,
		KernelID:   ID,
		ODA:        r.odaRes,
		MagStripe:  r.ms,
	}
	for _, tag := range []tlv.Tag{0xDF4B, 0x9F6E} {
		if v, ok := r.card[tag]; ok {
			o.DiscretionaryData = append(o.DiscretionaryData, tlv.TLV{Tag: tag, Value: append([]byte(nil), v...)})
		}
	}
	if len(r.dataToSend) > 0 {
		o.DiscretionaryData = append(o.DiscretionaryData, tlv.TLV{Tag: 0xFF8104, Children: r.dataToSend})
	}
	// The relay resistance measurement, when the protocol ran, and the
	// balances read before and after GENERATE AC.
	for _, tag := range []tlv.Tag{0xDF8306, 0xDF8307, 0xDF8104, 0xDF8105, 0xDF810F, 0xDF8128, 0xDF810B} {
		if v, ok := r.term[tag]; ok {
			o.DiscretionaryData = append(o.DiscretionaryData, tlv.TLV{Tag: tag, Value: append([]byte(nil), v...)})
		}
	}
	// Integrated Data Storage: the DS ID, the slot (its availability,
	// management control, DS ODS Card and the card's DS Unpredictable
	// Number) and the summaries.
	if r.ids {
		for _, tag := range []tlv.Tag{0x9F5E, 0x9F5F, 0x9F6F, 0x9F54, 0x9F7F, 0x9F7D, 0xDF8101, 0xDF8102} {
			if v, ok := r.card[tag]; ok {
				o.DiscretionaryData = append(o.DiscretionaryData, tlv.TLV{Tag: tag, Value: append([]byte(nil), v...)})
			}
		}
	}
	return o
}

func (r *run) endApplication(e kernel.L2Error, reason string) kernel.Outcome {
	o := r.base(kernel.EndApplication)
	o.CVM = kernel.CVMNA
	o.UIOnOutcome = &kernel.UIRequest{Message: kernel.MsgTryAnotherCard, Status: kernel.StatusNotReady, Hold: r.cb.MessageHoldTime}
	o.Error = e
	o.Reason = reason
	return o
}

// commError after GET PROCESSING OPTIONS (S4.6, S9.9): End Application
// with Start B, the card to be presented again.
func (r *run) commError(err error) kernel.Outcome {
	o := r.base(kernel.EndApplication)
	o.CVM = kernel.CVMNA
	o.Start = kernel.StartB
	ui := kernel.UIRequest{Message: kernel.MsgPresentCardAgain, Status: kernel.StatusReadyToRead}
	o.UIOnOutcome = &ui
	o.UIOnRestart = &ui
	o.Error = kernel.L2CommunicationError
	o.Reason = "communication error: " + err.Error()
	return o
}

func limitName(r *run) string {
	if r.limit == r.cb.TransactionLimitODCVM {
		return "with on-device CVM (DF8125)"
	}
	return "without on-device CVM (DF8124)"
}
