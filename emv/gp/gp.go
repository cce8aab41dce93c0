// Package gp codes the GlobalPlatform card management commands a TSM sends
// to a Security Domain of a secure element (GP Card Specification v2.3,
// section 11): SELECT, GET DATA (CPLC, card recognition data, key
// information), INSTALL, PUT KEY, STORE DATA, SET STATUS and DELETE, and
// parses their data fields for the card side. Session runs them over an
// SCP03 secure channel (package scp03) through any APDU transport.
//
// The builders return clear command APDUs (CLA '80'); the secure channel
// adds the C-MAC and the enciphering. Key material is never printed and
// never named in an error.
package gp

import (
	"errors"
	"fmt"
)

// Instruction bytes (GP Card Specification table 11-2).
const (
	InsSelect      byte   = 0xA4
	InsGetData     byte   = 0xCA
	InsInstall     byte   = 0xE6
	InsPutKey      byte   = 0xD8
	InsStoreData   byte   = 0xE2
	InsSetStatus   byte   = 0xF0
	InsDelete      byte   = 0xE4
	InsGetStatus   byte   = 0xF2
	ClaGP          byte   = 0x80
	ClaISO         byte   = 0x00
	TagCPLC        uint16 = 0x9F7F
	TagCardData    uint16 = 0x0066
	TagKeyInfo     uint16 = 0x00E0
	TagCIN         uint16 = 0x0045
	TagIIN         uint16 = 0x0042
	TagAIDTemplate byte   = 0x4F
)

// INSTALL P1 bits.
const (
	InstallForLoad            byte = 0x02
	InstallForInstall         byte = 0x04
	InstallForMakeSelectable  byte = 0x08
	InstallForPersonalization byte = 0x20
)

// Privileges (GP Card Specification table 6-1): bits of byte 1, then of
// byte 2.
const (
	PrivSecurityDomain byte = 0x80 // byte 1: Security Domain
	PrivDAPVerif       byte = 0xC0 // byte 1: Security Domain with DAP Verification
	PrivDelegatedMgmt  byte = 0xA0 // byte 1: Security Domain with Delegated Management
	PrivCardLock       byte = 0x10 // byte 1: Card Lock
	PrivCardTerminate  byte = 0x08 // byte 1: Card Terminate
	PrivCardReset      byte = 0x04 // byte 1: Card Reset
	PrivCVMManagement  byte = 0x02 // byte 1: CVM Management

	PrivTrustedPath       byte = 0x80 // byte 2: Trusted Path
	PrivAuthorizedMgmt    byte = 0x40 // byte 2: Authorized Management
	PrivTokenVerification byte = 0x20 // byte 2: Token Verification
)

// Life cycle states (GP Card Specification section 5).
const (
	// StateInstalled is an application installed, not yet selectable.
	StateInstalled byte = 0x03
	// StateSelectable is an application that can be selected.
	StateSelectable byte = 0x07
	// StatePersonalized is an application (or Security Domain) whose
	// personalisation is complete ('0F', the application-specific state
	// tapsim uses for it; for a Security Domain, PERSONALIZED).
	StatePersonalized byte = 0x0F
	// StateLockedBit marks a locked application or domain ('83', '87',
	// '8F').
	StateLockedBit byte = 0x80
	// CardSecured is the card life cycle state SECURED.
	CardSecured byte = 0x0F
)

// SET STATUS P1: the kind of status to change.
const (
	StatusISD         byte = 0x80
	StatusApplication byte = 0x40 // an application or a Supplementary Security Domain
	StatusSDAndApps   byte = 0x60
)

// STORE DATA P1 bits (GP Card Specification 11.11.2.1).
const (
	StoreLast       byte = 0x80
	StoreEncrypted  byte = 0x60 // b7b6 '11': enciphered data
	StoreAppDep     byte = 0x20 // b7b6 '01': application-dependent enciphering
	StoreEncMask    byte = 0x60
	StoreDGI        byte = 0x08 // b5b4 '01': DGI format
	StoreBERTLV     byte = 0x10 // b5b4 '10': BER-TLV format
	StoreFormatMask byte = 0x18
)

// Key types in PUT KEY (GP Card Specification table 11-16).
const (
	KeyTypeAES  byte = 0x88
	KeyTypeDES  byte = 0x80
	KeyTypeKCV3 byte = 0x03
)

// Status words a Security Domain answers with.
const (
	SWOK                   uint16 = 0x9000
	SWWrongLength          uint16 = 0x6700
	SWSecurityNotSatisfied uint16 = 0x6982
	SWAuthFailed           uint16 = 0x6300
	SWMoreData             uint16 = 0x6310 // GET STATUS: more entries to come
	SWConditions           uint16 = 0x6985
	SWWrongData            uint16 = 0x6A80
	SWFuncNotSupported     uint16 = 0x6A81
	SWNotFound             uint16 = 0x6A82
	SWNoMemory             uint16 = 0x6A84
	SWIncorrectP1P2        uint16 = 0x6A86
	SWRefNotFound          uint16 = 0x6A88
	SWInsNotSupported      uint16 = 0x6D00
	SWClaNotSupported      uint16 = 0x6E00
)

// Sentinel errors.
var (
	// ErrMalformed reports a command or response data field that does not
	// parse.
	ErrMalformed = errors.New("gp: malformed data")
	// ErrParam reports an argument a command cannot carry (AID length,
	// key type, too much data).
	ErrParam = errors.New("gp: bad parameter")
	// ErrKCV reports a key whose check value does not match the one sent
	// with it (a wrong DEK or a damaged key).
	ErrKCV = errors.New("gp: key check value mismatch")
)

// StatusError is a status word other than '9000' from the card.
type StatusError struct {
	// Cmd names the command, e.g. "INSTALL [for install]".
	Cmd string
	// SW is the status word.
	SW uint16
}

// Error names the command and status word.
func (e *StatusError) Error() string { return fmt.Sprintf("gp: %s: status %04X", e.Cmd, e.SW) }

func checkAID(aid []byte) error {
	if len(aid) < 5 || len(aid) > 16 {
		return fmt.Errorf("%w: AID of %d bytes (5 to 16)", ErrParam, len(aid))
	}
	return nil
}

// command codes a short case 3 or 4 APDU (Le '00' when le is set).
func command(cla, ins, p1, p2 byte, data []byte, le bool) ([]byte, error) {
	if len(data) > 255 {
		return nil, fmt.Errorf("%w: %d bytes of data in a short APDU", ErrParam, len(data))
	}
	out := []byte{cla, ins, p1, p2}
	if len(data) > 0 {
		out = append(out, byte(len(data)))
		out = append(out, data...)
	}
	if le {
		out = append(out, 0x00)
	}
	return out, nil
}

// Select builds SELECT by AID (00 A4 04 00), first or only occurrence.
func Select(aid []byte) ([]byte, error) {
	if err := checkAID(aid); err != nil {
		return nil, err
	}
	return command(ClaISO, InsSelect, 0x04, 0x00, aid, true)
}

// GetData builds GET DATA (80 CA) for tag, e.g. TagCPLC.
func GetData(tag uint16) []byte {
	return []byte{ClaGP, InsGetData, byte(tag >> 8), byte(tag), 0x00}
}

// lv appends a one-byte length and v.
func lv(b, v []byte) []byte { return append(append(b, byte(len(v))), v...) }

// Install is the data of INSTALL [for install], [for make selectable] and
// [for personalization].
type Install struct {
	// LoadFile is the Executable Load File AID (for install).
	LoadFile []byte
	// Module is the Executable Module AID (for install).
	Module []byte
	// Instance is the application (or Security Domain) AID.
	Instance []byte
	// Privileges are 1 or 3 bytes (for install, for make selectable).
	Privileges []byte
	// Params are the install parameters, the value of the C9 object inside
	// the parameters field (for install).
	Params []byte
}

// InstallForInstallCmd builds INSTALL [for install] (P1 '04'), or [for
// install and make selectable] (P1 '0C') when selectable.
func InstallForInstallCmd(in Install, selectable bool) ([]byte, error) {
	for _, a := range [][]byte{in.LoadFile, in.Module, in.Instance} {
		if err := checkAID(a); err != nil {
			return nil, err
		}
	}
	if n := len(in.Privileges); n != 1 && n != 3 {
		return nil, fmt.Errorf("%w: privileges of %d bytes (1 or 3)", ErrParam, n)
	}
	if len(in.Params) > 0x7F {
		return nil, fmt.Errorf("%w: install parameters of %d bytes", ErrParam, len(in.Params))
	}
	var d []byte
	d = lv(d, in.LoadFile)
	d = lv(d, in.Module)
	d = lv(d, in.Instance)
	d = lv(d, in.Privileges)
	params := lv([]byte{0xC9}, in.Params)
	d = lv(d, params)
	d = append(d, 0x00) // no install token
	p1 := InstallForInstall
	if selectable {
		p1 |= InstallForMakeSelectable
	}
	return command(ClaGP, InsInstall, p1, 0x00, d, true)
}

// InstallForMakeSelectableCmd builds INSTALL [for make selectable] of the
// installed application instance.
func InstallForMakeSelectableCmd(instance []byte) ([]byte, error) {
	if err := checkAID(instance); err != nil {
		return nil, err
	}
	d := []byte{0x00, 0x00}
	d = lv(d, instance)
	d = append(d, 0x01, 0x00, 0x00, 0x00) // privileges '00', no parameters, no token
	return command(ClaGP, InsInstall, InstallForMakeSelectable, 0x00, d, true)
}

// InstallForPersonalizationCmd builds INSTALL [for personalization] of
// instance: the STORE DATA (and, for a Security Domain, PUT KEY) commands
// that follow go to it through the Security Domain in session.
func InstallForPersonalizationCmd(instance []byte) ([]byte, error) {
	if err := checkAID(instance); err != nil {
		return nil, err
	}
	d := []byte{0x00, 0x00}
	d = lv(d, instance)
	d = append(d, 0x00, 0x00, 0x00)
	return command(ClaGP, InsInstall, InstallForPersonalization, 0x00, d, true)
}

// reader walks a data field without reading past it.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) lv() []byte {
	if r.bad || len(r.b) < 1 || len(r.b) < 1+int(r.b[0]) {
		r.bad = true
		return nil
	}
	n := int(r.b[0])
	v := append([]byte{}, r.b[1:1+n]...)
	r.b = r.b[1+n:]
	return v
}

// ParseInstall reads the data field of an INSTALL command whose P1 is p1
// (without the "more commands" bit b8): for install (with or without make
// selectable), for make selectable, for personalization. The slices are
// copies.
func ParseInstall(p1 byte, data []byte) (Install, error) {
	switch p1 &^ 0x80 {
	case InstallForInstall, InstallForInstall | InstallForMakeSelectable, InstallForMakeSelectable, InstallForPersonalization:
	default:
		return Install{}, fmt.Errorf("%w: INSTALL P1 %02X", ErrParam, p1)
	}
	r := &reader{b: data}
	var in Install
	in.LoadFile = r.lv()
	in.Module = r.lv()
	in.Instance = r.lv()
	in.Privileges = r.lv()
	params := r.lv()
	_ = r.lv() // token
	if r.bad || len(r.b) != 0 {
		return Install{}, fmt.Errorf("%w: INSTALL data field", ErrMalformed)
	}
	if err := checkAID(in.Instance); err != nil {
		return Install{}, fmt.Errorf("%w: INSTALL instance %w", ErrMalformed, err)
	}
	switch p1 &^ 0x80 {
	case InstallForInstall, InstallForInstall | InstallForMakeSelectable:
		if checkAID(in.LoadFile) != nil || checkAID(in.Module) != nil {
			return Install{}, fmt.Errorf("%w: INSTALL [for install] load file or module AID", ErrMalformed)
		}
		if n := len(in.Privileges); n != 1 && n != 3 {
			return Install{}, fmt.Errorf("%w: privileges of %d bytes", ErrMalformed, n)
		}
		if len(params) > 0 {
			if len(params) < 2 || params[0] != 0xC9 || int(params[1]) != len(params)-2 {
				return Install{}, fmt.Errorf("%w: install parameters", ErrMalformed)
			}
			in.Params = append([]byte{}, params[2:]...)
		}
	default:
		if len(in.LoadFile) != 0 || len(in.Module) != 0 {
			return Install{}, fmt.Errorf("%w: INSTALL with load file or module AID", ErrMalformed)
		}
	}
	return in, nil
}

// StoreDataCmd builds one STORE DATA block of DGIs: P1 = DGI format, the
// enciphered flag when enciphered, the last-block flag when last; P2 the
// block number.
func StoreDataCmd(block byte, last, enciphered bool, data []byte) ([]byte, error) {
	p1 := StoreDGI
	if enciphered {
		p1 |= StoreEncrypted
	}
	if last {
		p1 |= StoreLast
	}
	return command(ClaGP, InsStoreData, p1, block, data, false)
}

// SetStatusCmd builds SET STATUS (80 F0) of the application or Security
// Domain aid to state (e.g. StatePersonalized, or with StateLockedBit to
// lock it).
func SetStatusCmd(kind, state byte, aid []byte) ([]byte, error) {
	if err := checkAID(aid); err != nil {
		return nil, err
	}
	return command(ClaGP, InsSetStatus, kind, state, aid, false)
}

// DeleteCmd builds DELETE (80 E4) of the application or Security Domain
// aid; related also deletes what depends on it (P2 '80').
func DeleteCmd(aid []byte, related bool) ([]byte, error) {
	if err := checkAID(aid); err != nil {
		return nil, err
	}
	p2 := byte(0)
	if related {
		p2 = 0x80
	}
	return command(ClaGP, InsDelete, 0x00, p2, lv([]byte{TagAIDTemplate}, aid), true)
}

// ParseDelete reads the AID of a DELETE data field (4F len AID).
func ParseDelete(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != TagAIDTemplate || int(data[1]) != len(data)-2 {
		return nil, fmt.Errorf("%w: DELETE data field", ErrMalformed)
	}
	aid := append([]byte{}, data[2:]...)
	if err := checkAID(aid); err != nil {
		return nil, fmt.Errorf("%w: DELETE %w", ErrMalformed, err)
	}
	return aid, nil
}
