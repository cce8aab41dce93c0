// Package emvapp is the EMV payment application shared by every virtual card
// and phone: one engine, two behaviours, answering the APDUs of the
// contactless kernels of EMV Contactless Books C-2 and C-3.
//
// # Visa-like qVSDC (kernel C-3)
//
// SELECT returns the FCI with a PDOL asking for the Terminal Transaction
// Qualifiers (9F66) and the transaction data. GET PROCESSING OPTIONS does
// the whole transaction at the card: it decides the cryptogram (AAC, TC or
// ARQC) and the CVM, and answers in format 2 (77) with AIP, AFL, track 2
// equivalent data (57), PSN, Issuer Application Data (9F10), the
// cryptogram (9F26, 9F27, 9F36), the Card Transaction Qualifiers (9F6C),
// the Form Factor Indicator (9F6E) and, for fDDA or on a phone, the Card
// Authentication Related Data (9F69: version 01, card unpredictable number,
// CTQ) and the fDDA signature (9F4B). Records (READ RECORD) carry the PAN,
// dates, cardholder name and the certificates for ODA.
//
// fDDA (version 01) is signed when the card approves offline (TC), or for
// an online cryptogram when the terminal sets TTQ byte 1 bit 1 (ODA for
// online authorisations). The ICC Dynamic Number is the ATC; the terminal
// dynamic data are 9F37 || 9F02 || 5F2A || 9F69 (oda.FDDAData).
//
// CVM: a phone whose holder is verified on the device sets CTQ byte 2 bit 8
// "Consumer Device CVM Performed" when the terminal supports CDCVM (TTQ
// byte 3 bit 7), with the CTQ copied in 9F69. Otherwise, when the TTQ asks
// for a CVM (byte 2 bit 7), the card sets "Online PIN Required" (CTQ byte 1
// bit 8) or "Signature Required" (byte 1 bit 7) from what it and the
// terminal support. A phone that needs CDCVM (the TTQ asks for a CVM, it
// always verifies, or the amount is above its own CVM limit), has not
// verified its holder and is read by a terminal that supports CDCVM answers
// GET PROCESSING OPTIONS with status '6986' (Book C-3: the reader shows
// "See Phone" and tries again once the holder has verified); no
// transaction starts, so no ATC and no single-use key are spent. A phone
// that must always verify, read by a terminal without CDCVM, declines with
// an AAC.
//
// # Mastercard-like M/Chip (kernel C-2)
//
// SELECT returns the FCI (no PDOL by default); GET PROCESSING OPTIONS
// returns AIP and AFL (77); READ RECORD returns the records (track 2, PAN,
// dates, CDOL1, CDOL2, CVM list, IACs, certificates); GENERATE AC with the
// CDOL1 data returns 77 { 9F27, 9F36, 9F26 or (with CDA) 9F4B, 9F10 } and,
// on a phone, the POS Cardholder Interaction Information (DF4B).
//
// CDA (EMV Book 2 section 6.6) is signed when GENERATE AC P1 asks for it
// (bit '10') and the cryptogram is a TC or an ARQC; the ICC Dynamic Number
// is 8 bytes from the card's random source and the Transaction Data Hash
// Code covers the PDOL data, the CDOL1 data and the response objects.
//
// On-device CVM: a phone needs CDCVM when it always does (HCE), when the
// kernel's Mobile Support Indicator (9F7E) says "OD-CVM required" (bit 2,
// set by a C-2 kernel above its CVM Required Limit), when the CVM Results
// (9F34) name CDCVM ("confirmation code verified", '01'), when Terminal Risk
// Management Data (9F1D) byte 2 bit 8 says the CVM limit is exceeded, or
// above its own CVM limit. If it needs CDCVM, has not verified the holder
// and the kernel supports mobile (9F7E bit 1 or 2), it declines with an AAC
// and DF4B = '00 01 00' ("OD-CVM required", byte 2 bit 1), so that the
// kernel shows See Phone and waits for a second tap. A kernel without
// mobile support is left to its own CVM (CVM List), except by a phone that
// always verifies, which declines. A verified phone returns DF4B =
// '00 10 00' ("OD-CVM verification successful", byte 2 bit 5).
//
// # Issuer Application Data and Card Verification Results
//
// 9F10 follows emv/cryptogram's layouts. Visa CVN 10 and 18 use format
// 0/1/3: '06' DKI CVN '03' CVR(3), then '0F' and 15 bytes of issuer
// discretionary data (IDD) when the card is bound to a device; CVN '22'
// uses format 2: '1F' CVN DKI CVR(5) and 24 IDD bytes. Mastercard: DKI CVN
// CVR(6) DAC/IDN(2) counters(8), then the device binding when there is one.
// The device binding is 'D1' followed by the device ID, padded with zeros to
// 8 bytes (R-S5d).
//
// CVR bits set (others zero): the type of the first cryptogram (Visa
// format 1: CVR byte 2 bits 6-5; format 2: byte 1 bits 6-5; Mastercard:
// byte 1 bits 6-5; 00 AAC, 01 TC, 10 ARQC); fDDA performed (Visa format 1:
// byte 4 bit 2; format 2: byte 1 bit 3); CDA performed (Mastercard: byte 2
// bit 7); and this package's own flag for CDCVM performed (Visa format 1:
// byte 4 bit 1; format 2: byte 3 bit 4; Mastercard: byte 6 bit 1). The
// Mastercard counters are: the number of consecutive offline approvals
// (2 bytes), then the cumulative offline amount (6 bytes, BCD).
//
// # State
//
// The ATC and the offline counters persist across taps (State, SetState);
// the transaction state is cleared by every SELECT and by Deselect (the
// card leaving the field). An online cryptogram resets the offline
// counters: tapsim does not model issuer scripts, and the issuer host sees
// every online transaction.
package emvapp

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
)

// State is what the application keeps from one tap to the next.
type State struct {
	// ATC is the Application Transaction Counter of the last transaction.
	ATC uint16
	// LastOnlineATC is the ATC of the last online cryptogram (9F13).
	LastOnlineATC uint16
	// ConsecutiveOffline counts offline approvals since the last online
	// cryptogram; CumulativeOffline sums their amounts.
	ConsecutiveOffline int
	CumulativeOffline  int64
	// Blocked is set by an APPLICATION BLOCK issuer script command and
	// cleared by APPLICATION UNBLOCK.
	Blocked bool
}

// Result describes the last transaction the application answered, for
// tests and traces: never a key, never the PAN.
type Result struct {
	ATC       uint16
	CID       byte // 9F27: 00 AAC, 40 TC, 80 ARQC
	CDCVM     bool // the phone's verification served the transaction
	SeePhone  bool // declined asking the holder to look at the phone
	Signed    bool // fDDA or CDA signature returned
	OnlinePIN bool // Visa: CTQ asked for online PIN
	Signature bool // Visa: CTQ asked for a signature
}

// record is one record of the application's files.
type record struct {
	sfi, num byte
	body     []byte // the whole 70 template
}

// App is one personalised EMV application. Build it with New. It is not
// safe for concurrent use.
type App struct {
	cfg     Config
	aip     []byte
	afl     []byte
	pdol    tlv.DOL
	cdol1   tlv.DOL
	records []record
	fci     []byte
	entry   []byte
	track2  []byte
	icc     *oda.ICC
	// msTrack2 and msTrack1 are the mag-stripe mode track data as
	// personalised (9F6B, 56).
	msTrack2, msTrack1 []byte

	state State
	last  Result
	txn   txn
	// online is the last online cryptogram, which the issuer's ARPC
	// answers on the next presentation (Issuer Update Processing).
	online *onlineAC
	// lastGAC is the last GENERATE AC response and the DRDOL related data
	// that recover it (torn transaction recovery).
	lastGAC *lastGAC
	// written holds the values the terminal wrote with PUT DATA.
	written map[uint16][]byte
	// dsSummary is the data storage slot's current summary (DS Summary 1,
	// zeros while the slot is empty) and dsODSCard its content (DS ODS
	// Card); nil without data storage.
	dsSummary, dsODSCard []byte
}

// lastGAC is a GENERATE AC response kept for RECOVER AC.
type lastGAC struct {
	drdol []byte
	resp  []byte
}

// onlineAC is an ARQC and the data it covered.
type onlineAC struct {
	tags cryptogram.Values
	ac   []byte
}

// txn is the state of the transaction in progress.
type txn struct {
	selected bool
	gpo      bool
	acDone   bool
	atc      uint16
	pdolData []byte
	// rrd counts EXCHANGE RELAY RESISTANCE DATA commands; rrData is the
	// last one's terminal entropy, device entropy and times, which a CDA
	// signature then covers.
	rrd    int
	rrData []byte
	// issuerAuth is set once EXTERNAL AUTHENTICATE verified the ARPC;
	// eaDone once it was tried.
	issuerAuth, eaDone bool
	// ds is true when the reader's DS Requested Operator ID (9F5C in the
	// PDOL related data) opens the data storage slot for this transaction;
	// dsUN is the DS Unpredictable Number given with it.
	ds   bool
	dsUN []byte
}

// hasTag reports whether dol asks for tag.
func hasTag(dol tlv.DOL, tag tlv.Tag) bool {
	for _, e := range dol {
		if e.Tag == tag {
			return true
		}
	}
	return false
}

// dsOpens reports whether the DS Requested Operator ID a reader sent opens
// the data storage slot: one is sent (8 bytes, not all zero) and, when the
// slot belongs to an operator, it is that operator's.
func (a *App) dsOpens(opID []byte) bool {
	ds := a.cfg.DataStorage
	if ds == nil || len(opID) != 8 || bytes.Equal(opID, make([]byte, 8)) {
		return false
	}
	return ds.OperatorID == nil || bytes.Equal(ds.OperatorID, opID)
}

// New personalises an application from cfg: it builds the FCI, the
// records, the AFL and, with ODA, the ICC certificate over the static data.
func New(cfg Config) (*App, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg}
	if ds := cfg.DataStorage; ds != nil {
		a.dsSummary = make([]byte, 8)
		if len(ds.ODSCard) > 0 {
			a.dsSummary = bytes.Clone(ds.Summary)
			a.dsODSCard = bytes.Clone(ds.ODSCard)
		}
	}
	if a.cfg.Language == "" {
		a.cfg.Language = "zhen"
	}
	if a.cfg.ServiceCode == "" {
		a.cfg.ServiceCode = "201"
	}
	if a.cfg.IssuerCountry == 0 {
		a.cfg.IssuerCountry = 158
	}
	if a.cfg.Currency == 0 {
		a.cfg.Currency = 901
	}
	if a.cfg.KernelID == 0 {
		a.cfg.KernelID = cfg.Scheme.KernelID()
	}
	if a.cfg.CTQ == nil {
		a.cfg.CTQ = []byte{0x20, 0x00}
	}
	a.pdol = cfg.PDOL
	if a.pdol == nil {
		a.pdol = DefaultPDOL(cfg.Scheme)
	}
	if cfg.DataStorage != nil && cfg.Scheme == Mastercard && !hasTag(a.pdol, 0x9F5C) {
		// A card with data storage learns the reader's DS Requested
		// Operator ID from the PDOL related data.
		a.pdol = append(append(tlv.DOL{}, a.pdol...), tlv.DOLEntry{Tag: 0x9F5C, Len: 8})
	}
	a.cdol1 = cfg.CDOL1
	if a.cdol1 == nil && cfg.Scheme == Mastercard {
		a.cdol1 = DefaultCDOL1(cfg.Holder != nil)
	}
	a.aip = a.defaultAIP()
	if cfg.AIP != nil {
		a.aip = bytes.Clone(cfg.AIP)
	}
	t2, err := track2(a.cfg.PAN, a.cfg.Expiry, a.cfg.ServiceCode)
	if err != nil {
		return nil, err
	}
	a.track2 = t2
	if err := a.build(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *App) defaultAIP() []byte {
	switch a.cfg.Scheme {
	case Visa:
		if a.cfg.ODA != nil {
			return []byte{0x20, 0x00} // DDA (fDDA) supported
		}
		return []byte{0x00, 0x00}
	default:
		b1 := byte(0x18) // cardholder verification; terminal risk management
		if a.cfg.ODA != nil {
			b1 |= 0x01 // CDA supported
		}
		if a.cfg.Holder != nil {
			b1 |= 0x02 // on-device cardholder verification supported
		}
		b2 := byte(0x80) // byte 2 b8: EMV mode supported
		if ms := a.cfg.MagStripe; ms != nil && !ms.EMV {
			b2 = 0 // a card without M/Chip: mag-stripe mode only
		}
		if a.cfg.RelayResistance != nil {
			b2 |= 0x01 // byte 2 b1: relay resistance protocol supported
		}
		return []byte{b1, b2}
	}
}

// AID returns the application identifier.
func (a *App) AID() []byte { return bytes.Clone(a.cfg.AID) }

// Scheme returns the application's behaviour.
func (a *App) Scheme() Scheme { return a.cfg.Scheme }

// PAN returns the application PAN (a token PAN for tokenised cards). It is
// cardholder data: callers must mask it before showing or logging it.
func (a *App) PAN() string { return a.cfg.PAN }

// Expiry returns the application expiration date.
func (a *App) Expiry() Date { return a.cfg.Expiry }

// AIP returns the Application Interchange Profile.
func (a *App) AIP() []byte { return bytes.Clone(a.aip) }

// ICC returns the card's ODA signer, or nil without ODA.
func (a *App) ICC() *oda.ICC { return a.icc }

// State returns the persistent state.
func (a *App) State() State { return a.state }

// SetState restores a persistent state (saved state, test scenarios).
func (a *App) SetState(s State) { a.state = s }

// Last returns what the last transaction produced.
func (a *App) Last() Result { return a.last }

// DirectoryEntry returns the value of the PPSE directory entry (61): 4F
// AID, 50 label, 87 priority, 9F2A kernel identifier.
func (a *App) DirectoryEntry() []byte { return bytes.Clone(a.entry) }

// String names the application without cardholder data.
func (a *App) String() string {
	return fmt.Sprintf("%v application %X (%s), ATC %04X", a.cfg.Scheme, a.cfg.AID, a.cfg.CVN.Name, a.state.ATC)
}

// GoString is String, so that %#v shows no keys or card data.
func (a *App) GoString() string { return a.String() }

func rsw(s uint16) []byte { return []byte{byte(s >> 8), byte(s)} }

func ok(data []byte) []byte { return append(data, 0x90, 0x00) }

// Select starts a new transaction and returns the FCI.
func (a *App) Select() []byte {
	a.txn = txn{selected: true}
	if sw, bad := a.cfg.Faults[0xA4]; bad {
		a.txn = txn{}
		return rsw(sw)
	}
	if a.cfg.Blocked || a.state.Blocked {
		return append(bytes.Clone(a.fci), 0x62, 0x83)
	}
	return ok(bytes.Clone(a.fci))
}

// Deselect ends the transaction in progress.
func (a *App) Deselect() { a.txn = txn{} }

// Process answers a command while the application is selected. Unknown
// instructions get '6D00'; everything else follows the scheme.
func (a *App) Process(cmd apdu.Command) []byte {
	if !a.txn.selected {
		return rsw(apdu.SW6985)
	}
	if sw, bad := a.cfg.Faults[cmd.INS]; bad {
		return rsw(sw)
	}
	switch {
	case cmd.CLA == 0x80 && cmd.INS == 0xA8:
		return a.gpo(cmd)
	case cmd.CLA == 0x00 && cmd.INS == 0xB2:
		return a.readRecord(cmd)
	case cmd.CLA == 0x80 && cmd.INS == 0xAE:
		if a.cfg.Scheme != Mastercard {
			return rsw(apdu.SW6985)
		}
		return a.generateAC(cmd)
	case cmd.CLA == 0x80 && cmd.INS == 0xCA:
		return a.getData(cmd)
	case cmd.CLA == 0x80 && cmd.INS == 0xDA && a.cfg.Scheme == Mastercard:
		return a.putData(cmd)
	case cmd.CLA == 0x80 && cmd.INS == 0xEA && a.cfg.RelayResistance != nil:
		return a.relayResistance(cmd)
	case cmd.CLA == 0x80 && cmd.INS == 0xD0 && a.cfg.TornRecovery:
		return a.recoverAC(cmd)
	case cmd.CLA == 0x80 && cmd.INS == 0x2A && a.cfg.MagStripe != nil:
		return a.computeChecksum(cmd)
	case cmd.CLA == 0x00 && cmd.INS == 0x82:
		return a.externalAuthenticate(cmd)
	case (cmd.CLA == 0x84 || cmd.CLA == 0x04) && (cmd.INS == 0x1E || cmd.INS == 0x18 || cmd.INS == 0xDA):
		return a.script(cmd)
	}
	return rsw(apdu.SW6D00)
}

// readRecord answers READ RECORD: P1 the record number, P2 = SFI << 3 | 4.
func (a *App) readRecord(cmd apdu.Command) []byte {
	if cmd.P2&0x07 != 0x04 || cmd.P1 == 0 {
		return rsw(apdu.SW6A86)
	}
	if len(cmd.Data) != 0 {
		return rsw(apdu.SW6700)
	}
	sfi := cmd.P2 >> 3
	found := false
	for _, r := range a.records {
		if r.sfi != sfi {
			continue
		}
		found = true
		if r.num == cmd.P1 {
			return ok(bytes.Clone(r.body))
		}
	}
	if !found {
		return rsw(apdu.SW6A82)
	}
	return rsw(apdu.SW6A83)
}

// getData answers GET DATA for the ATC (9F36) and the last online ATC
// register (9F13); anything else is '6A88'.
func (a *App) getData(cmd apdu.Command) []byte {
	tag := tlv.Tag(uint32(cmd.P1)<<8 | uint32(cmd.P2))
	var v []byte
	switch tag {
	case 0x9F36:
		v = u16(a.state.ATC)
	case 0x9F13:
		v = u16(a.state.LastOnlineATC)
	case 0x9F50:
		if !a.cfg.BalanceReading {
			return rsw(apdu.SW6A88)
		}
		v = bcdAmount(max(a.cfg.Offline.Limit-a.state.CumulativeOffline, 0))
	default:
		w, ok := a.written[uint16(tag)]
		if !ok {
			return rsw(apdu.SW6A88)
		}
		v = w
	}
	b, err := tlv.Encode(tag, v)
	if err != nil {
		return rsw(apdu.SW6F00)
	}
	return ok(b)
}

// putData answers the C-2 PUT DATA of a Tags To Write data object (80 DA,
// the tag in P1 P2, the value as data): a writable tag's value is kept
// (at most 255 bytes), any other is refused with 6A88.
func (a *App) putData(cmd apdu.Command) []byte {
	tag := uint16(cmd.P1)<<8 | uint16(cmd.P2)
	if !slices.Contains(a.cfg.WritableTags, tag) {
		return rsw(apdu.SW6A88)
	}
	if a.written == nil {
		a.written = make(map[uint16][]byte)
	}
	a.written[tag] = bytes.Clone(cmd.Data)
	return rsw(apdu.SW9000)
}

// gpo checks GET PROCESSING OPTIONS and starts the transaction.
func (a *App) gpo(cmd apdu.Command) []byte {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return rsw(apdu.SW6A86)
	}
	if a.txn.gpo || a.cfg.Blocked || a.state.Blocked {
		return rsw(apdu.SW6985)
	}
	l, err := tlv.Decode(cmd.Data)
	if err != nil || len(l) != 1 || l[0].Tag != 0x83 || len(l[0].Value) != a.pdol.DataLen() {
		return rsw(apdu.SW6700)
	}
	pdolData := l[0].Value
	terminal, err := a.pdol.Split(pdolData)
	if err != nil {
		return rsw(apdu.SW6700)
	}
	term := terminal.Map()
	if a.cfg.Scheme == Visa {
		ttq := term[0x9F66]
		if len(ttq) != 4 || !bit(ttq, ttqQVSDC) {
			// The reader does not do qVSDC: this application has no other
			// contactless path, and no transaction starts.
			return rsw(apdu.SW6985)
		}
		if a.seePhone(ttq, amountOf(term[0x9F02])) {
			// Book C-3: '6986' asks the reader to show See Phone and to
			// try again once the holder has verified on the device. No
			// transaction starts: no ATC, no key is used.
			res := Result{SeePhone: true}
			a.last = res
			a.cfg.Holder.Done(res)
			return rsw(apdu.SW6986)
		}
	}
	atc, err := a.cfg.Keys.Next(a.state.ATC)
	if err != nil {
		return rsw(apdu.SW6985)
	}
	a.txn.gpo = true
	a.txn.atc = atc
	a.txn.pdolData = bytes.Clone(pdolData)
	a.state.ATC = atc
	if a.cfg.Scheme == Visa {
		return a.qvsdc(term)
	}
	objs := []tlv.TLV{{Tag: 0x82, Value: a.aip}, {Tag: 0x94, Value: a.afl}}
	a.txn.ds = a.dsSummary != nil && a.dsOpens(term[0x9F5C])
	if ds := a.cfg.DataStorage; a.txn.ds {
		// The slot as it is now (it changes with each write, so it is not
		// in the records) and a fresh challenge for the terminal's
		// summary calculation.
		a.txn.dsUN = make([]byte, 4)
		if _, err := io.ReadFull(a.cfg.Rand, a.txn.dsUN); err != nil {
			return rsw(apdu.SW6F00)
		}
		objs = append(objs,
			tlv.TLV{Tag: 0x9F5F, Value: []byte{ds.slotType()}},
			tlv.TLV{Tag: 0x9F7D, Value: bytes.Clone(a.dsSummary)},
			tlv.TLV{Tag: 0x9F7F, Value: bytes.Clone(a.txn.dsUN)},
			tlv.TLV{Tag: 0x9F6F, Value: []byte{ds.slotManagement()}})
		if len(a.dsODSCard) > 0 {
			objs = append(objs, tlv.TLV{Tag: 0x9F54, Value: bytes.Clone(a.dsODSCard)})
		}
	}
	resp, err := tlv.EncodeConstructed(0x77, objs...)
	if err != nil {
		return rsw(apdu.SW6F00)
	}
	return ok(resp)
}

// terminalData fills the cryptogram's data elements: the terminal's from m
// (zeros of the right length when absent), then AIP, ATC and IAD.
func (a *App) terminalData(m tlv.Map, atc uint16, iad []byte) cryptogram.Values {
	v := cryptogram.Values{}
	for _, tag := range cryptogram.MinimumDataSet() {
		n, _ := cryptogram.ElementLength(tag)
		val, ok := m[tlv.Tag(tag)]
		if !ok || len(val) != n {
			val = make([]byte, n)
		}
		v[tag] = val
	}
	v[cryptogram.TagAIP] = a.aip
	v[cryptogram.TagATC] = u16(atc)
	v[cryptogram.TagIssuerAppData] = iad
	return v
}

// offlineOK applies the card's offline risk management to an amount.
func (a *App) offlineOK(amount int64) bool {
	o := a.cfg.Offline
	if !o.Allowed {
		return false
	}
	if o.MaxConsecutive > 0 && a.state.ConsecutiveOffline >= o.MaxConsecutive {
		return false
	}
	return a.state.CumulativeOffline+amount <= o.Limit
}

// account updates the offline counters once a cryptogram is out.
func (a *App) account(cid byte, amount int64) {
	switch cid {
	case cidTC:
		a.state.ConsecutiveOffline++
		a.state.CumulativeOffline += amount
	case cidARQC:
		a.state.LastOnlineATC = a.txn.atc
		a.state.ConsecutiveOffline = 0
		a.state.CumulativeOffline = 0
	}
}

// Cryptogram Information Data values.
const (
	cidAAC  byte = 0x00
	cidTC   byte = 0x40
	cidARQC byte = 0x80
)

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// amountOf reads an n12 amount (6 bytes BCD); malformed digits count as 0.
func amountOf(b []byte) int64 {
	var v int64
	for _, c := range b {
		hi, lo := c>>4, c&0x0F
		if hi > 9 || lo > 9 {
			return 0
		}
		v = v*100 + int64(hi)*10 + int64(lo)
	}
	return v
}

// bcdAmount writes v as n12 (6 bytes BCD), saturating at 999999999999.
func bcdAmount(v int64) []byte {
	if v < 0 {
		v = 0
	}
	if v > 999999999999 {
		v = 999999999999
	}
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = byte(v%10) | byte(v/10%10)<<4
		v /= 100
	}
	return out
}
