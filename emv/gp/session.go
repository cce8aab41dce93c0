package gp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

// Transport sends one command APDU to the secure element and returns its
// response APDU (data then SW1 SW2): a reader, the phone's OTA agent, or a
// virtual SE in the same process.
type Transport func(capdu []byte) ([]byte, error)

// ErrSession reports a secure channel session that could not be opened or
// was lost (a transport failure, a card cryptogram that does not verify, an
// R-MAC that does not verify).
var ErrSession = errors.New("gp: secure channel session failed")

// Session is the host (TSM) end of an SCP03 secure channel session with
// one Security Domain. It is not safe for concurrent use.
type Session struct {
	t     Transport
	ch    *scp03.Channel
	aid   []byte
	kvn   byte
	dek   keys.Key
	level scp03.SecurityLevel
}

// Config opens a Session.
type Config struct {
	// SD is the AID of the Security Domain.
	SD []byte
	// KeyVersion is the key set's version number ('00': the first the SD
	// has).
	KeyVersion byte
	// Keys is the key set.
	Keys scp03.StaticKeys
	// Level is the security level; at least C-MAC. LevelCMACCDec and up
	// encipher the command data.
	Level scp03.SecurityLevel
	// Rand supplies the host challenge.
	Rand io.Reader
}

func (s *Session) transmit(what string, cmd []byte) ([]byte, uint16, error) {
	resp, err := s.t(cmd)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrSession, what, err)
	}
	if len(resp) < 2 {
		return nil, 0, fmt.Errorf("%w: %s: response of %d bytes", ErrSession, what, len(resp))
	}
	n := len(resp) - 2
	return resp[:n], uint16(resp[n])<<8 | uint16(resp[n+1]), nil
}

// Open selects the Security Domain, runs INITIALIZE UPDATE and EXTERNAL
// AUTHENTICATE, and returns the open session. A card cryptogram that does
// not verify is scp03.ErrCryptogram (the card does not hold these keys); a
// refusal by the card is a *StatusError ('6A88': no such key version,
// '6300': the card refused the host cryptogram).
func Open(t Transport, cfg Config) (*Session, error) {
	if t == nil || cfg.Rand == nil {
		return nil, fmt.Errorf("%w: no transport or random source", ErrParam)
	}
	if !cfg.Level.Has(scp03.CMAC) {
		return nil, fmt.Errorf("%w: security level %v: card management needs at least C-MAC", ErrParam, cfg.Level)
	}
	s := &Session{t: t, aid: bytes.Clone(cfg.SD), kvn: cfg.KeyVersion, dek: cfg.Keys.DEK, level: cfg.Level}
	sel, err := Select(cfg.SD)
	if err != nil {
		return nil, err
	}
	if _, sw, err := s.transmit("SELECT", sel); err != nil {
		return nil, err
	} else if sw != SWOK {
		return nil, &StatusError{Cmd: "SELECT", SW: sw}
	}
	hc := make([]byte, scp03.S8.Len())
	if _, err := io.ReadFull(cfg.Rand, hc); err != nil {
		return nil, fmt.Errorf("%w: host challenge: %w", ErrSession, err)
	}
	iu, err := scp03.InitializeUpdate(cfg.KeyVersion, hc)
	if err != nil {
		return nil, err
	}
	data, sw, err := s.transmit("INITIALIZE UPDATE", iu)
	if err != nil {
		return nil, err
	}
	if sw != SWOK {
		return nil, &StatusError{Cmd: "INITIALIZE UPDATE", SW: sw}
	}
	r, err := scp03.ParseInitializeUpdateResponse(data)
	if err != nil {
		return nil, err
	}
	if r.Param.PseudoRandom() {
		if err := r.CheckPseudoRandomChallenge(cfg.Keys.ENC, cfg.SD); err != nil {
			return nil, err
		}
	}
	ch, ea, err := scp03.HostAuthenticate(cfg.Keys, hc, r, cfg.Level)
	if err != nil {
		return nil, err
	}
	if _, sw, err := s.transmit("EXTERNAL AUTHENTICATE", ea); err != nil {
		return nil, err
	} else if sw != SWOK {
		return nil, &StatusError{Cmd: "EXTERNAL AUTHENTICATE", SW: sw}
	}
	s.kvn = r.KeyVersion
	s.ch = ch
	return s, nil
}

// SD returns the AID of the session's Security Domain.
func (s *Session) SD() []byte { return bytes.Clone(s.aid) }

// KeyVersion is the version of the key set the session was opened with.
func (s *Session) KeyVersion() byte { return s.kvn }

// Level is the session's security level.
func (s *Session) Level() scp03.SecurityLevel { return s.level }

// Close ends the session on the host side.
func (s *Session) Close() {
	if s.ch != nil {
		s.ch.Close()
	}
}

// String names the Security Domain and level, never a key.
func (s *Session) String() string {
	return fmt.Sprintf("GP session with %X, key version %02X, level %v", s.aid, s.kvn, s.level)
}

// Send protects cmd (a clear command APDU), sends it and returns the clear
// response data. A status word other than '9000' is a *StatusError named
// after what.
func (s *Session) Send(what string, cmd []byte) ([]byte, error) {
	data, _, err := s.send(what, cmd)
	return data, err
}

// send is Send that takes the status words also as success besides SWOK,
// and returns the one the card answered.
func (s *Session) send(what string, cmd []byte, also ...uint16) ([]byte, uint16, error) {
	if s.ch == nil || s.ch.Closed() {
		return nil, 0, fmt.Errorf("%w: %s: session closed", ErrSession, what)
	}
	w, err := s.ch.WrapCommand(cmd)
	if err != nil {
		return nil, 0, err
	}
	resp, err := s.t(w)
	if err != nil {
		s.ch.Close()
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrSession, what, err)
	}
	clear, err := s.ch.UnwrapResponse(resp)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrSession, what, err)
	}
	n := len(clear) - 2
	sw := uint16(clear[n])<<8 | uint16(clear[n+1])
	if sw != SWOK && !slices.Contains(also, sw) {
		return nil, sw, &StatusError{Cmd: what, SW: sw}
	}
	return clear[:n], sw, nil
}

// InstallApplet installs an instance of module (from load file elf) in
// the session's Security Domain, selectable when selectable.
func (s *Session) InstallApplet(elf, module, instance []byte, privileges []byte, params []byte, selectable bool) error {
	cmd, err := InstallForInstallCmd(Install{LoadFile: elf, Module: module, Instance: instance, Privileges: privileges, Params: params}, selectable)
	if err != nil {
		return err
	}
	_, err = s.Send("INSTALL [for install]", cmd)
	return err
}

// MakeSelectable sends INSTALL [for make selectable] of instance.
func (s *Session) MakeSelectable(instance []byte) error {
	cmd, err := InstallForMakeSelectableCmd(instance)
	if err != nil {
		return err
	}
	_, err = s.Send("INSTALL [for make selectable]", cmd)
	return err
}

// Personalize routes what follows to instance (INSTALL [for
// personalization]).
func (s *Session) Personalize(instance []byte) error {
	cmd, err := InstallForPersonalizationCmd(instance)
	if err != nil {
		return err
	}
	_, err = s.Send("INSTALL [for personalization]", cmd)
	return err
}

// PutKey sends PUT KEY: the key set newKVN, replacing oldKVN ('00' adds
// one), each key enciphered under this session's K-DEK. The card's answer
// (key version and check values) is checked.
func (s *Session) PutKey(oldKVN, newKVN byte, ks scp03.StaticKeys) error {
	cmd, err := PutKeyCmd(oldKVN, newKVN, s.dek, ks)
	if err != nil {
		return err
	}
	resp, err := s.Send("PUT KEY", cmd)
	if err != nil {
		return err
	}
	return CheckPutKeyResponse(resp, newKVN, ks)
}

// maxBlock is the most DGI bytes one STORE DATA carries: 255 bytes of
// short APDU data, less the C-MAC and the block of padding C-DECRYPTION
// may add.
const maxBlock = 255 - 8 - 16

// StoreDGIs sends the DGIs to the instance named by the last Personalize,
// in STORE DATA blocks numbered from 0, the last flagged. Sensitive DGIs
// (dgi.Sensitive) go one per block, their data enciphered under K-DEK and
// the block flagged enciphered (R-S3b); the others are packed together,
// and split across blocks when longer than one. The session must encipher
// command data (scp03.CDecryption): the records are cardholder data.
func (s *Session) StoreDGIs(ds []dgi.DGI) error {
	if !s.level.Has(scp03.CDecryption) {
		return fmt.Errorf("%w: STORE DATA of personalisation data needs a session with C-DECRYPTION (level %v)", ErrParam, s.level)
	}
	type blk struct {
		enc  bool
		data []byte
	}
	var blocks []blk
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, blk{data: cur})
			cur = nil
		}
	}
	for _, d := range ds {
		if dgi.Sensitive(d.Tag) {
			enc, err := dgi.Encipher(s.dek, d.Data)
			if err != nil {
				return err
			}
			b, err := dgi.Append(nil, dgi.DGI{Tag: d.Tag, Data: enc})
			if err != nil {
				return err
			}
			if len(b) > maxBlock {
				return fmt.Errorf("%w: enciphered DGI %04X of %d bytes does not fit one block", ErrParam, d.Tag, len(b))
			}
			flush()
			blocks = append(blocks, blk{enc: true, data: b})
			continue
		}
		b, err := dgi.Append(nil, d)
		if err != nil {
			return err
		}
		for len(b) > 0 {
			n := min(maxBlock-len(cur), len(b))
			cur = append(cur, b[:n]...)
			b = b[n:]
			if len(cur) == maxBlock {
				flush()
			}
		}
	}
	flush()
	if len(blocks) == 0 {
		return fmt.Errorf("%w: no personalisation data", ErrParam)
	}
	if len(blocks) > 256 {
		return fmt.Errorf("%w: %d STORE DATA blocks (256 at most)", ErrParam, len(blocks))
	}
	for i, b := range blocks {
		cmd, err := StoreDataCmd(byte(i), i == len(blocks)-1, b.enc, b.data)
		if err != nil {
			return err
		}
		if _, err := s.Send(fmt.Sprintf("STORE DATA block %d", i), cmd); err != nil {
			return err
		}
	}
	return nil
}

// SetStatus sends SET STATUS of aid (an application or Supplementary
// Security Domain) to state.
func (s *Session) SetStatus(aid []byte, state byte) error {
	cmd, err := SetStatusCmd(StatusApplication, state, aid)
	if err != nil {
		return err
	}
	_, err = s.Send("SET STATUS", cmd)
	return err
}

// Delete sends DELETE of aid and what depends on it.
func (s *Session) Delete(aid []byte) error {
	cmd, err := DeleteCmd(aid, true)
	if err != nil {
		return err
	}
	_, err = s.Send("DELETE", cmd)
	return err
}

// GetData sends GET DATA for tag within the session and returns the data.
func (s *Session) GetData(tag uint16) ([]byte, error) {
	return s.Send(fmt.Sprintf("GET DATA %04X", tag), GetData(tag))
}

// ReadCPLC reads the CPLC outside any secure channel (SELECT of the SD,
// then GET DATA '9F7F'), as a TSM checks the SE identity before opening a
// session.
func ReadCPLC(t Transport, sd []byte) (CPLC, error) {
	s := &Session{t: t}
	sel, err := Select(sd)
	if err != nil {
		return CPLC{}, err
	}
	if _, sw, err := s.transmit("SELECT", sel); err != nil {
		return CPLC{}, err
	} else if sw != SWOK {
		return CPLC{}, &StatusError{Cmd: "SELECT", SW: sw}
	}
	data, sw, err := s.transmit("GET DATA 9F7F", GetData(TagCPLC))
	if err != nil {
		return CPLC{}, err
	}
	if sw != SWOK {
		return CPLC{}, &StatusError{Cmd: "GET DATA 9F7F", SW: sw}
	}
	return ParseCPLC(data)
}
