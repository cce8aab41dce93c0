package emvapp

import (
	"bytes"
	"io"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// Terminal Transaction Qualifiers (9F66) bits, as (byte index, mask).
var (
	ttqQVSDC          = [2]byte{0, 0x20} // qVSDC supported
	ttqOfflineOnly    = [2]byte{0, 0x08} // offline-only reader
	ttqOnlinePIN      = [2]byte{0, 0x04} // online PIN supported
	ttqSignature      = [2]byte{0, 0x02} // signature supported
	ttqODAOnline      = [2]byte{0, 0x01} // ODA for online authorisations supported
	ttqOnlineRequired = [2]byte{1, 0x80} // online cryptogram required
	ttqCVMRequired    = [2]byte{1, 0x40} // CVM required
	ttqCDCVM          = [2]byte{2, 0x40} // consumer device CVM supported
)

func bit(b []byte, at [2]byte) bool { return int(at[0]) < len(b) && b[at[0]]&at[1] != 0 }

// Card Transaction Qualifiers (9F6C) bits the card sets per transaction.
const (
	ctq1OnlinePIN byte = 0x80 // byte 1 b8: online PIN required
	ctq1Signature byte = 0x40 // byte 1 b7: signature required
	ctq2CDCVM     byte = 0x80 // byte 2 b8: consumer device CVM performed
)

// qvsdc runs the qVSDC transaction of a GET PROCESSING OPTIONS (see the
// package documentation) and answers in format 2.
func (a *App) qvsdc(term tlv.Map) []byte {
	ttq := term[0x9F66] // 4 bytes with qVSDC: gpo checked it
	amount := amountOf(term[0x9F02])
	cvmRequired := bit(ttq, ttqCVMRequired)

	ctq := bytes.Clone(a.cfg.CTQ)
	ctq[0] &^= ctq1OnlinePIN | ctq1Signature
	ctq[1] &^= ctq2CDCVM

	var res Result
	decline := false
	if h := a.cfg.Holder; h != nil {
		switch {
		case h.Verified() && bit(ttq, ttqCDCVM):
			ctq[1] |= ctq2CDCVM
			res.CDCVM = true
		case h.AlwaysVerify() && !h.Verified():
			// Only reached when the reader cannot do CDCVM (seePhone
			// answered otherwise): a phone that must verify declines.
			decline = true
		}
	}
	if !decline && !res.CDCVM && cvmRequired {
		switch {
		case a.cfg.CVMs.OnlinePIN && bit(ttq, ttqOnlinePIN):
			ctq[0] |= ctq1OnlinePIN
			res.OnlinePIN = true
		case a.cfg.CVMs.Signature && bit(ttq, ttqSignature):
			ctq[0] |= ctq1Signature
			res.Signature = true
		}
	}

	cid := cidARQC
	switch {
	case decline:
		cid = cidAAC
	case bit(ttq, ttqOnlineRequired) || res.OnlinePIN:
		cid = cidARQC
		if bit(ttq, ttqOfflineOnly) {
			cid = cidAAC
		}
	case isRefund(term):
		// VCPS: a qVSDC card answers a refund with an AAC; the refund
		// reaches the issuer in clearing, not as an authorisation.
		cid = cidAAC
	case a.offlineOK(amount):
		cid = cidTC
	case bit(ttq, ttqOfflineOnly):
		cid = cidAAC
	}

	sign := a.icc != nil && (cid == cidTC || (cid == cidARQC && bit(ttq, ttqODAOnline)))
	var cardAuth []byte
	if sign || a.cfg.Holder != nil {
		un := make([]byte, 4)
		if _, err := io.ReadFull(a.cfg.Rand, un); err != nil {
			return rsw(apdu.SW6F00)
		}
		cardAuth = append(append([]byte{0x01}, un...), ctq...)
	}

	iad, err := a.cardIAD(cvrFlags{cid: cid, dda: sign, cdcvm: res.CDCVM}, nil)
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

	objs := []tlv.TLV{
		obj(0x82, a.aip),
		obj(0x94, a.afl),
		obj(0x57, a.track2),
	}
	if a.cfg.PSN != "" {
		objs = append(objs, obj(0x5F34, psn(a.cfg.PSN)))
	}
	objs = append(objs,
		obj(0x9F10, iad),
		obj(0x9F26, ac),
		obj(0x9F27, []byte{cid}),
		obj(0x9F36, u16(a.txn.atc)),
		obj(0x9F6C, ctq),
	)
	if a.cfg.FormFactor != nil {
		objs = append(objs, obj(0x9F6E, a.cfg.FormFactor))
	}
	if cardAuth != nil {
		objs = append(objs, obj(0x9F69, cardAuth))
	}
	if sign {
		data, err := oda.FDDAData(tags[0x9F37], tags[0x9F02], tags[0x5F2A], cardAuth)
		if err != nil {
			return rsw(apdu.SW6F00)
		}
		sdad, err := a.icc.SignDDA(u16(a.txn.atc), data)
		if err != nil {
			return rsw(apdu.SW6F00)
		}
		objs = append(objs, obj(0x9F4B, sdad))
		res.Signed = true
	}
	resp, err := tlv.EncodeConstructed(0x77, objs...)
	if err != nil || len(resp) > 256 {
		return rsw(apdu.SW6F00)
	}
	res.ATC, res.CID = a.txn.atc, cid
	a.finish(res, amount)
	return ok(resp)
}

// seePhone reports whether a phone needs the holder's verification for this
// transaction, has not got it, and the reader supports consumer device CVM
// (so that it can show See Phone and take a second tap).
func (a *App) seePhone(ttq []byte, amount int64) bool {
	h := a.cfg.Holder
	if h == nil || h.Verified() || !bit(ttq, ttqCDCVM) {
		return false
	}
	return bit(ttq, ttqCVMRequired) || h.AlwaysVerify() || (a.cfg.CVMLimit > 0 && amount > a.cfg.CVMLimit)
}

// finish records the result, updates the counters and tells the phone.
func (a *App) finish(res Result, amount int64) {
	a.txn.acDone = true
	a.last = res
	a.account(res.CID, amount)
	if a.cfg.Holder != nil {
		a.cfg.Holder.Done(res)
	}
}

// isRefund reports whether the terminal's Transaction Type (9C) is a refund.
func isRefund(term tlv.Map) bool {
	t := term[0x9C]
	return len(t) == 1 && t[0] == 0x20
}
