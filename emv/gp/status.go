package gp

import (
	"bytes"
	"fmt"

	"github.com/tapsim/tapsim/emv/tlv"
)

// GET STATUS P1: which part of the registry.
const (
	StatusOfISD       byte    = 0x80
	StatusOfApps      byte    = 0x40 // applications and Supplementary Security Domains
	StatusOfModules   byte    = 0x10 // executable load files and their modules
	StatusOfLoadFiles byte    = 0x20 // executable load files only
	StatusFormatTLV   byte    = 0x02 // P2: GP TLV format
	StatusNext        byte    = 0x01 // P2: the next occurrences, after SWMoreData
	tagRegistryEntry  tlv.Tag = 0xE3
	tagLifeCycle      tlv.Tag = 0x9F70
	tagPrivileges     tlv.Tag = 0xC5
	tagModule         tlv.Tag = 0x84
)

// StatusEntry is one entry of a GET STATUS response.
type StatusEntry struct {
	// AID is the application, domain or load file AID.
	AID []byte
	// State is the life cycle state.
	State byte
	// Privileges are those of an application or domain.
	Privileges []byte
	// Modules are the executable modules of a load file.
	Modules [][]byte
}

// GetStatusCmd builds GET STATUS (80 F2) of the part p1 of the registry,
// every entry ('4F 00'), in the GP TLV format.
func GetStatusCmd(p1 byte) []byte {
	return []byte{ClaGP, InsGetStatus, p1, StatusFormatTLV, 0x02, byte(TagAIDTemplate), 0x00, 0x00}
}

// EncodeStatus codes registry entries as a GET STATUS response data field
// (E3 templates).
func EncodeStatus(es []StatusEntry) ([]byte, error) {
	var out []byte
	for _, e := range es {
		objs := []tlv.TLV{{Tag: tlv.Tag(TagAIDTemplate), Value: e.AID}, {Tag: tagLifeCycle, Value: []byte{e.State}}}
		if len(e.Privileges) > 0 {
			objs = append(objs, tlv.TLV{Tag: tagPrivileges, Value: e.Privileges})
		}
		for _, m := range e.Modules {
			objs = append(objs, tlv.TLV{Tag: tagModule, Value: m})
		}
		b, err := tlv.EncodeConstructed(tagRegistryEntry, objs...)
		if err != nil {
			return nil, fmt.Errorf("%w: registry entry: %w", ErrParam, err)
		}
		out = append(out, b...)
	}
	return out, nil
}

// ParseStatus reads a GET STATUS response data field in the GP TLV format.
func ParseStatus(b []byte) ([]StatusEntry, error) {
	l, err := tlv.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w: GET STATUS response: %w", ErrMalformed, err)
	}
	var out []StatusEntry
	for _, t := range l {
		if t.Tag != tagRegistryEntry {
			return nil, fmt.Errorf("%w: GET STATUS response holds %v", ErrMalformed, t.Tag)
		}
		var e StatusEntry
		seenState := false
		for _, c := range t.Children {
			switch c.Tag {
			case tlv.Tag(TagAIDTemplate):
				e.AID = bytes.Clone(c.Value)
			case tagLifeCycle:
				if len(c.Value) != 1 {
					return nil, fmt.Errorf("%w: life cycle state of %d bytes", ErrMalformed, len(c.Value))
				}
				e.State, seenState = c.Value[0], true
			case tagPrivileges:
				e.Privileges = bytes.Clone(c.Value)
			case tagModule:
				e.Modules = append(e.Modules, bytes.Clone(c.Value))
			}
		}
		if checkAID(e.AID) != nil || !seenState {
			return nil, fmt.Errorf("%w: registry entry without AID or state", ErrMalformed)
		}
		out = append(out, e)
	}
	return out, nil
}

// maxStatusPages bounds the GET STATUS commands of one Status: a card
// that answers SWMoreData for ever is refused.
const maxStatusPages = 64

// Status sends GET STATUS of the part p1 of the registry (StatusOfISD,
// StatusOfApps, StatusOfLoadFiles, StatusOfModules) and parses the entries
// the Security Domain in session may see, asking for the next occurrences
// while the card answers SWMoreData.
func (s *Session) Status(p1 byte) ([]StatusEntry, error) {
	cmd := GetStatusCmd(p1)
	var out []StatusEntry
	for range maxStatusPages {
		data, sw, err := s.send("GET STATUS", cmd, SWMoreData)
		if err != nil {
			return nil, err
		}
		es, err := ParseStatus(data)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
		if sw != SWMoreData {
			return out, nil
		}
		cmd[3] |= StatusNext
	}
	return nil, fmt.Errorf("%w: GET STATUS: more than %d pages", ErrMalformed, maxStatusPages)
}
