// Package pinpad is the terminal's PIN entry device: a keypad the
// cardholder types on, and the secure part that enciphers the PIN at once as
// an ISO 9564-1 format 0 PIN block under the TDES DUKPT key of the
// transaction (ANSI X9.24-1), so the PIN never leaves the device in clear.
//
// The keypad is an interface: a Script plays PINs (or a cancellation) for
// tests and headless runs; an interactive screen implements Keypad to ask a
// person. Pad joins a keypad and a DUKPT originator loaded with its initial
// PIN encryption key (IPEK) and initial key serial number.
//
// A PIN, a PAN and a PIN block never appear in an error or in printed
// output: PIN prints as "****" and Block as its KSN only.
package pinpad

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
)

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrCancelled reports that the cardholder pressed Cancel: the
	// transaction stops and nothing is sent to the host.
	ErrCancelled = errors.New("pinpad: PIN entry cancelled")
	// ErrBypassed reports that the cardholder pressed Enter without a PIN
	// (PIN bypass): there is no PIN block to send.
	ErrBypassed = errors.New("pinpad: PIN entry bypassed")
	// ErrPIN reports a PIN that is not 4 to 12 digits.
	ErrPIN = errors.New("pinpad: PIN must be 4 to 12 digits")
	// ErrNoEntry reports a scripted keypad with no entry left.
	ErrNoEntry = errors.New("pinpad: no PIN entry left in the script")
	// ErrDevice reports a PIN pad that cannot encipher: no key loaded, a
	// bad PAN, or the DUKPT counter exhausted.
	ErrDevice = errors.New("pinpad: PIN pad cannot encipher")
)

// PIN is a PIN as the cardholder typed it. It prints as asterisks in every
// format; only the enciphering code of this package reads its digits.
type PIN struct {
	digits string
}

// NewPIN checks that digits are 4 to 12 decimal digits and returns them as
// a PIN. The error never quotes the digits.
func NewPIN(digits string) (PIN, error) {
	if len(digits) < 4 || len(digits) > 12 || strings.Trim(digits, "0123456789") != "" {
		return PIN{}, fmt.Errorf("%w (got %d characters)", ErrPIN, len(digits))
	}
	return PIN{digits: digits}, nil
}

// Len is the number of digits; zero for the zero PIN.
func (p PIN) Len() int { return len(p.digits) }

// IsZero reports whether no PIN was entered.
func (p PIN) IsZero() bool { return p.digits == "" }

// String shows one asterisk per digit.
func (p PIN) String() string { return strings.Repeat("*", len(p.digits)) }

// GoString is String, so %#v hides the digits too.
func (p PIN) GoString() string { return "pinpad.PIN(" + p.String() + ")" }

// Format prints the asterisks for every verb.
func (p PIN) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(p.GoString()))
		return
	}
	_, _ = f.Write([]byte(p.String()))
}

// Prompt is what the PIN pad shows while the cardholder types: the amount,
// already formatted with its currency, the masked PAN, and which attempt this
// is (1 for the first PIN of a transaction).
type Prompt struct {
	Amount    string
	MaskedPAN string
	Attempt   int
}

// String is the prompt as a PIN pad display shows it.
func (p Prompt) String() string {
	var b strings.Builder
	if p.Amount != "" {
		b.WriteString(p.Amount)
		b.WriteString(" ")
	}
	b.WriteString("Please Enter Your PIN")
	if p.MaskedPAN != "" {
		b.WriteString(" (")
		b.WriteString(p.MaskedPAN)
		b.WriteString(")")
	}
	return b.String()
}

// Keypad collects a PIN from the cardholder. It returns ErrCancelled when
// the cardholder cancels and ErrBypassed when no PIN is entered; a context
// error when the context ends first.
type Keypad interface {
	ReadPIN(ctx context.Context, p Prompt) (PIN, error)
}

// KeypadFunc adapts a function to the Keypad interface.
type KeypadFunc func(ctx context.Context, p Prompt) (PIN, error)

// ReadPIN calls f.
func (f KeypadFunc) ReadPIN(ctx context.Context, p Prompt) (PIN, error) { return f(ctx, p) }

// Script words: an entry of a Script that is one of these is not a PIN.
const (
	// Cancel makes the scripted keypad answer ErrCancelled.
	Cancel = "cancel"
	// Bypass makes the scripted keypad answer ErrBypassed.
	Bypass = "bypass"
)

// Script is a keypad that plays its entries in order, one per PIN request:
// a PIN's digits, Cancel or Bypass. It records the prompts it was shown. It is
// safe for concurrent use.
type Script struct {
	mu      sync.Mutex
	entries []string
	prompts []Prompt
	repeat  bool
}

// NewScript returns a keypad playing entries once each, in order.
func NewScript(entries ...string) *Script {
	return &Script{entries: append([]string(nil), entries...)}
}

// Always returns a keypad that gives entry at every request.
func Always(entry string) *Script {
	return &Script{entries: []string{entry}, repeat: true}
}

// ReadPIN plays the next entry.
func (s *Script) ReadPIN(ctx context.Context, p Prompt) (PIN, error) {
	if err := ctx.Err(); err != nil {
		return PIN{}, fmt.Errorf("pinpad: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prompts = append(s.prompts, p)
	if len(s.entries) == 0 {
		return PIN{}, ErrNoEntry
	}
	e := s.entries[0]
	if !s.repeat {
		s.entries = s.entries[1:]
	}
	switch strings.ToLower(e) {
	case Cancel:
		return PIN{}, ErrCancelled
	case Bypass, "":
		return PIN{}, ErrBypassed
	}
	return NewPIN(e)
}

// Prompts returns the prompts shown so far.
func (s *Script) Prompts() []Prompt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Prompt(nil), s.prompts...)
}

// Left is the number of entries not yet played (-1 for Always).
func (s *Script) Left() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repeat {
		return -1
	}
	return len(s.entries)
}

// Block is an enciphered PIN block with the KSN of the DUKPT key that
// enciphered it: ISO 8583 fields 52 and 53. It prints as its KSN only.
type Block struct {
	block [8]byte
	ksn   dukpt.KSN
}

// NewBlock builds a Block from an enciphered 8-byte PIN block and its KSN,
// as a host receiving fields 52 and 53 does.
func NewBlock(enciphered []byte, ksn dukpt.KSN) (Block, error) {
	if len(enciphered) != 8 {
		return Block{}, fmt.Errorf("%w: PIN block must be 8 bytes, got %d", ErrDevice, len(enciphered))
	}
	return Block{block: [8]byte(enciphered), ksn: ksn}, nil
}

// PINBlock returns a copy of the enciphered PIN block (field 52).
func (b Block) PINBlock() []byte { return append([]byte(nil), b.block[:]...) }

// KSN returns the key serial number (field 53).
func (b Block) KSN() dukpt.KSN { return b.ksn }

// IsZero reports whether the block is empty.
func (b Block) IsZero() bool { return b.ksn == dukpt.KSN{} && b.block == [8]byte{} }

// String shows the KSN and hides the PIN block.
func (b Block) String() string { return "PIN block ****************, KSN " + b.ksn.String() }

// GoString is String.
func (b Block) GoString() string { return b.String() }

// Format prints String for every verb.
func (b Block) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(b.String())) }

// Pad is a PIN entry device: a keypad and a TDES DUKPT originator. Each PIN
// entered is enciphered at once as an ISO 9564-1 format 0 block bound to the
// PAN, under the PIN key of the next DUKPT transaction key. It is safe for
// concurrent use.
type Pad struct {
	mu     sync.Mutex
	keypad Keypad
	dukpt  *dukpt.Terminal
}

// New loads a PIN pad with its keypad, its initial PIN encryption key and
// its KSN. A KSN with a zero counter is a fresh load (the first PIN uses
// counter 1); a non-zero counter, such as a saved NextKSN, resumes the
// device there: the next PIN uses that counter. It must be a counter DUKPT
// uses (at most 10 one bits).
func New(k Keypad, ipek keys.Key, ksn dukpt.KSN) (*Pad, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: no keypad", ErrDevice)
	}
	t, err := dukpt.NewTerminal(ipek, ksn.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDevice, err)
	}
	return &Pad{keypad: k, dukpt: t}, nil
}

// NextKSN is the KSN the next PIN will be enciphered under.
func (p *Pad) NextKSN() dukpt.KSN {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dukpt.KSN()
}

// Remaining counts the PIN entries the device can still encipher.
func (p *Pad) Remaining() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dukpt.Remaining()
}

// Keypad returns the keypad.
func (p *Pad) Keypad() Keypad { return p.keypad }

// EnterPIN asks the cardholder for the PIN of account pan and returns it
// enciphered with its KSN. A cancellation, a bypass or a context error is
// returned as the keypad gave it; no DUKPT key is used then.
func (p *Pad) EnterPIN(ctx context.Context, pr Prompt, pan string) (Block, error) {
	typed, err := p.keypad.ReadPIN(ctx, pr)
	if err != nil {
		return Block{}, err
	}
	if typed.IsZero() {
		return Block{}, ErrBypassed
	}
	return p.Encipher(typed, pan)
}

// Encipher enciphers an already collected PIN for account pan under the
// next DUKPT key.
func (p *Pad) Encipher(typed PIN, pan string) (Block, error) {
	clear, err := pin.Encode(pin.Format0, typed.digits, pan, nil)
	if err != nil {
		// pin errors never quote the PIN or the PAN.
		return Block{}, fmt.Errorf("%w: %w", ErrDevice, err)
	}
	p.mu.Lock()
	ksn, key, err := p.dukpt.NextPINKey()
	p.mu.Unlock()
	if err != nil {
		return Block{}, fmt.Errorf("%w: %w", ErrDevice, err)
	}
	enc, err := pin.Encrypt(key, clear)
	if err != nil {
		return Block{}, fmt.Errorf("%w: %w", ErrDevice, err)
	}
	return Block{block: [8]byte(enc), ksn: ksn}, nil
}
