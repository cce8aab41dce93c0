package recorded

import (
	"bytes"

	"github.com/tapsim/tapsim/emv/tlv"
)

// DOL tags the card gives and the commands that carry the data they ask for.
const (
	tagPDOL     tlv.Tag = 0x9F38 // in the FCI: data of GET PROCESSING OPTIONS
	tagCDOL1    tlv.Tag = 0x8C   // in a record: data of the first GENERATE AC
	tagCDOL2    tlv.Tag = 0x8D   // in a record: data of the second GENERATE AC
	tagDDOL     tlv.Tag = 0x9F49 // in a record: data of INTERNAL AUTHENTICATE
	tagDSDOL    tlv.Tag = 0x9F5B // in a C-2 record: data storage data after the CDOL1 data
	tagPDOLData tlv.Tag = 0x83   // Command Template around the PDOL data
)

// TerminalValues lists the values the terminal sent for tag in the trace,
// in order: the card's PDOL, CDOL1, CDOL2 and DDOL (from its answers) say
// where each value sits in GET PROCESSING OPTIONS, GENERATE AC and INTERNAL
// AUTHENTICATE. A value repeated in consecutive commands (the same
// unpredictable number in GET PROCESSING OPTIONS and GENERATE AC) is listed
// once. A replay that reuses the recorded unpredictable numbers (9F37) and
// amount (9F02) gets the card's recorded signatures to verify again.
//
// Commands whose data does not fit the DOL are skipped; malformed answers
// are ignored.
func (t *Trace) TerminalValues(tag tlv.Tag) [][]byte {
	var (
		out                             [][]byte
		pdol, cdol1, cdol2, ddol, dsdol tlv.DOL
		genAC                           int
	)
	add := func(d tlv.DOL, data []byte) {
		if len(d) == 0 {
			return
		}
		l, err := d.Split(data)
		if err != nil {
			return
		}
		if v, ok := l.Find(tag); ok && (len(out) == 0 || !bytes.Equal(out[len(out)-1], v.Value)) {
			out = append(out, bytes.Clone(v.Value))
		}
	}
	for _, e := range t.Exchanges {
		if e.Reset {
			pdol, cdol1, cdol2, ddol, dsdol, genAC = nil, nil, nil, nil, nil, 0
		}
		data, ok := commandData(e.Command)
		if !ok {
			continue
		}
		cla, ins := e.Command[0], e.Command[1]
		switch {
		case ins == 0xA4:
			genAC = 0
			if d, ok := dolIn(e.Response, tagPDOL); ok {
				pdol = d
			}
			continue
		case cla&0xF0 == 0x80 && ins == 0xA8:
			if l, err := tlv.Decode(data); err == nil {
				if v, ok := l.Find(tagPDOLData); ok {
					add(pdol, v.Value)
				}
			}
		case cla&0xF0 == 0x80 && ins == 0xAE:
			genAC++
			if genAC == 1 {
				n := cdol1.DataLen()
				if len(data) > n && len(dsdol) > 0 && len(cdol1) > 0 {
					// A C-2 data storage write: the DSDOL related data
					// follow, the last entry (the DS ODS Term) as long as
					// the terminal's data.
					add(cdol1, data[:n])
					add(fitLast(dsdol, len(data)-n), data[n:])
				} else {
					add(cdol1, data)
				}
			} else {
				add(cdol2, data)
			}
		case ins == 0x88:
			add(ddol, data)
		}
		for _, x := range []struct {
			tag tlv.Tag
			dol *tlv.DOL
		}{{tagCDOL1, &cdol1}, {tagCDOL2, &cdol2}, {tagDDOL, &ddol}, {tagDSDOL, &dsdol}} {
			if d, ok := dolIn(e.Response, x.tag); ok {
				*x.dol = d
			}
		}
	}
	return out
}

// fitLast is d with its last entry's length cut so that the whole is n
// bytes (a C-2 DSDOL's last entry is sent at the data's own length); d as
// it is when that cannot be.
func fitLast(d tlv.DOL, n int) tlv.DOL {
	if len(d) == 0 {
		return d
	}
	fixed := d[:len(d)-1].DataLen()
	last := d[len(d)-1]
	if n < fixed || n-fixed > last.Len {
		return d
	}
	out := append(tlv.DOL(nil), d...)
	out[len(out)-1].Len = n - fixed
	return out
}

// commandData is the data field of a short C-APDU (case 1 and 2 have none).
func commandData(c []byte) ([]byte, bool) {
	if len(c) < 4 {
		return nil, false
	}
	if len(c) <= 5 {
		return nil, true
	}
	n := int(c[4])
	if n == 0 || len(c) < 5+n || len(c) > 6+n {
		return nil, false
	}
	return c[5 : 5+n], true
}

// dolIn finds the DOL tag in a successful R-APDU's data.
func dolIn(r []byte, tag tlv.Tag) (tlv.DOL, bool) {
	if len(r) < 2 || r[len(r)-2] != 0x90 || r[len(r)-1] != 0x00 {
		return nil, false
	}
	l, err := tlv.Decode(r[:len(r)-2])
	if err != nil {
		return nil, false
	}
	v, ok := l.Find(tag)
	if !ok {
		return nil, false
	}
	d, err := tlv.ParseDOL(v.Value)
	if err != nil {
		return nil, false
	}
	return d, true
}
