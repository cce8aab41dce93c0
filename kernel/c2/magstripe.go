package c2

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/magstripe"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
)

// pcii2ODCVMSuccessful is POS Cardholder Interaction Information (DF4B)
// byte 2 b5: OD-CVM verification successful.
const pcii2ODCVMSuccessful = 0x10

// defaultUDOL is the Default UDOL (DF811A): the Unpredictable Number
// (Numeric), 4 bytes.
var defaultUDOL = tlv.DOL{{Tag: 0x9F6A, Len: 4}}

// magStripe is mag-stripe mode (Book C-2, the mag-stripe steps after GET
// PROCESSING OPTIONS for a card that does not support EMV mode):
//
//   - READ RECORD of the AFL's records: Track 2 Data (9F6B), PCVC3(Track2)
//     (9F65), PUNATC(Track2) (9F66), NATC(Track2) (9F67), and when the card
//     has Track 1 Data (56) its PCVC3, PUNATC and NATC (9F62, 9F63, 9F64);
//   - the Reader Contactless Transaction Limit as in EMV mode;
//   - the Unpredictable Number (Numeric, 9F6A): nUN random digits, nUN
//     being the PUNATC(Track2) positions less NATC(Track2);
//   - the CVM from the Mag-stripe CVM Capability for the amount (DF811E
//     above the CVM Required Limit, DF812C at or below it);
//   - COMPUTE CRYPTOGRAPHIC CHECKSUM with the UDOL related data (the card's
//     UDOL 9F69, else the Default UDOL 9F6A04), answered with CVC3(Track2)
//     (9F61), CVC3(Track1) (9F60) and the ATC (9F36);
//   - the track data with the CVC3, the number, the ATC and nUN written in
//     their discretionary data (emv/magstripe), nUN' = (nUN + 5) mod 10
//     instead of nUN when the card's POS Cardholder Interaction
//     Information (DF4B) shows a successful on-device CVM, and the Online
//     Request
//     outcome: a mag-stripe mode transaction always goes online.
//
// The Mag-stripe CVM List (9F68) is not modelled: the capability alone
// gives the CVM; a phone's on-device CVM shows only in nUN'.
func (r *run) magStripe() (kernel.Outcome, error) {
	a := r.a
	r.ms = true
	entries, err := kernel.ParseAFL(r.card[0x94])
	if err != nil || len(entries) == 0 {
		return r.endApplication(kernel.L2CardDataError, "mag-stripe mode: empty or malformed AFL"), nil
	}
	var static kernel.StaticData
	if err := kernel.ReadRecords(a.Card, entries, r.card, &static); err != nil {
		return r.recordError(err)
	}
	need := []tlv.Tag{0x9F6B, 0x9F65, 0x9F66, 0x9F67}
	if _, ok := r.card[0x56]; ok {
		need = append(need, 0x9F62, 0x9F63, 0x9F64)
	}
	for _, t := range need {
		if _, ok := r.card[t]; !ok {
			return r.endApplication(kernel.L2CardDataMissing, fmt.Sprintf("mag-stripe mode: mandatory tag %s missing", t)), nil
		}
	}
	lay2, err := layout(r.card[0x9F65], r.card[0x9F66], r.card[0x9F67])
	if err != nil {
		return r.endApplication(kernel.L2CardDataError, "mag-stripe mode: track 2 bitmaps: "+err.Error()), nil
	}
	t2, err := magstripe.ParseTrack2(r.card[0x9F6B])
	if err != nil {
		return r.endApplication(kernel.L2CardDataError, "mag-stripe mode: "+err.Error()), nil
	}
	var (
		lay1 magstripe.Layout
		t1   *magstripe.Track
	)
	if v, ok := r.card[0x56]; ok {
		if lay1, err = layout(r.card[0x9F62], r.card[0x9F63], r.card[0x9F64]); err != nil {
			return r.endApplication(kernel.L2CardDataError, "mag-stripe mode: track 1 bitmaps: "+err.Error()), nil
		}
		if t1, err = magstripe.ParseTrack1(v); err != nil {
			return r.endApplication(kernel.L2CardDataError, "mag-stripe mode: "+err.Error()), nil
		}
	}
	// The transaction limit of the card's kind, as in EMV mode.
	aip := r.card[0x82]
	r.limit = r.cb.TransactionLimitNoODCVM
	if aip[0]&aip1ODCVM != 0 && r.kc&kcODCVM != 0 {
		r.limit = r.cb.TransactionLimitODCVM
	}
	if r.limit != nil && r.amount > *r.limit {
		return kernel.Outcome{Type: kernel.SelectNext, Start: kernel.StartC, KernelID: ID, AID: r.aid(),
			Error: kernel.L2MaxLimitExceeded, MagStripe: true,
			Reason: fmt.Sprintf("amount above the reader contactless transaction limit %s", limitName(r))}, nil
	}
	// The Unpredictable Number (Numeric): nUN random digits.
	nun := lay2.NUN()
	var v uint64
	for _, b := range a.UN {
		v = v<<8 | uint64(b)
	}
	mod := uint64(1)
	for i := 0; i < nun; i++ {
		mod *= 10
	}
	v %= mod
	un := make([]byte, 4)
	for i := 3; i >= 0; i-- {
		un[i] = byte(v%10) | byte(v/10%10)<<4
		v /= 100
	}
	r.term[0x9F6A] = un
	// The CVM from the Mag-stripe CVM Capability.
	capb := r.cb.MagStripeCVMCapabilityNoCVMRequired.ByteOr(0x00)
	if r.cvmRequired() {
		capb = r.cb.MagStripeCVMCapabilityCVMRequired.ByteOr(0x20)
	}
	switch capb >> 4 {
	case 0x1:
		r.cvm, r.receipt = kernel.CVMSignature, true
	case 0x2:
		r.cvm = kernel.CVMOnlinePIN
	default:
		r.cvm = kernel.CVMNone
	}
	// COMPUTE CRYPTOGRAPHIC CHECKSUM.
	udol := defaultUDOL
	if d, ok := r.card[0x9F69]; ok {
		if udol, err = tlv.ParseDOL(d); err != nil {
			return r.endApplication(kernel.L2CardDataError, "UDOL: "+err.Error()), nil
		}
	}
	resp, err := a.Card.Send(apdu.ComputeCryptographicChecksum(tlv.BuildDOLFor(tlv.Kernel2, udol, r.term.Lookup)))
	if err != nil {
		if !kernel.IsCommunicationError(err) {
			return kernel.Outcome{}, err
		}
		return r.commError(err), nil
	}
	a.SendUI(kernel.UIRequest{Message: kernel.MsgCardReadOK, Status: kernel.StatusCardReadOK})
	if !resp.OK() {
		o := r.endApplication(kernel.L2StatusBytes, "COMPUTE CRYPTOGRAPHIC CHECKSUM: "+apdu.Describe(resp.SW))
		o.SW = resp.SW
		return o, nil
	}
	l, err := tlv.Decode(resp.Data)
	if err != nil || len(l) != 1 || l[0].Tag != 0x77 {
		return r.endApplication(kernel.L2ParsingError, "COMPUTE CRYPTOGRAPHIC CHECKSUM response is not template 77"), nil
	}
	if err := kernel.CollectUnique(r.card, l[0].Children); err != nil {
		return r.endApplication(kernel.L2CardDataError, err.Error()), nil
	}
	cvc2, atcv := r.card[0x9F61], r.card[0x9F36]
	if len(cvc2) != 2 || len(atcv) != 2 {
		return r.endApplication(kernel.L2CardDataMissing, "CVC3(Track2) or ATC missing from the COMPUTE CRYPTOGRAPHIC CHECKSUM response"), nil
	}
	atc := uint16(atcv[0])<<8 | uint16(atcv[1])
	// A successful on-device CVM in the POS Cardholder Interaction
	// Information (DF4B byte 2 b5, OD-CVM verification successful) makes
	// the last discretionary digit nUN' = (nUN + 5) mod 10 on both tracks.
	odcvm := false
	if pcii := r.card[0xDF4B]; len(pcii) == 3 && pcii[1]&pcii2ODCVMSuccessful != 0 {
		odcvm = true
	}
	filled, err := magstripe.Fill(t2, lay2, magstripe.Dynamic{CVC3: cvc2, UN: un, ATC: atc, ODCVM: odcvm})
	if err != nil {
		return r.endApplication(kernel.L2CardDataError, "mag-stripe mode: "+err.Error()), nil
	}
	r.card[0x9F6B] = filled.Bytes()
	if t1 != nil {
		cvc1 := r.card[0x9F60]
		if len(cvc1) != 2 {
			return r.endApplication(kernel.L2CardDataMissing, "CVC3(Track1) missing from the COMPUTE CRYPTOGRAPHIC CHECKSUM response"), nil
		}
		f1, err := magstripe.Fill(t1, lay1, magstripe.Dynamic{CVC3: cvc1, UN: un, ATC: atc, ODCVM: odcvm})
		if err != nil {
			return r.endApplication(kernel.L2CardDataError, "mag-stripe mode: "+err.Error()), nil
		}
		r.card[0x56] = f1.Bytes()
	}
	o := r.base(kernel.OnlineRequest)
	o.CVM = r.cvm
	o.Receipt = r.receipt
	o.TVR = kernel.TVR{}
	o.MagStripe = true
	msg := kernel.MsgAuthorising
	if r.cvm == kernel.CVMOnlinePIN {
		msg = kernel.MsgEnterPIN
	}
	o.UIOnOutcome = &kernel.UIRequest{Message: msg, Status: kernel.StatusNotReady}
	o.DataRecord = kernel.BuildDataRecord(tlv.Map{0x9F6A: un}, r.card, r.term)
	o.Reason = "mag-stripe mode: CVC3 computed"
	return o, nil
}

// layout reads the PCVC3, PUNATC and NATC of a track.
func layout(pcvc3, punatc, natc []byte) (magstripe.Layout, error) {
	if len(natc) != 1 || len(pcvc3) == 0 || len(pcvc3) > 8 || len(punatc) != len(pcvc3) {
		return magstripe.Layout{}, fmt.Errorf("%w: bitmap lengths", magstripe.ErrTrack)
	}
	var l magstripe.Layout
	for i := range pcvc3 {
		l.PCVC3 = l.PCVC3<<8 | uint64(pcvc3[i])
		l.PUNATC = l.PUNATC<<8 | uint64(punatc[i])
	}
	l.NATC = int(natc[0])
	if l.NUN() < 0 || l.NUN() > 8 {
		return l, fmt.Errorf("%w: nUN %d", magstripe.ErrTrack, l.NUN())
	}
	return l, nil
}
