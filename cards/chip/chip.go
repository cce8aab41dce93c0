// Package chip is the ISO/IEC 14443-4 contactless chip of a virtual card or
// phone: it answers the Proximity Payment System Environment (PPSE, EMV
// Contactless Book B section 3.3) and routes SELECT by AID and every later
// command to the selected EMV application.
//
// Command checking follows ISO/IEC 7816-4 and EMV Book 1 and 3, in this
// order:
//
//   - a C-APDU that does not parse (fewer than 4 bytes, Lc not matching the
//     data) gets '6700' (wrong length);
//   - a class byte other than '00' (inter-industry) or '80' (proprietary,
//     EMV) gets '6E00', and so does a known instruction under the wrong
//     class (SELECT and READ RECORD are '00', GET PROCESSING OPTIONS,
//     GENERATE AC and GET DATA are '80');
//   - an instruction the card does not know gets '6D00';
//   - SELECT with P1 other than '04' (by DF name) or P2 other than '00'
//     (first occurrence) or '02' (next occurrence) gets '6A86'; a name of 0
//     or more than 16 bytes gets '6700'; a name no application answers to
//     gets '6A82';
//   - an application command with no application selected gets '6985'
//     (conditions of use not satisfied);
//   - everything else is the selected application's to answer.
//
// A Chip never panics and always answers at least the two status bytes.
package chip

import (
	"bytes"
	"fmt"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/tlv"
)

// Application is an EMV application on a chip: the PPSE lists it and a
// SELECT by its AID makes it the target of later commands.
type Application interface {
	// AID is the Application Identifier (ADF Name, tag 4F/84).
	AID() []byte
	// DirectoryEntry is the value of the application's PPSE directory entry
	// (tag 61): 4F AID, 50 label, 87 priority, 9F2A kernel identifier...
	DirectoryEntry() []byte
	// Select makes the application current and returns its R-APDU (the FCI
	// and '9000', or an error status). Selection starts a new transaction.
	Select() []byte
	// Process answers a command while the application is selected.
	Process(cmd apdu.Command) []byte
	// Deselect tells the application it is no longer selected (another
	// SELECT, or the card left the field).
	Deselect()
}

// Instructions the chip knows, with the classes each may come in: the
// issuer script commands come with secure messaging (84, or 04 for PUT
// DATA).
var knownINS = map[byte][]byte{
	0xA4: {0x00},             // SELECT
	0xB2: {0x00},             // READ RECORD
	0xA8: {0x80},             // GET PROCESSING OPTIONS
	0xAE: {0x80},             // GENERATE AC
	0xCA: {0x80},             // GET DATA
	0xEA: {0x80},             // EXCHANGE RELAY RESISTANCE DATA
	0x2A: {0x80},             // COMPUTE CRYPTOGRAPHIC CHECKSUM
	0xD0: {0x80},             // RECOVER AC
	0x82: {0x00},             // EXTERNAL AUTHENTICATE
	0x1E: {0x84},             // APPLICATION BLOCK
	0x18: {0x84},             // APPLICATION UNBLOCK
	0xDA: {0x04, 0x84, 0x80}, // PUT DATA (issuer scripts; C-2 Tags To Write)
}

// Status words as R-APDUs.
func sw(s uint16) []byte { return []byte{byte(s >> 8), byte(s)} }

// Chip is a contactless chip holding applications. Build it with New; set
// Filter to hide applications (a phone whose card function is off). It is
// not safe for concurrent use.
type Chip struct {
	atr      []byte
	apps     []Application
	noPPSE   bool
	selected Application
	// last is the application matched by the latest SELECT by name, for
	// "next occurrence" selection.
	last Application
	// Filter, when set, decides whether an application is reachable now; a
	// hidden application is neither listed in the PPSE nor selectable.
	Filter func(Application) bool
}

// Option changes a Chip.
type Option func(*Chip)

// WithoutPPSE makes the chip answer '6A82' to SELECT 2PAY.SYS.DDF01, as a
// card without a PPSE does (the terminal must then fall back, e.g. to
// another interface).
func WithoutPPSE() Option { return func(c *Chip) { c.noPPSE = true } }

// WithATR sets the Answer To Reset.
func WithATR(atr []byte) Option { return func(c *Chip) { c.atr = bytes.Clone(atr) } }

// New returns a chip with the applications apps, in PPSE order.
func New(apps []Application, opts ...Option) *Chip {
	c := &Chip{apps: append([]Application(nil), apps...), atr: DefaultATR()}
	for _, o := range opts {
		o(c)
	}
	return c
}

// DefaultATR returns the Answer To Reset a PC/SC reader builds for an
// ISO/IEC 14443-4 type A card (PC/SC part 3): '3B 8n 80 01', the historical
// bytes, then the check byte TCK. The historical bytes are "TAPSIMVC".
func DefaultATR() []byte { return ContactlessATR([]byte("TAPSIMVC")) }

// ContactlessATR builds a PC/SC contactless ATR around up to 15 historical
// bytes (more are cut).
func ContactlessATR(historical []byte) []byte {
	if len(historical) > 15 {
		historical = historical[:15]
	}
	atr := []byte{0x3B, 0x80 | byte(len(historical)), 0x80, 0x01}
	atr = append(atr, historical...)
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}

// String describes the chip without card data.
func (c *Chip) String() string { return fmt.Sprintf("chip: %d application(s)", len(c.apps)) }

// GoString is String, so that %#v shows no card data.
func (c *Chip) GoString() string { return c.String() }

// ATR returns the chip's Answer To Reset.
func (c *Chip) ATR() []byte { return bytes.Clone(c.atr) }

// Applications returns the chip's applications, visible or not.
func (c *Chip) Applications() []Application { return append([]Application(nil), c.apps...) }

// Selected returns the selected application, or nil.
func (c *Chip) Selected() Application { return c.selected }

// Reset is the card leaving and entering the field: the selection is
// cleared; what the applications keep (counters, keys) stays.
func (c *Chip) Reset() { c.deselect() }

func (c *Chip) deselect() {
	if c.selected != nil {
		c.selected.Deselect()
	}
	c.selected, c.last = nil, nil
}

func (c *Chip) visible() []Application {
	var out []Application
	for _, a := range c.apps {
		if c.Filter == nil || c.Filter(a) {
			out = append(out, a)
		}
	}
	return out
}

// Process answers a C-APDU. It never panics and always returns at least two
// bytes.
func (c *Chip) Process(capdu []byte) []byte {
	cmd, err := apdu.ParseCommand(capdu)
	if err != nil {
		return sw(apdu.SW6700)
	}
	switch cmd.CLA {
	case 0x00, 0x80, 0x04, 0x84:
	default:
		return sw(apdu.SW6E00)
	}
	classes, known := knownINS[cmd.INS]
	if !known {
		return sw(apdu.SW6D00)
	}
	if !bytes.Contains(classes, []byte{cmd.CLA}) {
		return sw(apdu.SW6E00)
	}
	if cmd.INS == 0xA4 {
		return c.selectByName(cmd)
	}
	if c.selected == nil {
		return sw(apdu.SW6985)
	}
	return c.selected.Process(cmd)
}

func (c *Chip) selectByName(cmd apdu.Command) []byte {
	if cmd.P1 != 0x04 || (cmd.P2 != 0x00 && cmd.P2 != 0x02) {
		return sw(apdu.SW6A86)
	}
	if len(cmd.Data) == 0 || len(cmd.Data) > 16 {
		return sw(apdu.SW6700)
	}
	if bytes.Equal(cmd.Data, []byte(apdu.PPSE)) {
		if cmd.P2 == 0x02 {
			return sw(apdu.SW6A82)
		}
		return c.selectPPSE()
	}
	apps := c.visible()
	start := 0
	if cmd.P2 == 0x02 && c.last != nil {
		for i, a := range apps {
			if a == c.last {
				start = i + 1
			}
		}
	}
	for _, a := range apps[start:] {
		// Exact or partial name (EMV Book 1 section 12.3.1: the AID begins
		// with the name given).
		if bytes.HasPrefix(a.AID(), cmd.Data) {
			c.deselect()
			resp := a.Select()
			if len(resp) >= 2 && resp[len(resp)-2] == 0x90 && resp[len(resp)-1] == 0x00 {
				c.selected = a
			}
			c.last = a
			return resp
		}
	}
	return sw(apdu.SW6A82)
}

// selectPPSE answers SELECT 2PAY.SYS.DDF01 with the FCI of the PPSE:
// 6F { 84 name, A5 { BF0C { 61 {entry} ... } } }. A chip without a PPSE, or
// with no visible application, answers '6A82'.
func (c *Chip) selectPPSE() []byte {
	c.deselect()
	apps := c.visible()
	if c.noPPSE || len(apps) == 0 {
		return sw(apdu.SW6A82)
	}
	entries := make([]tlv.TLV, 0, len(apps))
	for _, a := range apps {
		entries = append(entries, tlv.TLV{Tag: 0x61, Value: a.DirectoryEntry()})
	}
	fci, err := tlv.EncodeConstructed(0x6F,
		tlv.TLV{Tag: 0x84, Value: []byte(apdu.PPSE)},
		tlv.TLV{Tag: 0xA5, Children: []tlv.TLV{{Tag: 0xBF0C, Children: entries}}},
	)
	if err != nil {
		return sw(apdu.SW6F00)
	}
	return append(fci, 0x90, 0x00)
}
