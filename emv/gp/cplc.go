package gp

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// CPLCLen is the length of the Card Production Life Cycle data.
const CPLCLen = 42

// CPLC is the Card Production Life Cycle data (GET DATA '9F7F'): who made
// the chip and its OS, and when it was made, pre-personalised and
// personalised. Dates are 'YDDD' (last digit of the year, day of the year).
type CPLC struct {
	ICFabricator        [2]byte
	ICType              [2]byte
	OSID                [2]byte
	OSReleaseDate       [2]byte
	OSReleaseLevel      [2]byte
	ICFabricationDate   [2]byte
	ICSerial            [4]byte
	ICBatch             [2]byte
	ModuleFabricator    [2]byte
	ModulePackagingDate [2]byte
	ICCManufacturer     [2]byte
	ICEmbeddingDate     [2]byte
	PrePersoID          [2]byte
	PrePersoDate        [2]byte
	PrePersoEquipment   [4]byte
	PersoID             [2]byte
	PersoDate           [2]byte
	PersoEquipment      [4]byte
}

func (c *CPLC) fields() [][]byte {
	return [][]byte{c.ICFabricator[:], c.ICType[:], c.OSID[:], c.OSReleaseDate[:], c.OSReleaseLevel[:],
		c.ICFabricationDate[:], c.ICSerial[:], c.ICBatch[:], c.ModuleFabricator[:], c.ModulePackagingDate[:],
		c.ICCManufacturer[:], c.ICEmbeddingDate[:], c.PrePersoID[:], c.PrePersoDate[:], c.PrePersoEquipment[:],
		c.PersoID[:], c.PersoDate[:], c.PersoEquipment[:]}
}

// Bytes codes the 42 bytes of the CPLC.
func (c CPLC) Bytes() []byte {
	out := make([]byte, 0, CPLCLen)
	for _, f := range c.fields() {
		out = append(out, f...)
	}
	return out
}

// ParseCPLC reads the CPLC from 42 bytes, or from a GET DATA response with
// its '9F7F 2A' header.
func ParseCPLC(b []byte) (CPLC, error) {
	if len(b) == CPLCLen+3 && b[0] == 0x9F && b[1] == 0x7F && b[2] == CPLCLen {
		b = b[3:]
	}
	if len(b) != CPLCLen {
		return CPLC{}, fmt.Errorf("%w: CPLC of %d bytes", ErrMalformed, len(b))
	}
	var c CPLC
	for _, f := range c.fields() {
		copy(f, b)
		b = b[len(f):]
	}
	return c, nil
}

// SEID is the secure element identifier tapsim uses (MODEL): hex of IC
// fabricator || IC type || IC serial number || IC batch identifier, 20
// upper-case hex digits.
func (c CPLC) SEID() string {
	var b []byte
	b = append(b, c.ICFabricator[:]...)
	b = append(b, c.ICType[:]...)
	b = append(b, c.ICSerial[:]...)
	b = append(b, c.ICBatch[:]...)
	return strings.ToUpper(hex.EncodeToString(b))
}

// String shows the SE identifier and the OS.
func (c CPLC) String() string {
	return fmt.Sprintf("CPLC SEID %s, OS %X level %X", c.SEID(), c.OSID, c.OSReleaseLevel)
}
