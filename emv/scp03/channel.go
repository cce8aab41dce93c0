package scp03

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// Role says which end of the secure channel a Channel is.
type Role int

const (
	// HostRole is the off-card entity (our TSM): it wraps commands and
	// unwraps responses.
	HostRole Role = iota + 1
	// CardRole is the Security Domain (the virtual SE): it unwraps commands
	// and wraps responses.
	CardRole
)

// String names the role.
func (r Role) String() string {
	switch r {
	case HostRole:
		return "host"
	case CardRole:
		return "card"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// blockSize is the AES block size; SCP03 chaining values, counters and
// padding all work on it.
const blockSize = 16

// Channel is one end of an open SCP03 secure channel session: the session
// keys, the security level, the MAC chaining value and the encryption
// counter (Amendment D sections 6.2.3 to 6.2.7). A host Channel wraps
// commands (WrapCommand) and unwraps responses (UnwrapResponse); a card
// Channel unwraps commands (UnwrapCommand) and wraps responses
// (WrapResponse). Every command changes the state, so both ends must see
// the same commands in the same order. A failed verification closes the
// session. A Channel is safe for concurrent use, though the protocol is
// sequential. Printing a Channel shows no key or chaining value.
type Channel struct {
	mu      sync.Mutex
	role    Role
	s       Session
	mode    Mode
	level   SecurityLevel
	chain   [blockSize]byte
	counter [blockSize]byte
	closed  bool
	err     error
}

// NewChannel opens role's end of a session that has completed its
// handshake at security level level, with the MAC chaining value set to
// chain (the full 16-byte C-MAC of the EXTERNAL AUTHENTICATE command) and the
// encryption counter at zero. Host and Card do this for a live handshake;
// NewChannel serves tests and a session resumed from recorded state.
func NewChannel(role Role, s Session, m Mode, level SecurityLevel, chain []byte) (*Channel, error) {
	if role != HostRole && role != CardRole {
		return nil, fmt.Errorf("%w: unknown role %v", ErrState, role)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if !m.Valid() {
		return nil, fmt.Errorf("%w: mode %v", ErrLength, m)
	}
	if !level.Valid() {
		return nil, fmt.Errorf("%w: %v", ErrSecurityLevel, level)
	}
	if len(chain) != blockSize {
		return nil, fmt.Errorf("%w: MAC chaining value of %d bytes, want 16", ErrLength, len(chain))
	}
	c := &Channel{role: role, s: s, mode: m, level: level}
	copy(c.chain[:], chain)
	return c, nil
}

// Role is the end of the channel c is.
func (c *Channel) Role() Role { return c.role }

// Mode is the session's S8 or S16 mode.
func (c *Channel) Mode() Mode { return c.mode }

// Level is the session's security level.
func (c *Channel) Level() SecurityLevel { return c.level }

// MACChainingValue returns a copy of the current MAC chaining value: the
// full 16-byte CMAC of the last command.
func (c *Channel) MACChainingValue() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.chain[:])
}

// EncryptionCounter returns the encryption counter as a 16-byte block: the
// number of commands wrapped (or unwrapped) since EXTERNAL AUTHENTICATE when
// the level has C-DECRYPTION.
func (c *Channel) EncryptionCounter() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.counter[:])
}

// Close ends the session; every later call fails with ErrClosed.
func (c *Channel) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(nil)
}

// Closed reports whether the session has ended.
func (c *Channel) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// String shows the role, mode, level and whether the session is open.
func (c *Channel) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	state := "open"
	if c.closed {
		state = "closed"
	}
	return fmt.Sprintf("SCP03 %v channel %v level %v %s", c.role, c.mode, c.level, state)
}

func (c *Channel) closeLocked(cause error) {
	c.closed = true
	c.chain = [blockSize]byte{}
	if c.err == nil {
		c.err = cause
	}
}

// ready checks the channel is open and used from the right end.
func (c *Channel) ready(role Role, op string) error {
	if c.closed {
		if c.err != nil {
			return fmt.Errorf("%w: %s after %v", ErrClosed, op, c.err)
		}
		return fmt.Errorf("%w: %s", ErrClosed, op)
	}
	if c.role != role {
		return fmt.Errorf("%w: %s on a %v channel", ErrState, op, c.role)
	}
	return nil
}

// fail closes the session and returns err.
func (c *Channel) fail(err error) error {
	c.closeLocked(err)
	return err
}

// cmac returns CMAC(k, chain || parts...).
func cmacOver(k keys.Key, chain []byte, parts ...[]byte) ([]byte, error) {
	n := len(chain)
	for _, p := range parts {
		n += len(p)
	}
	in := make([]byte, 0, n)
	in = append(in, chain...)
	for _, p := range parts {
		in = append(in, p...)
	}
	return mac.CMAC(k, in)
}

// nextCounter returns ctr plus one, as a 16-byte big-endian number.
func nextCounter(ctr [blockSize]byte) [blockSize]byte {
	for i := blockSize - 1; i >= 0; i-- {
		ctr[i]++
		if ctr[i] != 0 {
			break
		}
	}
	return ctr
}

// commandICV is AES(S-ENC, counter): the ICV of command encryption
// (Amendment D 6.2.6).
func (c *Channel) commandICV(ctr [blockSize]byte) ([]byte, error) {
	return c.s.SENC.EncryptECB(ctr[:])
}

// responseICV is AES(S-ENC, counter with its first byte set to '80'): the
// ICV of response encryption (Amendment D 6.2.7).
func (c *Channel) responseICV() ([]byte, error) {
	b := c.counter
	b[0] = 0x80
	return c.s.SENC.EncryptECB(b[:])
}

// pad appends '80' and '00's up to a whole AES block (ISO/IEC 9797-1
// padding method 2, GP Card Specification B.2.3).
func pad(data []byte) []byte { return mac.Pad(data, blockSize, mac.Method2) }

// unpad strips method 2 padding, refusing anything else.
func unpad(b []byte) ([]byte, error) {
	i := len(b) - 1
	for i >= 0 && b[i] == 0x00 && len(b)-i <= blockSize {
		i--
	}
	if i < 0 || b[i] != 0x80 || len(b)-i > blockSize {
		return nil, ErrPadding
	}
	return b[:i], nil
}

// WrapCommand protects a command APDU for the card at the session's
// security level (host side; Amendment D 6.2.4 and 6.2.6). With
// C-DECRYPTION the encryption counter is incremented for every command and
// command data, when present, is padded ('80' '00'...) and enciphered with
// AES-CBC under S-ENC with ICV = AES(S-ENC, counter). With C-MAC the class
// byte gets the secure messaging indication, Lc grows by the MAC length, and
// C-MAC = CMAC(S-MAC, chaining value || CLA' INS P1 P2 Lc || data), of which
// the first 8 bytes (16 in S16 mode) are appended; the full CMAC becomes the
// next chaining value. CLA' is the class byte with the logical channel set
// to zero. Le, when present, is kept as it is, and so is the length coding
// (short or extended); a short command whose protected data exceeds 255
// bytes is refused, and so is a command already carrying secure messaging.
// At level '00' the command passes unchanged. A refused command leaves the
// session state as it was.
func (c *Channel) WrapCommand(cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(HostRole, "wrap command"); err != nil {
		return nil, err
	}
	p, err := parseCommand(cmd)
	if err != nil {
		return nil, err
	}
	if !c.level.Has(CMAC) {
		return bytes.Clone(cmd), nil
	}
	if hasSM(p.cla) {
		return nil, cmdErr(SWClassNotSupported, "command with CLA %02X already carries secure messaging", p.cla)
	}
	return c.wrapLocked(p, c.level.Has(CDecryption))
}

// wrapLocked applies C-DECRYPTION (when enc) and C-MAC to p. The state
// (counter, chaining value) changes only when the whole wrap succeeds.
func (c *Channel) wrapLocked(p command, enc bool) ([]byte, error) {
	data := p.data
	ctr := c.counter
	if enc {
		ctr = nextCounter(ctr)
		if len(data) > 0 {
			icv, err := c.commandICV(ctr)
			if err != nil {
				return nil, err
			}
			if data, err = c.s.SENC.EncryptCBC(icv, pad(data)); err != nil {
				return nil, err
			}
		}
	}
	cla := wrappedCLA(p.cla)
	n := len(data) + c.mode.Len()
	lc, err := p.lc(n)
	if err != nil {
		return nil, err
	}
	full, err := cmacOver(c.s.SMAC, c.chain[:], []byte{macCLA(cla), p.ins, p.p1, p.p2}, lc, data)
	if err != nil {
		return nil, err
	}
	protected := make([]byte, 0, n)
	protected = append(protected, data...)
	protected = append(protected, full[:c.mode.Len()]...)
	out, err := p.encode(cla, protected)
	if err != nil {
		return nil, err
	}
	copy(c.chain[:], full)
	c.counter = ctr
	return out, nil
}

// UnwrapCommand checks and removes the protection of a command APDU (card
// side), the reverse of WrapCommand: the C-MAC is verified (in constant
// time) over the chaining value and the command as received, the chaining
// value moves on, and with C-DECRYPTION the encryption counter is
// incremented and the data deciphered and unpadded. It returns the command
// as the host built it, with the secure messaging indication cleared from
// CLA. A command without secure messaging where the level requires a C-MAC,
// a wrong C-MAC, or bad padding closes the session (Amendment D: a failed
// check ends the secure channel); the C-MAC failures are *MACError. At
// level '00' a command without secure messaging passes unchanged.
func (c *Channel) UnwrapCommand(cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(CardRole, "unwrap command"); err != nil {
		return nil, err
	}
	p, err := parseCommand(cmd)
	if err != nil {
		return nil, c.fail(err)
	}
	if !c.level.Has(CMAC) {
		if hasSM(p.cla) {
			return nil, c.fail(cmdErr(SWClassNotSupported, "secure messaging at security level %v", c.level))
		}
		return bytes.Clone(cmd), nil
	}
	if !hasSM(p.cla) {
		return nil, c.fail(&MACError{What: "C-MAC missing"})
	}
	return c.unwrapLocked(p, c.level.Has(CDecryption))
}

func (c *Channel) unwrapLocked(p command, dec bool) ([]byte, error) {
	ml := c.mode.Len()
	if len(p.data) < ml {
		return nil, c.fail(&MACError{What: "C-MAC missing"})
	}
	data, got := p.data[:len(p.data)-ml], p.data[len(p.data)-ml:]
	lc, err := p.lc(len(p.data))
	if err != nil {
		return nil, c.fail(err)
	}
	full, err := cmacOver(c.s.SMAC, c.chain[:], []byte{macCLA(p.cla), p.ins, p.p1, p.p2}, lc, data)
	if err != nil {
		return nil, c.fail(err)
	}
	if !mac.Equal(full[:ml], got) {
		return nil, c.fail(&MACError{What: "C-MAC"})
	}
	copy(c.chain[:], full)
	if dec {
		c.counter = nextCounter(c.counter)
		if len(data) > 0 {
			if len(data)%blockSize != 0 {
				return nil, c.fail(cmdErr(SWWrongLength, "enciphered data of %d bytes is not a whole number of blocks", len(data)))
			}
			icv, err := c.commandICV(c.counter)
			if err != nil {
				return nil, c.fail(err)
			}
			clear, err := c.s.SENC.DecryptCBC(icv, data)
			if err != nil {
				return nil, c.fail(err)
			}
			if data, err = unpad(clear); err != nil {
				return nil, c.fail(fmt.Errorf("%w in command data", err))
			}
		}
	}
	out, err := p.encode(p.cla&^smBit(p.cla), data)
	if err != nil {
		return nil, c.fail(err)
	}
	return out, nil
}

// successSW reports whether a status word gets R-MAC protection: '9000' and
// the warnings '62xx' and '63xx'. Amendment D 6.2.5: a response with any
// other (error) status word carries neither R-MAC nor data.
func successSW(sw1, sw2 byte) bool {
	return (sw1 == 0x90 && sw2 == 0x00) || sw1 == 0x62 || sw1 == 0x63
}

// WrapResponse protects a response APDU (data then SW1 SW2) for the host
// (card side; Amendment D 6.2.5 and 6.2.7). With R-ENCRYPTION the data, when
// present, is padded and enciphered under S-ENC with ICV = AES(S-ENC,
// counter with its first byte '80'). With R-MAC, R-MAC = CMAC(S-RMAC,
// chaining value || data || SW1 SW2), of which the first 8 (16) bytes
// follow the data. A response with an error status word goes out as the
// status word alone. Without R-MAC the response passes unchanged.
func (c *Channel) WrapResponse(resp []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(CardRole, "wrap response"); err != nil {
		return nil, err
	}
	if len(resp) < 2 {
		return nil, fmt.Errorf("%w: %d bytes, no status word", ErrResponse, len(resp))
	}
	if !c.level.Has(RMAC) {
		return bytes.Clone(resp), nil
	}
	data, sw := resp[:len(resp)-2], resp[len(resp)-2:]
	if !successSW(sw[0], sw[1]) {
		return bytes.Clone(sw), nil
	}
	if c.level.Has(REncryption) && len(data) > 0 {
		icv, err := c.responseICV()
		if err != nil {
			return nil, err
		}
		if data, err = c.s.SENC.EncryptCBC(icv, pad(data)); err != nil {
			return nil, err
		}
	}
	full, err := cmacOver(c.s.SRMAC, c.chain[:], data, sw)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(data)+c.mode.Len()+2)
	out = append(out, data...)
	out = append(out, full[:c.mode.Len()]...)
	return append(out, sw...), nil
}

// UnwrapResponse checks and removes the protection of a response APDU
// (host side), the reverse of WrapResponse, and returns the clear response
// data followed by SW1 SW2. With R-MAC, the R-MAC over the chaining value,
// the data as received and the status word is verified in constant time;
// with R-ENCRYPTION the data is then deciphered and unpadded. A response
// with an error status word passes unchanged. A wrong R-MAC (*MACError), a
// response too short to hold one, a response without status word, or bad
// padding closes the session.
func (c *Channel) UnwrapResponse(resp []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ready(HostRole, "unwrap response"); err != nil {
		return nil, err
	}
	if len(resp) < 2 {
		return nil, c.fail(fmt.Errorf("%w: %d bytes, no status word", ErrResponse, len(resp)))
	}
	if !c.level.Has(RMAC) {
		return bytes.Clone(resp), nil
	}
	body, sw := resp[:len(resp)-2], resp[len(resp)-2:]
	if !successSW(sw[0], sw[1]) {
		return bytes.Clone(resp), nil
	}
	ml := c.mode.Len()
	if len(body) < ml {
		return nil, c.fail(&MACError{What: "R-MAC missing"})
	}
	data, got := body[:len(body)-ml], body[len(body)-ml:]
	full, err := cmacOver(c.s.SRMAC, c.chain[:], data, sw)
	if err != nil {
		return nil, c.fail(err)
	}
	if !mac.Equal(full[:ml], got) {
		return nil, c.fail(&MACError{What: "R-MAC"})
	}
	if c.level.Has(REncryption) && len(data) > 0 {
		if len(data)%blockSize != 0 {
			return nil, c.fail(fmt.Errorf("%w: enciphered data of %d bytes is not a whole number of blocks", ErrResponse, len(data)))
		}
		icv, err := c.responseICV()
		if err != nil {
			return nil, c.fail(err)
		}
		clear, err := c.s.SENC.DecryptCBC(icv, data)
		if err != nil {
			return nil, c.fail(err)
		}
		if data, err = unpad(clear); err != nil {
			return nil, c.fail(fmt.Errorf("%w in response data", err))
		}
	}
	out := make([]byte, 0, len(data)+2)
	out = append(out, data...)
	return append(out, sw...), nil
}

// GoString is String, so that %#v shows no chaining value either.
func (c *Channel) GoString() string { return c.String() }
