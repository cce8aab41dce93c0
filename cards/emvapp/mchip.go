package emvapp

import (
	"bytes"
	"crypto/sha256"
	"io"
	"time"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// Mobile Support Indicator (9F7E) bits (Book C-2).
const (
	msiMobile        byte = 0x01 // b1: the kernel supports mobile (DF4B)
	msiODCVMRequired byte = 0x02 // b2: the kernel requires on-device CVM
)

// POS Cardholder Interaction Information (DF4B) values a phone returns.
var (
	pciiODCVMRequired = []byte{0x00, 0x01, 0x00} // byte 2 b1: OD-CVM required
	pciiODCVMVerified = []byte{0x00, 0x10, 0x00} // byte 2 b5: OD-CVM verification successful
	pciiNone          = []byte{0x00, 0x00, 0x00}
)

// generateAC answers the first GENERATE AC of an M/Chip transaction.
func (a *App) generateAC(cmd apdu.Command) []byte {
	if !a.txn.gpo || a.txn.acDone {
		return rsw(apdu.SW6985)
	}
	ref := cmd.P1 & 0xC0
	if ref == 0xC0 || cmd.P1&0x2F != 0 || cmd.P2 != 0 {
		return rsw(apdu.SW6A86)
	}
	// With data storage the DSDOL related data may follow the CDOL1 data:
	// DS Input (Card), DS Digest H, DS ODS Info and the DS ODS Term, the
	// last entry, as long as the terminal's data (up to 160 bytes): a
	// write of the slot.
	var dsInput []byte
	if n := a.cdol1.DataLen(); a.txn.ds && len(cmd.Data) > n {
		fixed := DSDOL[:len(DSDOL)-1].DataLen()
		if len(cmd.Data) < n+fixed || len(cmd.Data) > n+fixed+160 {
			return rsw(apdu.SW6700)
		}
		dsInput = bytes.Clone(cmd.Data[n:])
		cmd.Data = cmd.Data[:n]
	}
	if len(cmd.Data) != a.cdol1.DataLen() {
		return rsw(apdu.SW6700)
	}
	split, err := a.cdol1.Split(cmd.Data)
	if err != nil {
		return rsw(apdu.SW6700)
	}
	term := split.Map()
	amount := amountOf(term[0x9F02])

	var res Result
	decline := ref == apdu.AAC
	pcii := []byte(nil)
	if h := a.cfg.Holder; h != nil {
		pcii = pciiNone
		msi := term[0x9F7E]
		mobileTerminal := len(msi) > 0 && msi[0]&(msiMobile|msiODCVMRequired) != 0
		cvmRes, trmd := term[0x9F34], term[0x9F1D]
		need := h.AlwaysVerify() ||
			(len(msi) > 0 && msi[0]&msiODCVMRequired != 0) ||
			(len(cvmRes) > 0 && cvmRes[0]&0x3F == 0x01) ||
			(len(trmd) > 1 && trmd[1]&0x80 != 0) ||
			(a.cfg.CVMLimit > 0 && amount > a.cfg.CVMLimit)
		switch {
		case h.Verified():
			res.CDCVM = true
			pcii = pciiODCVMVerified
		case need && (mobileTerminal || h.AlwaysVerify()):
			decline, res.SeePhone = true, mobileTerminal
			pcii = pciiODCVMRequired
		}
	}

	// The slot's write: a locked or deactivated slot refuses it, and a
	// DS ODS Info asking to decline on a data storage error (b4) then
	// makes the cryptogram an AAC.
	dsFailed := false
	if ds := a.cfg.DataStorage; dsInput != nil {
		fixed := DSDOL[:len(DSDOL)-1].DataLen()
		if ds.Locked || ds.Deactivated {
			dsFailed = true
			decline = decline || dsInput[fixed-1]&0x08 != 0
		}
	}

	cid := cidARQC
	switch {
	case decline:
		cid = cidAAC
	case ref == apdu.TC && a.offlineOK(amount):
		cid = cidTC
	}
	if res.CDCVM && cid == cidAAC {
		res.CDCVM = false
	}

	cda := cmd.P1&apdu.CDARequest != 0 && a.icc != nil && (cid != cidAAC || a.cfg.CDAOverAAC || a.cfg.DataStorage != nil)
	var idn []byte
	if cda {
		idn = make([]byte, 8)
		if _, err := io.ReadFull(a.cfg.Rand, idn); err != nil {
			return rsw(apdu.SW6F00)
		}
	}
	iad, err := a.cardIAD(cvrFlags{cid: cid, cda: cda, cdcvm: res.CDCVM}, idn)
	if err != nil {
		return rsw(apdu.SW6985)
	}
	tags := a.terminalData(term, a.txn.atc, iad)
	ac, err := a.cfg.Keys.AC(a.cfg.CVN, a.txn.atc, tags)
	if err != nil {
		return rsw(apdu.SW6985)
	}
	iad = a.finalIAD(iad)
	if cid == cidARQC {
		a.online = &onlineAC{tags: tags, ac: ac}
	}

	head := []tlv.TLV{obj(0x9F27, []byte{cid}), obj(0x9F36, u16(a.txn.atc))}
	tail := []tlv.TLV{obj(0x9F10, iad)}
	if pcii != nil {
		tail = append(tail, obj(0xDF4B, pcii))
	}
	var objs []tlv.TLV
	if cda {
		// The Transaction Data Hash Code covers the response objects other
		// than 9F4B, in the order sent.
		unsigned, err := tlv.List(append(append([]tlv.TLV{}, head...), tail...)).Encode()
		if err != nil {
			return rsw(apdu.SW6F00)
		}
		hash, err := oda.TransactionData{PDOL: a.txn.pdolData, CDOL1: cmd.Data, Response: unsigned}.Hash()
		if err != nil {
			return rsw(apdu.SW6F00)
		}
		// With relay resistance the ICC Dynamic Data also carries the
		// entropies and times of the last exchange (Book C-2).
		// With Integrated Data Storage, when the reader's operator opened
		// the slot, the DS Summary 2 comes first, and after a write the
		// DS Summary 3 (unchanged when the slot refused the write). A
		// reader without an operator ID gets no summary, so the relay
		// resistance data lead.
		var extra []byte
		if ds := a.cfg.DataStorage; ds != nil && a.txn.ds {
			extra = bytes.Clone(a.dsSummary)
			if ds.Unsigned {
				extra = nil
			}
			if ds.SignedSummary != nil {
				extra = bytes.Clone(ds.SignedSummary)
			}
			if dsInput != nil {
				if !dsFailed {
					a.dsWrite(dsInput)
				}
				if !ds.Unsigned {
					extra = append(extra, a.dsSummary...)
				}
			}
		}
		extra = append(extra, a.txn.rrData...)
		sdad, err := a.icc.SignCDA(oda.DynamicData{Number: idn, CID: cid, AC: ac, TransactionDataHash: hash, Extra: extra}, tags[0x9F37])
		if err != nil {
			return rsw(apdu.SW6F00)
		}
		objs = append(append(head, obj(0x9F4B, sdad)), tail...)
		res.Signed = true
	} else {
		objs = append(append(head, obj(0x9F26, ac)), tail...)
	}
	resp, err := tlv.EncodeConstructed(0x77, objs...)
	if err != nil || len(resp) > 256 {
		return rsw(apdu.SW6F00)
	}
	res.ATC, res.CID = a.txn.atc, cid
	a.finish(res, amount)
	if a.cfg.TornRecovery {
		// Kept in case the reader never gets it: the DRDOL related data
		// (9F37, 9F02) of this command recover it.
		a.lastGAC = &lastGAC{drdol: append(append([]byte(nil), term[0x9F37]...), term[0x9F02]...), resp: ok(bytes.Clone(resp))}
	}
	return ok(resp)
}

// recoverAC answers RECOVER AC (Book C-2 torn transaction recovery): after
// GET PROCESSING OPTIONS, with DRDOL related data equal to those of the
// last GENERATE AC, it answers that command's response again (once) and
// ends the transaction; anything else is '6A88' and the reader sends a new
// GENERATE AC.
func (a *App) recoverAC(cmd apdu.Command) []byte {
	if !a.txn.gpo || a.txn.acDone {
		return rsw(apdu.SW6985)
	}
	last := a.lastGAC
	if last == nil || !bytes.Equal(cmd.Data, last.drdol) {
		return rsw(apdu.SW6A88)
	}
	a.lastGAC = nil
	a.txn.acDone = true
	return bytes.Clone(last.resp)
}

// relayResistance answers EXCHANGE RELAY RESISTANCE DATA (Book C-2): after
// GET PROCESSING OPTIONS and before GENERATE AC, with the terminal's 4-byte
// entropy, template 80 with the device's entropy (4 random bytes), its
// minimum and maximum processing times and its estimated R-APDU
// transmission time. The time the exchange takes goes to Elapse.
func (a *App) relayResistance(cmd apdu.Command) []byte {
	rr := a.cfg.RelayResistance
	if !a.txn.gpo || a.txn.acDone {
		return rsw(apdu.SW6985)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return rsw(apdu.SW6A86)
	}
	if len(cmd.Data) != 4 {
		return rsw(apdu.SW6700)
	}
	a.txn.rrd++
	took := rr.Processing
	if rr.Slow > 0 && (rr.SlowCount == 0 || a.txn.rrd <= rr.SlowCount) {
		took = rr.Slow
	}
	if a.cfg.Elapse != nil {
		a.cfg.Elapse(2*rr.Transmission + took)
	}
	entropy := make([]byte, 4)
	if _, err := io.ReadFull(a.cfg.Rand, entropy); err != nil {
		return rsw(apdu.SW6F00)
	}
	v := append(entropy, units(rr.Min)...)
	v = append(v, units(rr.Max)...)
	v = append(v, units(rr.Transmission)...)
	a.txn.rrData = append(bytes.Clone(cmd.Data), v...)
	b, err := tlv.Encode(0x80, v)
	if err != nil {
		return rsw(apdu.SW6F00)
	}
	return ok(b)
}

// units codes a duration in units of 100 microseconds on 2 bytes.
func units(d time.Duration) []byte {
	n := d / (100 * time.Microsecond)
	if n > 0xFFFF {
		n = 0xFFFF
	}
	return u16(uint16(n))
}

// computeChecksum answers COMPUTE CRYPTOGRAPHIC CHECKSUM (80 2A 8E 80) in
// mag-stripe mode: after GET PROCESSING OPTIONS, once per transaction, with
// the UDOL related data (the Unpredictable Number (Numeric), 4 bytes). It
// returns 77 with CVC3(Track2) (9F61), CVC3(Track1) (9F60) when the card
// has Track 1 Data, and the ATC (9F36). The ATC is the one GET PROCESSING
// OPTIONS started; the transaction counts as online.
func (a *App) computeChecksum(cmd apdu.Command) []byte {
	if !a.txn.gpo || a.txn.acDone {
		return rsw(apdu.SW6985)
	}
	if cmd.P1 != 0x8E || cmd.P2 != 0x80 {
		return rsw(apdu.SW6A86)
	}
	if len(cmd.Data) != 4 {
		return rsw(apdu.SW6700)
	}
	mk, isMK := a.cfg.Keys.(MasterKey)
	if !isMK {
		return rsw(apdu.SW6985)
	}
	un := cmd.Data
	cvc := func(track []byte) ([]byte, error) {
		iv, err := cryptogram.CVC3IV(mk.MK, track)
		if err != nil {
			return nil, err
		}
		return cryptogram.ComputeCVC3(mk.MK, iv, un, a.txn.atc)
	}
	cvc2, err := cvc(a.msTrack2)
	if err != nil {
		return rsw(apdu.SW6F00)
	}
	objs := []tlv.TLV{obj(0x9F61, cvc2)}
	if a.msTrack1 != nil {
		cvc1, err := cvc(a.msTrack1)
		if err != nil {
			return rsw(apdu.SW6F00)
		}
		objs = append(objs, obj(0x9F60, cvc1))
	}
	objs = append(objs, obj(0x9F36, u16(a.txn.atc)))
	// A phone tells the reader whether its holder was verified on the
	// device (the reader then writes nUN' in the tracks).
	if h := a.cfg.Holder; h != nil {
		pcii := pciiNone
		if h.Verified() {
			pcii = pciiODCVMVerified
		}
		objs = append(objs, obj(0xDF4B, pcii))
	}
	resp, err := tlv.EncodeConstructed(0x77, objs...)
	if err != nil {
		return rsw(apdu.SW6F00)
	}
	a.finish(Result{ATC: a.txn.atc, CID: cidARQC}, 0)
	return ok(resp)
}

// dsWrite stores the DS ODS Term of the DSDOL related data as the slot's DS
// ODS Card and moves its summary on: this card's summary function (the
// issuer's choice; Book C-2 leaves it to the card) is the first 8 bytes of
// SHA-256 over the old summary, the DS Unpredictable Number and the DSDOL
// related data.
func (a *App) dsWrite(dsdolData []byte) {
	fixed := DSDOL[:len(DSDOL)-1].DataLen()
	h := sha256.New()
	h.Write(a.dsSummary)
	h.Write(a.txn.dsUN)
	h.Write(dsdolData)
	a.dsSummary = h.Sum(nil)[:8]
	a.dsODSCard = bytes.Clone(dsdolData[fixed:])
}
