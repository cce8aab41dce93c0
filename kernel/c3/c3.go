// Package c3 is a contactless kernel modelled on EMV Contactless Book C-3
// (Kernel 3, the Visa-like qVSDC path): one GET PROCESSING OPTIONS carrying
// the Terminal Transaction Qualifiers and transaction data, the card's
// decision and cryptogram in the response, optional READ RECORDs for card
// data and fDDA, then the reader's checks:
//
//   - the Cryptogram Information Data (9F27, or the Card Verification
//     Results in the Issuer Application Data when 9F27 is absent) gives the
//     decision: AAC declines, ARQC goes online, TC approves offline; a
//     reader that cannot go online (offline-only TTQ or terminal type)
//     declines an ARQC rather than return an Online Request;
//   - processing restrictions for an offline approval: an expired
//     application goes online if the Card Transaction Qualifiers (9F6C) allow
//     it and the reader can, else it is declined;
//   - fDDA for an offline approval (and for an online one when the TTQ says
//     "offline data authentication for online authorisations supported"):
//     issuer and ICC keys recovered with the configured CA keys, the Signed
//     Dynamic Application Data (9F4B) verified over 9F37, 9F02, 5F2A and the
//     Card Authentication Related Data (9F69). A failed offline fDDA goes
//     online, switches interface or declines as the CTQ says;
//   - the CVM from the CTQ and the TTQ: online PIN, consumer device CVM
//     (accepted when the CTQ copy in 9F69 matches, or the card went online),
//     signature, or no CVM; a reader that requires a CVM (amount at or above
//     the Reader CVM Required Limit) declines when none is established.
//
// Status words of GET PROCESSING OPTIONS: 6984 asks for another interface,
// 6985 for the next application (Select Next), 6986 for the holder to look
// at the phone and tap again (Try Again with "See Phone").
//
// Where Book C-3 leaves a detail to Visa's specifications, this kernel
// chooses as documented on each decision below. A refund is expected to get
// an AAC; it ends with End Application and the data record, for the
// terminal to complete the refund. Issuer Update Processing: when the TTQ
// (byte 3 b8) and the CTQ (byte 2 b7) both support it, the Online Request
// asks for Start B with Online Response Data "EMV Data"; the Entry Point's
// RestartOnline then activates the kernel on the card presented again with
// the issuer's response, and the kernel delivers the ARPC (EXTERNAL
// AUTHENTICATE) and the issuer scripts (see issuerUpdate).
package c3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
)

// ID is the Kernel ID of C-3.
const ID byte = 3

// TTQ bits (Book A Table 5-4, Book C-3 Annex A).
const (
	ttq1ContactChip   = 0x10 // byte 1 b5 EMV contact chip supported
	ttq1OfflineOnly   = 0x08 // byte 1 b4 offline-only reader
	ttq1OnlinePIN     = 0x04 // byte 1 b3 online PIN supported
	ttq1Signature     = 0x02 // byte 1 b2 signature supported
	ttq1ODAForOnline  = 0x01 // byte 1 b1 ODA for online authorisations supported
	ttq2OnlineCrypto  = 0x80 // byte 2 b8 online cryptogram required
	ttq2CVMRequired   = 0x40 // byte 2 b7 CVM required
	ttq3IssuerUpdate  = 0x80 // byte 3 b8 issuer update processing supported
	ctq1OnlinePIN     = 0x80 // byte 1 b8 online PIN required
	ctq1Signature     = 0x40 // byte 1 b7 signature required
	ctq1OnlineIfODA   = 0x20 // byte 1 b6 go online if ODA fails and reader online capable
	ctq1SwitchIfODA   = 0x10 // byte 1 b5 switch interface if ODA fails and reader has contact
	ctq1OnlineExpired = 0x08 // byte 1 b4 go online if application expired
	ctq1SwitchCash    = 0x04 // byte 1 b3 switch interface for cash
	ctq1SwitchCashbk  = 0x02 // byte 1 b2 switch interface for cashback
	ctq2CDCVM         = 0x80 // byte 2 b8 consumer device CVM performed
	ctq2IssuerUpdate  = 0x40 // byte 2 b7 card supports issuer update processing
	aip1DDA           = 0x20 // AIP byte 1 b6 DDA supported
)

// Kernel is the C-3 kernel. The zero value is ready to use.
type Kernel struct{}

// New returns the C-3 kernel.
func New() *Kernel { return &Kernel{} }

// ID returns 3.
func (*Kernel) ID() byte { return ID }

// run holds one activation's state.
type run struct {
	a        *kernel.Activation
	term     tlv.Map // terminal data
	card     tlv.Map // data objects from the card
	fci      kernel.FCI
	static   kernel.StaticData
	tvr      kernel.TVR
	ttq      []byte
	ctq      []byte
	odaRes   kernel.ODAResult
	decline  bool
	online   bool
	reason   string
	pdolData []byte
}

// Activate runs Kernel 3 on the selected application.
func (k *Kernel) Activate(ctx context.Context, a *kernel.Activation) (kernel.Outcome, error) {
	r := &run{a: a, term: a.TerminalData(), card: make(tlv.Map, 48)}
	return r.process()
}

func (r *run) process() (kernel.Outcome, error) {
	a := r.a
	fci, err := kernel.ParseFCI(a.FCI)
	if err != nil {
		return r.endApplication(kernel.L2ParsingError, "FCI: "+err.Error()), nil
	}
	r.fci = fci
	// The TTQ is the Entry Point's Copy of TTQ; without one the reader
	// cannot run qVSDC (Book C-3 needs it in the PDOL).
	r.ttq = append([]byte(nil), a.Indicators.TTQ...)
	if len(r.ttq) != 4 {
		return r.endApplication(kernel.L2CardDataError, "no TTQ configured for the combination"), nil
	}
	if !pdolAsks(fci, 0x9F66) {
		return kernel.Outcome{Type: kernel.SelectNext, Start: kernel.StartC, Error: kernel.L2CardDataMissing,
			Reason: "PDOL does not ask for the TTQ: not a qVSDC application"}, nil
	}
	r.term[0x9F66] = r.ttq
	for tag, v := range fci.Data {
		if tag == 0x84 || tag == 0x50 || tag == 0x9F38 {
			r.card[tag] = v
		}
	}
	// The second presentation after an Online Request with Online
	// Response Data: Issuer Update Processing, no new transaction.
	if a.OnlineResponse != nil {
		return r.issuerUpdate(*a.OnlineResponse)
	}

	// GET PROCESSING OPTIONS with the PDOL related data.
	r.pdolData = tlv.BuildDOLFor(tlv.Kernel3, fci.PDOL, r.term.Lookup)
	resp, err := a.Card.Send(apdu.GPO(r.pdolData))
	if err != nil {
		return r.commError(err)
	}
	if !resp.OK() {
		return r.gpoStatus(resp.SW), nil
	}
	l, err := tlv.Decode(resp.Data)
	if err != nil {
		return r.endApplication(kernel.L2ParsingError, "GET PROCESSING OPTIONS response: "+err.Error()), nil
	}
	if len(l) != 1 || l[0].Tag != 0x77 {
		return r.endApplication(kernel.L2CardDataError, "GET PROCESSING OPTIONS response is not format 2 (template 77)"), nil
	}
	if err := kernel.CollectUnique(r.card, l[0].Children); err != nil {
		return r.endApplication(kernel.L2CardDataError, err.Error()), nil
	}
	// READ RECORD for the records the AFL names, if any.
	if afl, ok := r.card[0x94]; ok && len(afl) > 0 {
		entries, err := kernel.ParseAFL(afl)
		if err != nil {
			return r.endApplication(kernel.L2CardDataError, err.Error()), nil
		}
		if err := kernel.ReadRecords(a.Card, entries, r.card, &r.static); err != nil {
			return r.recordError(err)
		}
	}
	// Card read: the holder may remove the card.
	a.SendUI(kernel.UIRequest{Message: kernel.MsgCardReadOK, Status: kernel.StatusCardReadOK})

	if o, bad := r.checkData(); bad {
		return o, nil
	}
	cid, ok := r.cid()
	if !ok {
		return r.endApplication(kernel.L2CardDataMissing, "no Cryptogram Information Data and none in the Issuer Application Data"), nil
	}
	// Book C-3 5.4.3: the card's decision.
	switch cid & 0xC0 {
	case 0x00:
		r.decline = true
		r.reason = "card returned AAC"
	case 0x80:
		r.online = true
		r.reason = "card returned ARQC"
	case 0x40:
		r.reason = "card returned TC"
		// A TC where the reader asked for an online cryptogram is sent
		// online all the same.
		if r.ttq[1]&ttq2OnlineCrypto != 0 {
			r.online = true
			r.reason = "card returned TC but the reader required an online cryptogram"
		}
	default:
		r.decline = true
		r.reason = "card returned a cryptogram type RFU"
	}
	// A refund is meant to get an AAC.
	if a.Transaction.Type == kernel.Refund {
		return r.refund(), nil
	}
	if o, done := r.restrictions(cid); done {
		return o, nil
	}
	if o, done := r.offlineAuth(); done {
		return o, nil
	}
	cvm := kernel.CVMNA
	if !r.decline {
		cvm = r.selectCVM(cid)
	}
	// Book C-3 5.4.3 and 5.9: a reader that cannot go online (offline-only
	// TTQ, or a terminal type that is offline only) declines an online
	// cryptogram; it never gives the terminal an Online Request it cannot
	// send.
	if r.online && !r.decline && !r.onlineCapable() {
		r.online = false
		r.decline = true
		r.reason += ": the reader is offline only"
		cvm = kernel.CVMNA
	}
	switch {
	case r.decline:
		return r.declined(), nil
	case r.online:
		return r.onlineRequest(cvm), nil
	}
	return r.approved(cvm), nil
}

// checkData is Book C-3 5.4.2: the data a qVSDC response must carry, of
// the right lengths, and consistent.
func (r *run) checkData() (kernel.Outcome, bool) {
	for _, t := range []tlv.Tag{0x82, 0x9F36, 0x9F26, 0x9F10, 0x57} {
		if _, ok := r.card[t]; !ok {
			return r.endApplication(kernel.L2CardDataMissing, fmt.Sprintf("mandatory tag %s missing", t)), true
		}
	}
	lengths := []struct {
		tag  tlv.Tag
		n, m int
	}{
		{0x82, 2, 2}, {0x9F36, 2, 2}, {0x9F26, 8, 8}, {0x9F27, 1, 1}, {0x9F6C, 2, 2},
		{0x9F69, 5, 16}, {0x9F10, 1, 32}, {0x57, 1, 19}, {0x5A, 1, 10}, {0x5F24, 3, 3},
		{0x5F34, 1, 1}, {0x8F, 1, 1}, {0x9F6E, 4, 32},
	}
	for _, x := range lengths {
		if v, ok := r.card[x.tag]; ok && (len(v) < x.n || len(v) > x.m) {
			return r.endApplication(kernel.L2CardDataError, fmt.Sprintf("tag %s has %d bytes", x.tag, len(v))), true
		}
	}
	// The PAN of 5A and of the track 2 equivalent data must agree.
	if pan5A, ok := r.card[0x5A]; ok {
		p1, _ := kernel.PAN(tlv.Map{0x5A: pan5A})
		p2, _ := kernel.PAN(tlv.Map{0x57: r.card[0x57]})
		if p1 != p2 {
			return r.endApplication(kernel.L2CardDataError, "PAN in 5A differs from track 2 equivalent data"), true
		}
	}
	r.ctq = r.card[0x9F6C]
	return kernel.Outcome{}, false
}

// cid is Book C-3 5.4.3.1: 9F27, or when absent the cryptogram type the
// Card Verification Results in the Issuer Application Data carry (byte 2 b6-b5
// of the CVR for Visa IAD formats 0, 1 and 3, byte 1 for format 2: 00 AAC,
// 01 TC, 10 ARQC).
func (r *run) cid() (byte, bool) {
	if v, ok := r.card[0x9F27]; ok {
		return v[0], true
	}
	iad, err := cryptogram.ParseIAD(cryptogram.SchemeVisa, r.card[0x9F10])
	if err != nil {
		return 0, false
	}
	var b byte
	switch {
	case iad.Format == 2 && len(iad.CVR) >= 1:
		b = iad.CVR[0]
	case len(iad.CVR) >= 2:
		b = iad.CVR[1]
	default:
		return 0, false
	}
	switch (b >> 4) & 0x03 {
	case 0:
		return 0x00, true
	case 1:
		return 0x40, true
	case 2:
		return 0x80, true
	}
	return 0, false
}

func (r *run) ctqHas(byteIdx int, mask byte) bool {
	return len(r.ctq) == 2 && r.ctq[byteIdx]&mask != 0
}

// onlineCapable: the TTQ does not say offline-only and the terminal type
// allows online authorisation.
func (r *run) onlineCapable() bool {
	return r.ttq[0]&ttq1OfflineOnly == 0 && r.a.Config.OnlineCapable()
}

// contactCapable: the TTQ says EMV contact chip supported and the terminal
// has one.
func (r *run) contactCapable() bool {
	return r.ttq[0]&ttq1ContactChip != 0 && r.a.Config.ContactChip
}

// restrictions is Book C-3 5.5: for an offline approval the application
// must not have expired; cash and cashback may ask for another interface.
func (r *run) restrictions(cid byte) (kernel.Outcome, bool) {
	t := r.a.Transaction.Type
	if (t == kernel.Cash && r.ctqHas(0, ctq1SwitchCash)) || (t == kernel.PurchaseWithCashback && r.ctqHas(0, ctq1SwitchCashbk)) {
		if r.contactCapable() {
			return r.tryAnotherInterface("the card asks for another interface for cash or cashback"), true
		}
	}
	if r.decline || r.online {
		return kernel.Outcome{}, false
	}
	if !kernel.DateOnOrBefore(r.term[0x9A], r.card[0x5F24]) {
		r.tvr.Set(kernel.TVRExpired)
		if r.ctqHas(0, ctq1OnlineExpired) && r.onlineCapable() {
			r.online = true
			r.reason = "application expired: the card allows going online"
		} else {
			r.decline = true
			r.reason = "application expired"
		}
	}
	return kernel.Outcome{}, false
}

// offlineAuth is Book C-3 5.6: fDDA for an offline approval, and for an
// online one when the reader supports ODA for online authorisations and
// the card signed.
func (r *run) offlineAuth() (kernel.Outcome, bool) {
	if r.decline {
		return kernel.Outcome{}, false
	}
	_, signed := r.card[0x9F4B]
	if r.online {
		if r.ttq[0]&ttq1ODAForOnline == 0 || !signed {
			return kernel.Outcome{}, false
		}
		if err := r.fdda(); err != nil {
			r.tvr.Set(kernel.TVRDDAFailed)
		}
		return kernel.Outcome{}, false
	}
	err := r.fdda()
	if err == nil {
		return kernel.Outcome{}, false
	}
	r.tvr.Set(kernel.TVRDDAFailed)
	switch {
	case r.ctqHas(0, ctq1OnlineIfODA) && r.onlineCapable():
		r.online = true
		r.reason = "fDDA failed: the card asks to go online"
	case r.ctqHas(0, ctq1SwitchIfODA) && r.contactCapable():
		return r.tryAnotherInterface("fDDA failed: the card asks for the contact interface"), true
	default:
		r.decline = true
		r.reason = "fDDA failed"
	}
	return kernel.Outcome{}, false
}

// fdda recovers the keys and verifies the Signed Dynamic Application Data.
func (r *run) fdda() error {
	r.odaRes = kernel.ODAResult{Method: "fDDA", Status: kernel.ODAFailed}
	fail := func(err error) error {
		r.odaRes.Reason = kernel.ODAReason(err)
		return err
	}
	sdad, ok := r.card[0x9F4B]
	if !ok {
		return fail(fmt.Errorf("%w: signed dynamic application data (9F4B)", kernel.ErrODAData))
	}
	if aip := r.card[0x82]; aip[0]&aip1DDA == 0 {
		return fail(fmt.Errorf("%w: AIP does not announce DDA", kernel.ErrODAData))
	}
	static, err := r.static.Bytes(r.card)
	if err != nil {
		return fail(err)
	}
	icc, err := kernel.RecoverICCKey(r.a.Config, r.aid(), r.card, static, r.a.Transaction.Date)
	if err != nil {
		return fail(err)
	}
	// fDDA version 01 hashes UN, amount, currency and 9F69; version 00
	// (no 9F69) the UN alone.
	terminalData := r.term[0x9F37]
	if card, ok := r.card[0x9F69]; ok {
		if card[0] != 0x01 {
			return fail(fmt.Errorf("%w: fDDA version %02X not supported", kernel.ErrODAData, card[0]))
		}
		terminalData, err = oda.FDDAData(r.term[0x9F37], r.term[0x9F02], r.term[0x5F2A], card)
		if err != nil {
			return fail(err)
		}
	}
	if _, err := oda.VerifyDDA(icc.PublicKey, sdad, terminalData); err != nil {
		return fail(err)
	}
	r.odaRes = kernel.ODAResult{Method: "fDDA", Status: kernel.ODAPassed}
	return nil
}

// aid is the DF Name (84) of the selected application, else its ADF Name.
func (r *run) aid() []byte {
	if v, ok := r.card[0x84]; ok && len(v) >= 5 {
		return v
	}
	return r.a.ADFName
}

// selectCVM is Book C-3 5.7.
func (r *run) selectCVM(cid byte) kernel.CVM {
	ttq := r.ttq
	cvmRequired := ttq[1]&ttq2CVMRequired != 0
	if len(r.ctq) != 2 {
		// 5.7.1.1: no CTQ. A reader that requires a CVM asks for a
		// signature, or else an online PIN (going online for it).
		if cvmRequired {
			switch {
			case ttq[0]&ttq1Signature != 0:
				return kernel.CVMSignature
			case ttq[0]&ttq1OnlinePIN != 0 && r.onlineCapable():
				r.online = true
				return kernel.CVMOnlinePIN
			}
			r.decline = true
			r.reason = "CVM required but the card gave no CVM the reader supports"
			return kernel.CVMNA
		}
		return kernel.CVMNone
	}
	// 5.7.1.2: the CTQ decides.
	switch {
	case r.ctqHas(0, ctq1OnlinePIN) && ttq[0]&ttq1OnlinePIN != 0 && r.onlineCapable():
		r.online = true
		return kernel.CVMOnlinePIN
	case r.ctqHas(1, ctq2CDCVM):
		if cad, ok := r.card[0x9F69]; ok {
			// The CTQ copy in the Card Authentication Related Data
			// (bytes 6-7 of fDDA version 01) must match.
			if len(cad) >= 7 && bytes.Equal(cad[5:7], r.ctq) {
				return kernel.CVMConfirmationCode
			}
			r.decline = true
			r.reason = "consumer device CVM claimed but the CTQ copy in 9F69 does not match"
			return kernel.CVMNA
		}
		if cid&0xC0 == 0x80 {
			return kernel.CVMConfirmationCode
		}
		r.decline = true
		r.reason = "consumer device CVM claimed offline without card authentication related data"
		return kernel.CVMNA
	case r.ctqHas(0, ctq1Signature) && ttq[0]&ttq1Signature != 0:
		return kernel.CVMSignature
	}
	// 5.7.1.3: a required CVM not established declines.
	if cvmRequired {
		r.decline = true
		r.reason = "CVM required but none established"
		return kernel.CVMNA
	}
	return kernel.CVMNone
}

func (r *run) record() tlv.List {
	term := r.term
	term[0x95] = r.tvr[:]
	return kernel.BuildDataRecord(r.card, term)
}

// base fills the outcome fields every outcome of a read card has. The
// discretionary data carries the Available Offline Spending Amount (9F5D)
// when the card gave one (Book C-3 4.3.1.1).
func (r *run) base(t kernel.OutcomeType) kernel.Outcome {
	o := kernel.Outcome{
		Type:     t,
		TVR:      r.tvr,
		AID:      r.aid(),
		Label:    r.fci.Label,
		KernelID: ID,
		ODA:      r.odaRes,
		Reason:   r.reason,
	}
	if v, ok := r.card[0x9F5D]; ok {
		o.DiscretionaryData = tlv.List{{Tag: 0x9F5D, Value: append([]byte(nil), v...)}}
	}
	return o
}

func (r *run) declined() kernel.Outcome {
	o := r.base(kernel.Declined)
	o.CVM = kernel.CVMNA
	o.UIOnOutcome = &kernel.UIRequest{Message: kernel.MsgNotAuthorised, Status: kernel.StatusNotReady}
	o.DataRecord = r.record()
	return o
}

func (r *run) approved(cvm kernel.CVM) kernel.Outcome {
	o := r.base(kernel.Approved)
	o.CVM = cvm
	msg := kernel.MsgApproved
	if cvm == kernel.CVMSignature {
		msg = kernel.MsgApprovedSign
		o.Receipt = true
	}
	o.UIOnOutcome = &kernel.UIRequest{Message: msg, Status: kernel.StatusNotReady}
	o.DataRecord = r.record()
	return o
}

// onlineRequest is the Online Request outcome. With an online PIN the
// reader prompts for the PIN before sending the authorisation, so the UI
// Request on the outcome is "Please Enter Your PIN".
func (r *run) onlineRequest(cvm kernel.CVM) kernel.Outcome {
	o := r.base(kernel.OnlineRequest)
	o.CVM = cvm
	msg := kernel.MsgAuthorising
	if cvm == kernel.CVMOnlinePIN {
		msg = kernel.MsgEnterPIN
	}
	if cvm == kernel.CVMSignature {
		o.Receipt = true
	}
	o.UIOnOutcome = &kernel.UIRequest{Message: msg, Status: kernel.StatusNotReady}
	o.DataRecord = r.record()
	// Book C-3 5.8: Issuer Update Processing when both sides support it.
	if r.ttq[2]&ttq3IssuerUpdate != 0 && r.ctqHas(1, ctq2IssuerUpdate) {
		o.Start = kernel.StartB
		o.OnlineResponseData = kernel.OnlineResponseEMV
		o.UIOnRestart = &kernel.UIRequest{Message: kernel.MsgPresentCardAgain, Status: kernel.StatusReadyToRead}
	}
	return o
}

func (r *run) refund() kernel.Outcome {
	o := r.base(kernel.EndApplication)
	o.CVM = kernel.CVMNA
	o.UIOnOutcome = &kernel.UIRequest{Message: kernel.MsgCardReadOK, Status: kernel.StatusCardReadOK}
	o.DataRecord = r.record()
	o.Reason = "refund: " + r.reason
	return o
}

func (r *run) tryAnotherInterface(reason string) kernel.Outcome {
	o := r.base(kernel.TryAnotherInterface)
	o.CVM = kernel.CVMNA
	o.UIOnOutcome = &kernel.UIRequest{Message: kernel.MsgInsertCard, Status: kernel.StatusProcessingError}
	o.AlternateInterface = kernel.InterfaceContact
	o.Reason = reason
	return o
}

func (r *run) endApplication(e kernel.L2Error, reason string) kernel.Outcome {
	o := kernel.Outcome{
		Type:        kernel.EndApplication,
		CVM:         kernel.CVMNA,
		UIOnOutcome: &kernel.UIRequest{Message: kernel.MsgTryAnotherCard, Status: kernel.StatusProcessingError},
		TVR:         r.tvr,
		AID:         r.aid(),
		Label:       r.fci.Label,
		KernelID:    ID,
		Error:       e,
		Reason:      reason,
	}
	return o
}

// commError: the card left during the transaction; it must be presented
// again (Try Again, Start B).
func (r *run) commError(err error) (kernel.Outcome, error) {
	if !kernel.IsCommunicationError(err) {
		return kernel.Outcome{}, err
	}
	return kernel.Outcome{
		Type:        kernel.TryAgain,
		Start:       kernel.StartB,
		CVM:         kernel.CVMNA,
		UIOnRestart: &kernel.UIRequest{Message: kernel.MsgPresentCardAgain, Status: kernel.StatusReadyToRead},
		AID:         r.aid(),
		KernelID:    ID,
		Error:       kernel.L2CommunicationError,
		Reason:      "communication error: " + err.Error(),
	}, nil
}

// gpoStatus is Book C-3 5.2.2: what a GET PROCESSING OPTIONS status word
// other than 9000 means.
func (r *run) gpoStatus(sw uint16) kernel.Outcome {
	switch sw {
	case apdu.SW6984:
		// Another interface, when the terminal has one; else the
		// transaction ends as for any other status word.
		if r.a.Config.ContactChip {
			o := r.tryAnotherInterface("the card refused contactless (6984)")
			o.Error, o.SW = kernel.L2StatusBytes, sw
			return o
		}
	case apdu.SW6985:
		return kernel.Outcome{Type: kernel.SelectNext, Start: kernel.StartC, AID: r.aid(), KernelID: ID,
			Error: kernel.L2StatusBytes, SW: sw, Reason: "the card asks for another application (6985)"}
	case apdu.SW6986:
		hold := holdTime
		return kernel.Outcome{
			Type:        kernel.TryAgain,
			Start:       kernel.StartB,
			CVM:         kernel.CVMNA,
			UIOnOutcome: &kernel.UIRequest{Message: kernel.MsgSeePhone, Status: kernel.StatusNotReady, Hold: hold},
			UIOnRestart: &kernel.UIRequest{Message: kernel.MsgPresentCardAgain, Status: kernel.StatusReadyToRead},
			FieldOff:    hold,
			AID:         r.aid(),
			KernelID:    ID,
			Error:       kernel.L2StatusBytes,
			SW:          sw,
			Reason:      "the phone asks the holder to verify on the phone and tap again (6986)",
		}
	}
	o := r.endApplication(kernel.L2StatusBytes, "GET PROCESSING OPTIONS: "+apdu.Describe(sw))
	o.SW = sw
	return o
}

// recordError turns a READ RECORD failure into an outcome.
func (r *run) recordError(err error) (kernel.Outcome, error) {
	var re *kernel.RecordError
	switch {
	case kernel.IsCommunicationError(err):
		return r.commError(err)
	case !errors.As(err, &re):
		return kernel.Outcome{}, err
	case re.Err == nil:
		o := r.endApplication(kernel.L2StatusBytes, err.Error())
		o.SW = re.SW
		return o, nil
	case isDecodeError(re.Err):
		return r.endApplication(kernel.L2ParsingError, err.Error()), nil
	}
	return r.endApplication(kernel.L2CardDataError, err.Error()), nil
}

func isDecodeError(err error) bool {
	var de *tlv.DecodeError
	return errors.As(err, &de)
}

// issuerUpdate is Issuer Update Processing on the card presented again
// (Book C-3 section 5.9; VCPS): EXTERNAL AUTHENTICATE with the Issuer
// Authentication Data (91) when the response has it, then each command (86)
// of the Issuer Script Templates (71, then 72, in the response's order);
// a script stops at its first command answered other than 9000, 62xx or
// 63xx. The Issuer Script Results (9F5B: per script, a result nibble 0 not
// performed, 1 failed, 2 successful with the failing command's sequence
// number, then the script identifier 9F18 or zeros) and the TVR bits
// 'issuer authentication failed', 'script processing failed before/after
// final GENERATE AC' (template 71, 72) go in the data record. The outcome
// is the host's decision: Approved or Declined; a failed update is reported
// to the issuer in the record, it does not reverse the decision. A card
// that leaves during the update ends it with the host's decision too.
func (r *run) issuerUpdate(resp kernel.OnlineResponse) (kernel.Outcome, error) {
	a := r.a
	var results []byte
	done := func(reason string) (kernel.Outcome, error) {
		t := kernel.Declined
		msg := kernel.MsgNotAuthorised
		r.reason = "declined online"
		if resp.Approved {
			t, msg = kernel.Approved, kernel.MsgApproved
			r.reason = "approved online"
		}
		if reason != "" {
			r.reason += "; " + reason
		}
		o := r.base(t)
		o.CVM = kernel.CVMNA
		o.UIOnOutcome = &kernel.UIRequest{Message: msg, Status: kernel.StatusNotReady}
		rec := tlv.Map{0x95: r.tvr[:]}
		if len(results) > 0 {
			rec[0x9F5B] = results
		}
		o.DataRecord = kernel.BuildDataRecord(rec, r.card)
		if len(resp.ARC) == 2 {
			o.DataRecord = append(o.DataRecord, tlv.TLV{Tag: 0x8A, Value: append([]byte(nil), resp.ARC...)})
		}
		return o, nil
	}
	if len(resp.IssuerAuthData) > 0 {
		ea, err := a.Card.Send(apdu.ExternalAuthenticate(resp.IssuerAuthData))
		if err != nil {
			if !kernel.IsCommunicationError(err) {
				return kernel.Outcome{}, err
			}
			r.tvr.Set(kernel.TVRIssuerAuthFailed)
			return done("the card left during issuer authentication")
		}
		if !ea.OK() {
			r.tvr.Set(kernel.TVRIssuerAuthFailed)
		}
	}
	if len(resp.Scripts) == 0 {
		return done("")
	}
	scripts, err := tlv.Decode(resp.Scripts)
	if err != nil {
		r.tvr.Set(kernel.TVRScriptBeforeFailed)
		return done("issuer scripts do not parse")
	}
	for _, sc := range scripts {
		if sc.Tag != 0x71 && sc.Tag != 0x72 {
			continue
		}
		failBit := kernel.TVRScriptBeforeFailed
		if sc.Tag == 0x72 {
			failBit = kernel.TVRScriptAfterFailed
		}
		id := make([]byte, 4)
		result := byte(0x20)
		seq := 0
		for _, c := range sc.Children {
			switch c.Tag {
			case 0x9F18:
				if len(c.Value) == 4 {
					copy(id, c.Value)
				}
				continue
			case 0x86:
			default:
				continue
			}
			seq++
			cmd, err := apdu.ParseCommand(c.Value)
			if err != nil {
				result = 0x10 | byte(min(seq, 15))
				break
			}
			rs, err := a.Card.Send(cmd)
			if err != nil {
				if !kernel.IsCommunicationError(err) {
					return kernel.Outcome{}, err
				}
				r.tvr.Set(failBit)
				results = append(results, append([]byte{0x10 | byte(min(seq, 15))}, id...)...)
				return done("the card left during script processing")
			}
			if rs.SW != apdu.SW9000 && rs.SW1() != 0x62 && rs.SW1() != 0x63 {
				result = 0x10 | byte(min(seq, 15))
				break
			}
		}
		if result&0xF0 == 0x10 {
			r.tvr.Set(failBit)
		}
		results = append(results, append([]byte{result}, id...)...)
	}
	return done("")
}

// holdTime is how long "See Phone" stays and the field stays off before
// the second tap (Book C-3 uses '13', 1.3 seconds).
const holdTime = 1300 * time.Millisecond

func pdolAsks(f kernel.FCI, tag tlv.Tag) bool {
	for _, d := range f.PDOL {
		if d.Tag == tag {
			return true
		}
	}
	return false
}
