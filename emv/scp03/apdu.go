package scp03

import "fmt"

// command is a command APDU split into its fields, keeping how its lengths
// were coded so that a wrapped command keeps the coding of the original.
type command struct {
	cla, ins, p1, p2 byte
	data             []byte // aliases the input; never written
	le               []byte // Le as coded (0 to 3 bytes), aliases the input
	extended         bool
}

// parseCommand reads any case of ISO/IEC 7816-3 12.1.3 (1, 2S, 3S, 4S, 2E,
// 3E, 4E). It never reads past b and never panics.
func parseCommand(b []byte) (command, error) {
	if len(b) < 4 {
		return command{}, cmdErr(SWWrongLength, "command of %d bytes, shorter than a header", len(b))
	}
	c := command{cla: b[0], ins: b[1], p1: b[2], p2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2S
		c.le = body
		return c, nil
	case body[0] != 0: // case 3S or 4S
		nc := int(body[0])
		switch len(body) {
		case 1 + nc:
			c.data = body[1:]
		case 2 + nc:
			c.data, c.le = body[1:1+nc], body[1+nc:]
		default:
			return command{}, cmdErr(SWWrongLength, "Lc %d with %d bytes after it", nc, len(body)-1)
		}
		return c, nil
	case len(body) < 3:
		return command{}, cmdErr(SWWrongLength, "extended length field cut short")
	}
	c.extended = true
	if len(body) == 3 { // case 2E
		c.le = body
		return c, nil
	}
	nc := int(body[1])<<8 | int(body[2])
	if nc == 0 {
		return command{}, cmdErr(SWWrongLength, "extended Lc of 0")
	}
	switch len(body) {
	case 3 + nc:
		c.data = body[3:]
	case 5 + nc:
		c.data, c.le = body[3:3+nc], body[3+nc:]
	default:
		return command{}, cmdErr(SWWrongLength, "extended Lc %d with %d bytes after it", nc, len(body)-3)
	}
	return c, nil
}

// lc codes the length of data as this command's coding wants it: one byte
// (short) or '00' and two bytes (extended); empty data has no Lc.
func (c command) lc(n int) ([]byte, error) {
	switch {
	case n == 0:
		return nil, nil
	case !c.extended && n <= 0xFF:
		return []byte{byte(n)}, nil
	case !c.extended:
		return nil, cmdErr(SWWrongLength, "data of %d bytes does not fit a short APDU; use extended length", n)
	case n <= 0xFFFF:
		return []byte{0x00, byte(n >> 8), byte(n)}, nil
	}
	return nil, cmdErr(SWWrongLength, "data of %d bytes does not fit an extended APDU", n)
}

// leBytes codes Le for a command with (or without) data: a case 2E Le of 3
// bytes ('00' and two) becomes 2 bytes once data is present, and back.
func (c command) leBytes(hasData bool) []byte {
	if !c.extended || len(c.le) == 0 {
		return c.le
	}
	le := c.le[len(c.le)-2:]
	if hasData {
		return le
	}
	return []byte{0x00, le[0], le[1]}
}

// encode codes cla ins p1 p2 [Lc data] [Le] with this command's coding.
func (c command) encode(cla byte, data []byte) ([]byte, error) {
	lc, err := c.lc(len(data))
	if err != nil {
		return nil, err
	}
	le := c.leBytes(len(data) > 0)
	out := make([]byte, 0, 4+len(lc)+len(data)+len(le))
	out = append(out, cla, c.ins, c.p1, c.p2)
	out = append(out, lc...)
	out = append(out, data...)
	return append(out, le...), nil
}

// Secure messaging indication in CLA (GP Card Specification 11.1.4): bit b3
// in the first interindustry class (logical channels 0-3), bit b6 in the
// further interindustry class (channels 4-19, CLA b7 set).
func smBit(cla byte) byte {
	if cla&0x40 != 0 {
		return 0x20
	}
	return 0x04
}

// wrappedCLA is the class byte sent with a C-MAC: the SM indication set
// (and, in the first interindustry class, b4 cleared: GP secure messaging is
// '01' in b4 b3).
func wrappedCLA(cla byte) byte {
	if cla&0x40 != 0 {
		return cla | 0x20
	}
	return cla&^0x0C | 0x04
}

// hasSM reports whether cla carries GP secure messaging.
func hasSM(cla byte) bool {
	if cla&0x40 != 0 {
		return cla&0x20 != 0
	}
	return cla&0x0C == 0x04
}

// macCLA is the class byte that enters the C-MAC (Amendment D 6.2.4): the
// logical channel number set to zero and the SM indication set.
func macCLA(cla byte) byte { return cla&0xF0 | smBit(cla) }

func fmtLevel(l SecurityLevel) string { return fmt.Sprintf("%02X", byte(l)) }
