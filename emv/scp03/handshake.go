package scp03

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"sync"

	"github.com/tapsim/tapsim/emv/keys"
)

// Instruction bytes of the handshake commands.
const (
	// InsInitializeUpdate is the INS of INITIALIZE UPDATE.
	InsInitializeUpdate byte = 0x50
	// InsExternalAuthenticate is the INS of EXTERNAL AUTHENTICATE.
	InsExternalAuthenticate byte = 0x82
	// SCPIdentifier is the "03" of the key information.
	SCPIdentifier byte = 0x03
	// DiversificationDataLen is the length of the key diversification
	// data that opens an INITIALIZE UPDATE response.
	DiversificationDataLen = 10
)

// InitializeUpdate builds the INITIALIZE UPDATE command (Amendment D
// 7.1.1): CLA '80', INS '50', P1 the key version number ('00' for the first
// available key set), P2 '00', the host challenge (8 bytes in S8 mode, 16
// in S16 mode) as data, Le '00'.
func InitializeUpdate(keyVersion byte, hostChallenge []byte) ([]byte, error) {
	if _, err := modeOf(len(hostChallenge)); err != nil {
		return nil, fmt.Errorf("%w (host)", err)
	}
	out := make([]byte, 0, 6+len(hostChallenge))
	out = append(out, 0x80, InsInitializeUpdate, keyVersion, 0x00, byte(len(hostChallenge)))
	out = append(out, hostChallenge...)
	return append(out, 0x00), nil
}

// InitializeUpdateResponse is the data field of the response to INITIALIZE
// UPDATE (Amendment D table 7-3). Printing it shows the key information and
// sequence counter only, never the challenge or cryptogram.
type InitializeUpdateResponse struct {
	// DiversificationData is the key diversification data (10 bytes).
	DiversificationData [DiversificationDataLen]byte
	// KeyVersion is the key version number of the key set used.
	KeyVersion byte
	// Param is the "i" parameter: mode, challenge kind, R-MAC/R-ENC support.
	Param Param
	// CardChallenge is 8 bytes (S8) or 16 bytes (S16).
	CardChallenge []byte
	// CardCryptogram is 8 bytes (S8) or 16 bytes (S16).
	CardCryptogram []byte
	// SequenceCounter is the 3-byte sequence counter, present (non-nil) when
	// the card challenge is pseudo-random.
	SequenceCounter []byte
}

// ParseInitializeUpdateResponse reads the data field (without SW1 SW2) of
// an INITIALIZE UPDATE response: diversification data (10), key information
// (key version, '03', "i"), card challenge and card cryptogram (8 or 16
// bytes each, as "i" says), then the sequence counter (3), which must be
// present when "i" announces a pseudo-random card challenge. The slices are
// copies. It never reads past b.
func ParseInitializeUpdateResponse(b []byte) (InitializeUpdateResponse, error) {
	const head = DiversificationDataLen + 3
	if len(b) < head {
		return InitializeUpdateResponse{}, fmt.Errorf("%w: INITIALIZE UPDATE response of %d bytes", ErrResponse, len(b))
	}
	var r InitializeUpdateResponse
	copy(r.DiversificationData[:], b)
	r.KeyVersion = b[DiversificationDataLen]
	if id := b[DiversificationDataLen+1]; id != SCPIdentifier {
		return InitializeUpdateResponse{}, fmt.Errorf("%w: key information names SCP %02X, not 03", ErrResponse, id)
	}
	r.Param = Param(b[DiversificationDataLen+2])
	ml := r.Param.Mode().Len()
	rest := b[head:]
	switch len(rest) {
	case 2 * ml:
		if r.Param.PseudoRandom() {
			return InitializeUpdateResponse{}, fmt.Errorf("%w: pseudo-random card challenge without sequence counter", ErrResponse)
		}
	case 2*ml + 3:
		r.SequenceCounter = bytes.Clone(rest[2*ml:])
	default:
		return InitializeUpdateResponse{}, fmt.Errorf("%w: INITIALIZE UPDATE response of %d bytes in %v mode", ErrResponse, len(b), r.Param.Mode())
	}
	r.CardChallenge = bytes.Clone(rest[:ml])
	r.CardCryptogram = bytes.Clone(rest[ml : 2*ml])
	return r, nil
}

// Bytes codes the response data field (without status word).
func (r InitializeUpdateResponse) Bytes() []byte {
	out := make([]byte, 0, DiversificationDataLen+3+len(r.CardChallenge)+len(r.CardCryptogram)+len(r.SequenceCounter))
	out = append(out, r.DiversificationData[:]...)
	out = append(out, r.KeyVersion, SCPIdentifier, byte(r.Param))
	out = append(out, r.CardChallenge...)
	out = append(out, r.CardCryptogram...)
	return append(out, r.SequenceCounter...)
}

// String shows the key version, "i" parameter and sequence counter.
func (r InitializeUpdateResponse) String() string {
	s := fmt.Sprintf("INITIALIZE UPDATE response: key version %02X, SCP03 i=%02X (%v)", r.KeyVersion, byte(r.Param), r.Param.Mode())
	if r.SequenceCounter != nil {
		s += fmt.Sprintf(", sequence counter %X", r.SequenceCounter)
	}
	return s
}

// GoString is String, so that %#v shows no cryptogram either.
func (r InitializeUpdateResponse) GoString() string { return r.String() }

// CheckPseudoRandomChallenge lets a host that knows K-ENC and the Security
// Domain's AID check a pseudo-random card challenge against the sequence
// counter returned with it. A mismatch is ErrCryptogram.
func (r InitializeUpdateResponse) CheckPseudoRandomChallenge(encKey keys.Key, aid []byte) error {
	if len(r.SequenceCounter) != 3 {
		return fmt.Errorf("%w: no sequence counter in the response", ErrResponse)
	}
	want, err := PseudoRandomCardChallengeMode(r.Param.Mode(), encKey, [3]byte(r.SequenceCounter), aid)
	if err != nil {
		return err
	}
	if !bytes.Equal(want, r.CardChallenge) {
		return fmt.Errorf("%w: card challenge is not the pseudo-random one for this counter", ErrCryptogram)
	}
	return nil
}

// HostAuthenticate is the host's half of the mutual authentication, after
// it sent InitializeUpdate(keyVersion, hostChallenge) and parsed the card's
// response: it derives the session keys, verifies the card cryptogram,
// computes the host cryptogram and builds the EXTERNAL AUTHENTICATE command
// (CLA '84', INS '82', P1 level, P2 '00', host cryptogram || C-MAC, the
// C-MAC over a zero chaining value, never enciphered). It returns the host
// Channel, which applies level from the next command on, and the command to
// send; the card must answer '9000' before the channel is used. level must
// be one the card's "i" parameter supports.
func HostAuthenticate(static StaticKeys, hostChallenge []byte, resp InitializeUpdateResponse, level SecurityLevel) (*Channel, []byte, error) {
	if !resp.Param.Supports(level) {
		return nil, nil, fmt.Errorf("%w: %v with i=%02X", ErrSecurityLevel, level, byte(resp.Param))
	}
	m := resp.Param.Mode()
	if len(hostChallenge) != m.Len() {
		return nil, nil, fmt.Errorf("%w: host challenge of %d bytes in %v mode", ErrLength, len(hostChallenge), m)
	}
	s, err := SessionKeys(static, hostChallenge, resp.CardChallenge)
	if err != nil {
		return nil, nil, err
	}
	if err := VerifyCardCryptogram(s, hostChallenge, resp.CardChallenge, resp.CardCryptogram); err != nil {
		return nil, nil, err
	}
	hc, err := HostCryptogram(s, hostChallenge, resp.CardChallenge)
	if err != nil {
		return nil, nil, err
	}
	ch, err := NewChannel(HostRole, s, m, level, make([]byte, blockSize))
	if err != nil {
		return nil, nil, err
	}
	ea := command{cla: 0x80, ins: InsExternalAuthenticate, p1: byte(level), p2: 0x00, data: hc}
	cmd, err := ch.wrapLocked(ea, false)
	if err != nil {
		return nil, nil, err
	}
	return ch, cmd, nil
}

// Card is the card side of the handshake for one SCP03 key set of a
// Security Domain (the virtual SE). Set its fields, then feed it the host's
// INITIALIZE UPDATE and EXTERNAL AUTHENTICATE commands. A Card is safe for
// concurrent use; it keeps one pending handshake at a time.
type Card struct {
	// Keys is the static key set.
	Keys StaticKeys
	// KeyVersion is the key version number of Keys.
	KeyVersion byte
	// Param is the "i" parameter the card announces (e.g. '70': S8,
	// pseudo-random challenge, R-MAC and R-ENCRYPTION).
	Param Param
	// DiversificationData is returned as it is in every response.
	DiversificationData [DiversificationDataLen]byte
	// AID is the Security Domain's AID, the context of pseudo-random card
	// challenges (5 to 16 bytes; needed when Param is pseudo-random).
	AID []byte
	// Counter is the sequence counter of the key set: the value used by the
	// last pseudo-random card challenge (0 for a fresh key set). Each
	// INITIALIZE UPDATE increments it before use, so a card challenge is
	// never repeated, even when the handshake does not complete.
	Counter uint32
	// Rand supplies random card challenges when Param is not pseudo-random
	// (crypto/rand when nil).
	Rand io.Reader

	mu      sync.Mutex
	pending *pendingAuth
}

type pendingAuth struct {
	s             Session
	mode          Mode
	hostChallenge []byte
	cardChallenge []byte
}

// InitializeUpdate answers an INITIALIZE UPDATE command: it checks the
// command (CLA '80'-'83' or 'C0'-'CF', INS '50', P1 this key version or
// '00', P2 '00', a host challenge of the card's mode), makes the card
// challenge (pseudo-random from the incremented sequence counter, or
// random), derives the session keys and returns the response data followed
// by '9000'. The handshake waits for ExternalAuthenticate; a new
// INITIALIZE UPDATE replaces it. StatusWord(err) gives the status word of
// a failure.
func (c *Card) InitializeUpdate(cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = nil
	p, err := parseCommand(cmd)
	if err != nil {
		return nil, err
	}
	if p.cla&0x80 == 0 || hasSM(p.cla) {
		return nil, cmdErr(SWClassNotSupported, "INITIALIZE UPDATE with CLA %02X", p.cla)
	}
	if p.ins != InsInitializeUpdate {
		return nil, cmdErr(SWInsNotSupported, "INS %02X is not INITIALIZE UPDATE", p.ins)
	}
	if p.p1 != 0 && p.p1 != c.KeyVersion {
		return nil, fmt.Errorf("%w: key version %02X", ErrKeyVersion, p.p1)
	}
	if p.p2 != 0 {
		return nil, cmdErr(SWIncorrectP1P2, "INITIALIZE UPDATE P2 %02X", p.p2)
	}
	m := c.Param.Mode()
	if len(p.data) != m.Len() {
		return nil, fmt.Errorf("%w: host challenge of %d bytes in %v mode", ErrLength, len(p.data), m)
	}
	hostChallenge := bytes.Clone(p.data)

	var (
		cardChallenge []byte
		seq           []byte
	)
	if c.Param.PseudoRandom() {
		if c.Counter >= MaxSequenceCounter {
			return nil, fmt.Errorf("%w: key version %02X", ErrSequenceCounter, c.KeyVersion)
		}
		sc, err := SequenceCounter(c.Counter + 1)
		if err != nil {
			return nil, err
		}
		if cardChallenge, err = PseudoRandomCardChallengeMode(m, c.Keys.ENC, sc, c.AID); err != nil {
			return nil, err
		}
		c.Counter++
		seq = sc[:]
	} else {
		r := c.Rand
		if r == nil {
			r = rand.Reader
		}
		cardChallenge = make([]byte, m.Len())
		if _, err := io.ReadFull(r, cardChallenge); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRandom, err)
		}
	}
	s, err := SessionKeys(c.Keys, hostChallenge, cardChallenge)
	if err != nil {
		return nil, err
	}
	cc, err := CardCryptogram(s, hostChallenge, cardChallenge)
	if err != nil {
		return nil, err
	}
	c.pending = &pendingAuth{s: s, mode: m, hostChallenge: hostChallenge, cardChallenge: cardChallenge}
	resp := InitializeUpdateResponse{
		DiversificationData: c.DiversificationData,
		KeyVersion:          c.KeyVersion,
		Param:               c.Param,
		CardChallenge:       cardChallenge,
		CardCryptogram:      cc,
		SequenceCounter:     seq,
	}
	return append(resp.Bytes(), 0x90, 0x00), nil
}

// ExternalAuthenticate answers the EXTERNAL AUTHENTICATE that follows
// InitializeUpdate: it checks the command (secure messaging CLA, INS '82',
// P1 a security level the "i" parameter supports, P2 '00'), verifies its
// C-MAC over a zero chaining value (*MACError) and the host cryptogram
// (ErrCryptogram), and returns the card Channel at the requested level,
// whose chaining value is this command's C-MAC. The card then answers
// '9000'. Whatever the outcome, the pending handshake is used up.
// StatusWord(err) gives the status word of a failure.
func (c *Card) ExternalAuthenticate(cmd []byte) (*Channel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pa := c.pending
	c.pending = nil
	if pa == nil {
		return nil, fmt.Errorf("%w: EXTERNAL AUTHENTICATE without INITIALIZE UPDATE", ErrState)
	}
	p, err := parseCommand(cmd)
	if err != nil {
		return nil, err
	}
	if p.cla&0x80 == 0 || !hasSM(p.cla) {
		return nil, cmdErr(SWClassNotSupported, "EXTERNAL AUTHENTICATE with CLA %02X", p.cla)
	}
	if p.ins != InsExternalAuthenticate {
		return nil, cmdErr(SWInsNotSupported, "INS %02X is not EXTERNAL AUTHENTICATE", p.ins)
	}
	if p.p2 != 0 {
		return nil, cmdErr(SWIncorrectP1P2, "EXTERNAL AUTHENTICATE P2 %02X", p.p2)
	}
	level := SecurityLevel(p.p1)
	if !c.Param.Supports(level) {
		return nil, fmt.Errorf("%w: %v with i=%02X", ErrSecurityLevel, level, byte(c.Param))
	}
	if len(p.data) != 2*pa.mode.Len() {
		return nil, fmt.Errorf("%w: EXTERNAL AUTHENTICATE data of %d bytes in %v mode", ErrLength, len(p.data), pa.mode)
	}
	ch, err := NewChannel(CardRole, pa.s, pa.mode, level, make([]byte, blockSize))
	if err != nil {
		return nil, err
	}
	plain, err := ch.unwrapLocked(p, false)
	if err != nil {
		return nil, err
	}
	pp, err := parseCommand(plain)
	if err != nil {
		return nil, err
	}
	if err := VerifyHostCryptogram(pa.s, pa.hostChallenge, pa.cardChallenge, pp.data); err != nil {
		return nil, err
	}
	return ch, nil
}
