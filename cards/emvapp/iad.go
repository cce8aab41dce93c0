package emvapp

import (
	"github.com/tapsim/tapsim/emv/cryptogram"
)

// cvrFlags are the facts the Card Verification Results record.
type cvrFlags struct {
	cid   byte // cryptogram type returned
	dda   bool // fDDA signed
	cda   bool // CDA signed
	cdcvm bool // the phone's verification served the transaction
}

// acBits codes the cryptogram type in bits 6-5 (00 AAC, 01 TC, 10 ARQC).
func acBits(cid byte) byte {
	switch cid {
	case cidTC:
		return 0x10
	case cidARQC:
		return 0x20
	}
	return 0
}

// deviceBinding is the issuer-discretionary device binding: 'D1' and the
// device ID padded with zeros to 8 bytes (R-S5d).
func deviceBinding(id []byte) []byte {
	out := make([]byte, 9)
	out[0] = 0xD1
	copy(out[1:], id)
	return out
}

// cardIAD is the transaction's 9F10: the key source's own when it writes
// one (IADSource), else the CVN's layout (iad).
func (a *App) cardIAD(f cvrFlags, idn []byte) ([]byte, error) {
	if s, ok := a.cfg.Keys.(IADSource); ok {
		return s.IAD(a.txn.atc, f.cid, f.cdcvm)
	}
	return a.iad(f, idn), nil
}

// finalIAD is the 9F10 to send once the cryptogram is made: the key
// source's final one (IADFinisher), else iad unchanged.
func (a *App) finalIAD(iad []byte) []byte {
	if f, ok := a.cfg.Keys.(IADFinisher); ok {
		if out := f.FinalIAD(); out != nil {
			return out
		}
	}
	return iad
}

// iad builds Issuer Application Data (9F10) in the CVN's layout (see the
// package documentation), with idn the 2-byte DAC/ICC dynamic number field
// of the Mastercard layout.
func (a *App) iad(f cvrFlags, idn []byte) []byte {
	c := &a.cfg
	switch c.CVN.Scheme {
	case cryptogram.SchemeVisa:
		if c.CVN.ID == 0x22 {
			// Format 2: 1F CVN DKI CVR(5) IDD(24).
			out := make([]byte, 32)
			out[0], out[1], out[2] = 0x1F, c.CVN.ID, c.DKI
			out[3] = acBits(f.cid)
			if f.dda {
				out[3] |= 0x04
			}
			if f.cdcvm {
				out[5] |= 0x08
			}
			if c.DeviceID != nil {
				copy(out[8:], deviceBinding(c.DeviceID))
			}
			return out
		}
		// Format 0/1/3: 06 DKI CVN 03 CVR(3) [0F IDD(15)].
		out := []byte{0x06, c.DKI, c.CVN.ID, 0x03, acBits(f.cid), 0x00, 0x00}
		if f.dda {
			out[6] |= 0x02
		}
		if f.cdcvm {
			out[6] |= 0x01
		}
		if c.DeviceID != nil {
			idd := make([]byte, 15)
			copy(idd, deviceBinding(c.DeviceID))
			out = append(append(out, 0x0F), idd...)
		}
		return out
	default:
		// DKI CVN CVR(6) DAC/IDN(2) counters(8) [device binding].
		cvr := make([]byte, 6)
		cvr[0] = acBits(f.cid)
		if f.cda {
			cvr[1] |= 0x40
		}
		if f.cdcvm {
			cvr[5] |= 0x01
		}
		out := append([]byte{c.DKI, c.CVN.ID}, cvr...)
		if len(idn) < 2 {
			idn = []byte{0, 0}
		}
		out = append(out, idn[:2]...)
		n := a.state.ConsecutiveOffline
		if n > 0xFFFF {
			n = 0xFFFF
		}
		out = append(out, byte(n>>8), byte(n))
		out = append(out, bcdAmount(a.state.CumulativeOffline)...)
		if c.DeviceID != nil {
			out = append(out, deviceBinding(c.DeviceID)...)
		}
		return out
	}
}
