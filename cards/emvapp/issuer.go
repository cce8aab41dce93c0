package emvapp

import (
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
)

// externalAuthenticate answers EXTERNAL AUTHENTICATE on the presentation
// after an online cryptogram (Issuer Update Processing, Book C-3 and VCPS):
// the Issuer Authentication Data (91) is the ARPC followed by the ARC (2
// bytes, ARPC method 1) or the CSU and any proprietary authentication data
// (method 2), checked against the last ARQC with the card's key. '9000' when
// it verifies, '6300' when it does not; '6985' without an online cryptogram
// to answer, once a GET PROCESSING OPTIONS started a new transaction, or on
// a second try in the same presentation.
func (a *App) externalAuthenticate(cmd apdu.Command) []byte {
	if a.online == nil || a.txn.gpo || a.txn.eaDone {
		return rsw(apdu.SW6985)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return rsw(apdu.SW6A86)
	}
	a.txn.eaDone = true
	v, ok := a.cfg.Keys.(ARPCVerifier)
	if !ok {
		// A key source that cannot check an ARPC (single-use keys) takes
		// no issuer authentication.
		return rsw(apdu.SW6985)
	}
	iad := cmd.Data
	var arpc, resp, prop []byte
	switch a.cfg.CVN.ARPCMethod {
	case cryptogram.ARPC1:
		if len(iad) != 10 {
			return rsw(apdu.SW6700)
		}
		arpc, resp = iad[:8], iad[8:]
	default:
		if len(iad) < 8 || len(iad) > 16 {
			return rsw(apdu.SW6700)
		}
		arpc, resp, prop = iad[:4], iad[4:8], iad[8:]
	}
	online := a.online
	a.online = nil // one answer per online cryptogram
	if err := v.VerifyARPC(a.cfg.CVN, online.tags, online.ac, resp, prop, arpc); err != nil {
		return rsw(apdu.SW6300)
	}
	a.txn.issuerAuth = true
	return rsw(apdu.SW9000)
}

// script answers the issuer script commands the application knows, after
// a successful issuer authentication in the same presentation ('6985'
// otherwise): APPLICATION BLOCK (84 1E) and APPLICATION UNBLOCK (84 18),
// which set and clear State.Blocked, and PUT DATA (04/84 DA) of the Upper
// Consecutive Offline Limit (9F23), which becomes Offline.MaxConsecutive.
// The secure messaging MAC (the command's last 4 to 8 bytes) is taken as
// sent: tapsim's cards hold no script MAC key.
func (a *App) script(cmd apdu.Command) []byte {
	if !a.txn.issuerAuth {
		return rsw(apdu.SW6985)
	}
	switch cmd.INS {
	case 0x1E:
		a.state.Blocked = true
	case 0x18:
		a.state.Blocked = false
	case 0xDA:
		tag := uint16(cmd.P1)<<8 | uint16(cmd.P2)
		if tag != 0x9F23 {
			return rsw(apdu.SW6A88)
		}
		if len(cmd.Data) < 5 {
			return rsw(apdu.SW6700)
		}
		a.cfg.Offline.MaxConsecutive = int(cmd.Data[0])
	}
	return rsw(apdu.SW9000)
}
