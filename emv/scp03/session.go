package scp03

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// Mode is the SCP03 length mode (Amendment D section 6.2.1): S8 works with
// 8-byte challenges, cryptograms and MACs; S16 with 16-byte ones. Its value
// is that length in bytes.
type Mode int

const (
	// S8 is the 8-byte mode every SCP03 card supports.
	S8 Mode = 8
	// S16 is the optional 16-byte mode ("i" parameter bit b1 set).
	S16 Mode = 16
)

// Len is the length in bytes of a challenge, cryptogram or MAC in mode m.
func (m Mode) Len() int { return int(m) }

// Bits is Len in bits, the L of the cryptogram derivations.
func (m Mode) Bits() int { return 8 * int(m) }

// Valid reports whether m is S8 or S16.
func (m Mode) Valid() bool { return m == S8 || m == S16 }

// String names the mode: "S8" or "S16".
func (m Mode) String() string {
	if m.Valid() {
		return fmt.Sprintf("S%d", int(m))
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// modeOf returns the mode whose challenge length is n.
func modeOf(n int) (Mode, error) {
	m := Mode(n)
	if !m.Valid() {
		return 0, fmt.Errorf("%w: challenge of %d bytes (8 in S8 mode, 16 in S16 mode)", ErrLength, n)
	}
	return m, nil
}

// StaticKeys is one SCP03 key set of a Security Domain: K-ENC, K-MAC and
// K-DEK, each an AES key of 16, 24 or 32 bytes. Printing it shows key check
// values only.
type StaticKeys struct {
	// ENC is K-ENC, from which S-ENC and pseudo-random card challenges
	// derive.
	ENC keys.Key
	// MAC is K-MAC, from which S-MAC and S-RMAC derive.
	MAC keys.Key
	// DEK is K-DEK, used as it is (no session key) to encipher sensitive
	// data such as keys in PUT KEY; it takes no part in the handshake.
	DEK keys.Key
}

// Session holds the session keys of one secure channel session, each as
// long as the static key it derives from. Printing it shows key check values
// only.
type Session struct {
	// SENC is S-ENC, for command and response data encryption.
	SENC keys.Key
	// SMAC is S-MAC, for C-MACs and the authentication cryptograms.
	SMAC keys.Key
	// SRMAC is S-RMAC, for R-MACs.
	SRMAC keys.Key
}

func checkAES(name string, k keys.Key) error {
	if k.Alg() != keys.AES {
		return fmt.Errorf("%w: %s must be an AES key, got %v", ErrKey, name, k)
	}
	return nil
}

// context is the KDF context of the session derivations and cryptograms:
// host challenge || card challenge, both of the same mode.
func sessionContext(hostChallenge, cardChallenge []byte) ([]byte, Mode, error) {
	m, err := modeOf(len(hostChallenge))
	if err != nil {
		return nil, 0, fmt.Errorf("%w (host)", err)
	}
	if len(cardChallenge) != len(hostChallenge) {
		return nil, 0, fmt.Errorf("%w: card challenge of %d bytes with a host challenge of %d",
			ErrLength, len(cardChallenge), len(hostChallenge))
	}
	ctx := make([]byte, 0, 2*m.Len())
	ctx = append(ctx, hostChallenge...)
	return append(ctx, cardChallenge...), m, nil
}

// SessionKeys derives the session keys of Amendment D section 6.2.1 from
// the static keys and the two challenges (8 bytes each in S8 mode, 16 in
// S16 mode): S-ENC = KDF(K-ENC, '04'), S-MAC = KDF(K-MAC, '06'), S-RMAC =
// KDF(K-MAC, '07'), each with context host challenge || card challenge and L
// the static key length in bits. K-DEK is not used.
func SessionKeys(static StaticKeys, hostChallenge, cardChallenge []byte) (Session, error) {
	if err := checkAES("K-ENC", static.ENC); err != nil {
		return Session{}, err
	}
	if err := checkAES("K-MAC", static.MAC); err != nil {
		return Session{}, err
	}
	ctx, _, err := sessionContext(hostChallenge, cardChallenge)
	if err != nil {
		return Session{}, err
	}
	derive := func(k keys.Key, c byte) (keys.Key, error) {
		b, err := KDF(k, c, ctx, 8*k.Len())
		if err != nil {
			return keys.Key{}, err
		}
		return keys.New(keys.AES, b)
	}
	var s Session
	if s.SENC, err = derive(static.ENC, ConstSENC); err != nil {
		return Session{}, err
	}
	if s.SMAC, err = derive(static.MAC, ConstSMAC); err != nil {
		return Session{}, err
	}
	if s.SRMAC, err = derive(static.MAC, ConstSRMAC); err != nil {
		return Session{}, err
	}
	return s, nil
}

func (s Session) check() error {
	for _, k := range []struct {
		name string
		k    keys.Key
	}{{"S-ENC", s.SENC}, {"S-MAC", s.SMAC}, {"S-RMAC", s.SRMAC}} {
		if err := checkAES(k.name, k.k); err != nil {
			return err
		}
	}
	return nil
}

func cryptogram(s Session, constant byte, hostChallenge, cardChallenge []byte) ([]byte, error) {
	if err := checkAES("S-MAC", s.SMAC); err != nil {
		return nil, err
	}
	ctx, m, err := sessionContext(hostChallenge, cardChallenge)
	if err != nil {
		return nil, err
	}
	return KDF(s.SMAC, constant, ctx, m.Bits())
}

// CardCryptogram is the card authentication cryptogram (Amendment D
// 6.2.2.2): KDF(S-MAC, '00', host challenge || card challenge), 64 bits in
// S8 mode and 128 bits in S16 mode (the mode follows the challenge length).
func CardCryptogram(s Session, hostChallenge, cardChallenge []byte) ([]byte, error) {
	return cryptogram(s, ConstCardCryptogram, hostChallenge, cardChallenge)
}

// HostCryptogram is the host authentication cryptogram (Amendment D
// 6.2.2.3): KDF(S-MAC, '01', host challenge || card challenge), 64 bits in
// S8 mode and 128 bits in S16 mode.
func HostCryptogram(s Session, hostChallenge, cardChallenge []byte) ([]byte, error) {
	return cryptogram(s, ConstHostCryptogram, hostChallenge, cardChallenge)
}

func verifyCryptogram(s Session, constant byte, hostChallenge, cardChallenge, got []byte, who string) error {
	want, err := cryptogram(s, constant, hostChallenge, cardChallenge)
	if err != nil {
		return err
	}
	if !mac.Equal(want, got) {
		return fmt.Errorf("%w: %s cryptogram", ErrCryptogram, who)
	}
	return nil
}

// VerifyCardCryptogram checks, in constant time, the card cryptogram a host
// received in the INITIALIZE UPDATE response. A mismatch is ErrCryptogram.
func VerifyCardCryptogram(s Session, hostChallenge, cardChallenge, got []byte) error {
	return verifyCryptogram(s, ConstCardCryptogram, hostChallenge, cardChallenge, got, "card")
}

// VerifyHostCryptogram checks, in constant time, the host cryptogram a card
// received in EXTERNAL AUTHENTICATE. A mismatch is ErrCryptogram.
func VerifyHostCryptogram(s Session, hostChallenge, cardChallenge, got []byte) error {
	return verifyCryptogram(s, ConstHostCryptogram, hostChallenge, cardChallenge, got, "host")
}

// Sequence counter limits: the counter is 3 bytes.
const (
	// MaxSequenceCounter is the largest value of the 24-bit sequence
	// counter; a key set whose counter reached it opens no more sessions.
	MaxSequenceCounter = 0xFFFFFF
)

// SequenceCounter codes n (0 to MaxSequenceCounter) as the 3-byte sequence
// counter of an INITIALIZE UPDATE response.
func SequenceCounter(n uint32) ([3]byte, error) {
	if n > MaxSequenceCounter {
		return [3]byte{}, fmt.Errorf("%w: %d does not fit 3 bytes", ErrSequenceCounter, n)
	}
	return [3]byte{byte(n >> 16), byte(n >> 8), byte(n)}, nil
}

// checkAID accepts the 5 to 16 bytes of an ISO/IEC 7816-5 AID.
func checkAID(aid []byte) error {
	if len(aid) < 5 || len(aid) > 16 {
		return fmt.Errorf("%w: AID of %d bytes (5 to 16)", ErrLength, len(aid))
	}
	return nil
}

// PseudoRandomCardChallenge is the 8-byte (S8 mode) pseudo-random card
// challenge of Amendment D 6.2.2.1: KDF(K-ENC, '02', sequence counter ||
// AID, 64), where AID is that of the Security Domain the session is opened
// with. A card whose "i" parameter has b5 set returns it with the sequence
// counter, so that the host can check it.
func PseudoRandomCardChallenge(encKey keys.Key, seqCounter [3]byte, aid []byte) ([]byte, error) {
	return PseudoRandomCardChallengeMode(S8, encKey, seqCounter, aid)
}

// PseudoRandomCardChallengeMode is PseudoRandomCardChallenge for either
// mode: 64 bits in S8 mode, 128 bits in S16 mode.
func PseudoRandomCardChallengeMode(m Mode, encKey keys.Key, seqCounter [3]byte, aid []byte) ([]byte, error) {
	if !m.Valid() {
		return nil, fmt.Errorf("%w: mode %v", ErrLength, m)
	}
	if err := checkAES("K-ENC", encKey); err != nil {
		return nil, err
	}
	if err := checkAID(aid); err != nil {
		return nil, err
	}
	ctx := make([]byte, 0, 3+len(aid))
	ctx = append(ctx, seqCounter[:]...)
	ctx = append(ctx, aid...)
	return KDF(encKey, ConstCardChallenge, ctx, m.Bits())
}
