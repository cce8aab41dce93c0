package kerneltest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
)

// App is one payment application of a test Card.
type App interface {
	// AID is the application's ADF Name.
	AID() []byte
	// DirectoryEntry is the application's entry in the PPSE (template 61
	// contents).
	DirectoryEntry() tlv.List
	// Command answers a command to the selected application.
	Command(cmd apdu.Command) apdu.Response
}

// Card is a test card: a PPSE listing its applications, SELECT by name, and
// the commands of the selected application. It is a kernel.Reader.
type Card struct {
	Apps []App
	// NoPPSE makes SELECT PPSE fail with 6A82.
	NoPPSE bool
	// PPSE, when set, is returned as the PPSE response data instead of the
	// one built from Apps.
	PPSE []byte
	// RemoveAfter, when positive, makes the card leave the field after
	// that many commands: later commands fail with kernel.ErrCardRemoved.
	RemoveAfter int

	selected App
	count    int
}

// Transmit answers one command.
func (c *Card) Transmit(ctx context.Context, capdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.count++
	if c.RemoveAfter > 0 && c.count > c.RemoveAfter {
		return nil, fmt.Errorf("%w: test card removed", kernel.ErrCardRemoved)
	}
	cmd, err := apdu.ParseCommand(capdu)
	if err != nil {
		return sw(apdu.SW6700), nil
	}
	if cmd.CLA == 0x00 && cmd.INS == 0xA4 {
		return c.sel(cmd).Bytes(), nil
	}
	if c.selected == nil {
		return sw(apdu.SW6985), nil
	}
	return c.selected.Command(cmd).Bytes(), nil
}

// Reset forgets the selected application, as a card leaving the field.
func (c *Card) Reset() {
	c.selected = nil
	c.count = 0
}

func sw(s uint16) []byte { return []byte{byte(s >> 8), byte(s)} }

func (c *Card) sel(cmd apdu.Command) apdu.Response {
	if cmd.P1 != 0x04 {
		return apdu.Response{SW: apdu.SW6A86}
	}
	if string(cmd.Data) == apdu.PPSE {
		c.selected = nil
		if c.NoPPSE {
			return apdu.Response{SW: apdu.SW6A82}
		}
		if c.PPSE != nil {
			return apdu.Response{Data: append([]byte(nil), c.PPSE...), SW: apdu.SW9000}
		}
		var entries []tlv.TLV
		for _, a := range c.Apps {
			entries = append(entries, tlv.TLV{Tag: 0x61, Children: a.DirectoryEntry()})
		}
		b, err := tlv.EncodeConstructed(0x6F,
			tlv.TLV{Tag: 0x84, Value: []byte(apdu.PPSE)},
			tlv.TLV{Tag: 0xA5, Children: []tlv.TLV{{Tag: 0xBF0C, Children: entries}}})
		if err != nil {
			return apdu.Response{SW: apdu.SW6F00}
		}
		return apdu.Response{Data: b, SW: apdu.SW9000}
	}
	for _, a := range c.Apps {
		if bytes.Equal(a.AID(), cmd.Data) {
			c.selected = a
			return a.Command(cmd)
		}
	}
	c.selected = nil
	return apdu.Response{SW: apdu.SW6A82}
}

// record is one record of a test application.
type record struct {
	sfi, rec byte
	objs     tlv.List
}

func encodeRecord(objs tlv.List) []byte {
	b, err := tlv.EncodeConstructed(0x70, objs...)
	if err != nil {
		panic(err)
	}
	return b
}

func fakeAC(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)[:8]
}

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// bcdPAN codes PAN digits as format cn (padded with F).
func bcdPAN(pan string) []byte {
	s := pan
	if len(s)%2 == 1 {
		s += "F"
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		out[i] = nib(s[2*i])<<4 | nib(s[2*i+1])
	}
	return out
}

func nib(c byte) byte {
	if c >= '0' && c <= '9' {
		return c - '0'
	}
	return 0x0F
}

// track2 builds a track 2 equivalent: PAN D YYMM 201 discretionary F.
func track2(pan, expiry string) []byte {
	s := pan + "D" + expiry[:4] + "201" + "0000000000"
	if len(s)%2 == 1 {
		s += "F"
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		out[i] = hexNib(s[2*i])<<4 | hexNib(s[2*i+1])
	}
	return out
}

func hexNib(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

func ymd(s string) []byte {
	out := make([]byte, 3)
	for i := range out {
		out[i] = nib(s[2*i])<<4 | nib(s[2*i+1])
	}
	return out
}

// staticFor builds the static data to be authenticated of records marked
// for ODA (SFI 1 to 10: the template's value) and the AIP.
func staticFor(recs []record, oda map[[2]byte]bool, aip []byte, withAIP bool) []byte {
	var out []byte
	for _, r := range recs {
		if !oda[[2]byte{r.sfi, r.rec}] {
			continue
		}
		b, _ := r.objs.Encode()
		out = append(out, b...)
	}
	if withAIP {
		out = append(out, aip...)
	}
	return out
}

func answerRecord(recs []record, cmd apdu.Command, mutate func(sfi, rec byte, objs tlv.List) tlv.List) apdu.Response {
	if cmd.P2&0x07 != 0x04 {
		return apdu.Response{SW: apdu.SW6A86}
	}
	sfi := cmd.P2 >> 3
	for _, r := range recs {
		if r.sfi == sfi && r.rec == cmd.P1 {
			objs := r.objs
			if mutate != nil {
				objs = mutate(sfi, cmd.P1, append(tlv.List(nil), objs...))
			}
			return apdu.Response{Data: encodeRecord(objs), SW: apdu.SW9000}
		}
	}
	return apdu.Response{SW: apdu.SW6A83}
}

// certObjects are the records' certificate objects for a PKI and ICC.
func certObjects(p *PKI, icc *oda.ICC) (tlv.List, tlv.List) {
	ic := p.Issuer.Certificate
	iss := tlv.List{
		{Tag: 0x8F, Value: []byte{CAIndex}},
		{Tag: 0x90, Value: ic.Data},
		{Tag: 0x9F32, Value: ic.Exponent},
	}
	if len(ic.Remainder) > 0 {
		iss = append(iss, tlv.TLV{Tag: 0x92, Value: ic.Remainder})
	}
	cc := icc.Certificate
	cert := tlv.List{
		{Tag: 0x9F46, Value: cc.Data},
		{Tag: 0x9F47, Value: cc.Exponent},
	}
	if len(cc.Remainder) > 0 {
		cert = append(cert, tlv.TLV{Tag: 0x9F48, Value: cc.Remainder})
	}
	cert = append(cert, tlv.TLV{Tag: 0x9F4A, Value: []byte{0x82}})
	return iss, cert
}

// dynamicNumber is a 4-byte ICC Dynamic Number from the ATC and UN.
func dynamicNumber(atc uint16, un []byte) []byte {
	h := sha256.Sum256(append(u16(atc), un...))
	return h[:4]
}

func be32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}
