package dukpt

import (
	"fmt"
	"math/bits"

	"github.com/tapsim/tapsim/emv/keys"
)

// registers is the originator state both DUKPT standards describe: one
// future-key register per counter bit, the encryption counter, and the
// rules that skip counters with too many one bits (X9.24-1:2009 A.2 "New
// Key", X9.24-3:2017 6.5 "Update State for Next Transaction").
//
// Invariant between transactions, with c the counter of the next
// transaction and r its lowest one bit: register r holds the key of c; for
// every bit b above r that is clear in c, register b holds the key of
// (c's bits above b) | b; every other register is empty.
type registers struct {
	width   int    // counter bits: 21 (TDES) or 32 (AES)
	maxOnes int    // one bits a counter may have: 10 (TDES) or 16 (AES)
	counter uint64 // next counter; > max means exhausted
	future  []keys.Key
	// derive makes the key of counter c from the key of its parent (c
	// with its lowest one bit cleared).
	derive func(parent keys.Key, c uint64) (keys.Key, error)
}

func (r *registers) max() uint64 { return 1<<r.width - 1 }

func (r *registers) valid(c uint64) bool {
	return c != 0 && c <= r.max() && bits.OnesCount64(c) <= r.maxOnes
}

// load fills the registers for next counter c from the initial key, as the
// standards' "load initial key" does for c = 1 (every register b then
// holds the key of counter b, derived from the initial key in one step).
// For a later c the keys the device would hold at that point are rebuilt.
func (r *registers) load(initial keys.Key, c uint64) error {
	if c == 0 {
		c = 1
	}
	if !r.valid(c) {
		return fmt.Errorf("%w: counter %d has %d one bits (at most %d)", ErrCounter, c, bits.OnesCount64(c), r.maxOnes)
	}
	r.future = make([]keys.Key, r.width)
	r.counter = c
	low := bits.TrailingZeros64(c)
	for b := low; b < r.width; b++ {
		bit := uint64(1) << b
		var target uint64
		switch {
		case b == low:
			target = c
		case c&bit == 0:
			target = c&^(bit<<1-1) | bit
		default:
			continue
		}
		k, err := r.walk(initial, target)
		if err != nil {
			return err
		}
		r.future[b] = k
	}
	return nil
}

// walk derives the key of counter c from the initial key along c's one
// bits, highest first, as a receiving host does.
func (r *registers) walk(initial keys.Key, c uint64) (keys.Key, error) {
	k := initial
	var set uint64
	for b := r.width - 1; b >= 0; b-- {
		bit := uint64(1) << b
		if c&bit == 0 {
			continue
		}
		set |= bit
		var err error
		if k, err = r.derive(k, set); err != nil {
			return keys.Key{}, err
		}
	}
	return k, nil
}

// next hands out the key of the current counter, then prepares the next
// transaction: the keys of the current key's children (the current counter
// with one lower bit set) go into the lower registers unless the current
// counter already has the most one bits allowed, in which case the counter
// jumps by its lowest one bit over all of them; the used key is erased.
func (r *registers) next() (uint64, keys.Key, error) {
	if r.future == nil {
		return 0, keys.Key{}, fmt.Errorf("%w: no initial key loaded", ErrKey)
	}
	c := r.counter
	if c > r.max() {
		return 0, keys.Key{}, ErrExhausted
	}
	low := bits.TrailingZeros64(c)
	cur := r.future[low]
	if cur.IsZero() {
		// Cannot happen while the invariant holds; refuse rather than
		// hand out a wrong key.
		return 0, keys.Key{}, fmt.Errorf("%w: no future key for counter %d", ErrKey, c)
	}
	full := bits.OnesCount64(c) >= r.maxOnes
	if !full {
		for b := low - 1; b >= 0; b-- {
			k, err := r.derive(cur, c|1<<b)
			if err != nil {
				return 0, keys.Key{}, err
			}
			r.future[b] = k
		}
	}
	r.future[low] = keys.Key{}
	if full {
		r.counter = c + 1<<low
	} else {
		r.counter = c + 1
	}
	if r.counter > r.max() {
		r.future = make([]keys.Key, r.width) // erase what is left
	}
	return c, cur, nil
}

// remaining counts the transactions left. next visits every valid counter
// in order (a counter with the most one bits allowed jumps exactly over its
// descendants, all invalid), so this is the number of counters from the
// current one to the end with at most maxOnes one bits.
func (r *registers) remaining() int {
	if r.future == nil || r.counter > r.max() {
		return 0
	}
	return countValidBelow(r.max()+1, r.maxOnes) - countValidBelow(r.counter, r.maxOnes)
}

// countValidBelow counts x in [1, n) with at most m one bits: for each one
// bit i of n, the numbers that share n's bits above i and have bit i clear
// leave i free bits, of which at most m minus the ones above may be set.
func countValidBelow(n uint64, m int) int {
	total, above := 0, 0
	for i := 63; i >= 0; i-- {
		if n&(1<<i) == 0 {
			continue
		}
		for j := 0; j <= m-above && j <= i; j++ {
			total += binomial(i, j)
		}
		above++
	}
	if n > 0 {
		total-- // zero is not a counter
	}
	return total
}

func binomial(n, k int) int {
	r := 1
	for i := 1; i <= k; i++ {
		r = r * (n - k + i) / i
	}
	return r
}

// Terminal is a TDES DUKPT originating device (PIN pad): it holds the 21
// future-key registers of X9.24-1:2009 A.2, hands out one transaction key
// per transaction with its KSN, skips counters with more than 10 one bits
// and stops after counter 1FF800 (1,048,575 transactions from a fresh
// load). It is not safe for concurrent use.
type Terminal struct {
	ksn KSN
	reg registers
}

// NewTerminal loads a terminal with its IPEK and initial KSN. A KSN whose
// counter is not zero resumes a device at that counter (its future-key
// registers are rebuilt from the IPEK); such a counter must be valid.
func NewTerminal(ipek keys.Key, initialKSN []byte) (*Terminal, error) {
	if err := doubleTDES("IPEK", ipek); err != nil {
		return nil, err
	}
	k, err := ParseKSN(initialKSN)
	if err != nil {
		return nil, err
	}
	t := &Terminal{ksn: k.Initial()}
	t.reg = registers{
		width:   CounterBits,
		maxOnes: MaxOneBits,
		derive: func(parent keys.Key, c uint64) (keys.Key, error) {
			reg := t.ksn.WithCounter(uint32(c))
			return keys.New(keys.TDES, nrkgp(parent.Bytes(), reg[2:]))
		},
	}
	if err := t.reg.load(ipek, uint64(k.Counter())); err != nil {
		return nil, err
	}
	return t, nil
}

// Next returns the KSN and current transaction key of the next transaction
// and advances; derive the working key with PINKey, MACRequestKey...
// After the last counter it returns ErrExhausted.
func (t *Terminal) Next() (KSN, keys.Key, error) {
	c, k, err := t.reg.next()
	if err != nil {
		return KSN{}, keys.Key{}, err
	}
	return t.ksn.WithCounter(uint32(c)), k, nil
}

// NextPINKey is Next followed by PINKey: the KSN to send with the PIN block
// and the key to encipher it.
func (t *Terminal) NextPINKey() (KSN, keys.Key, error) {
	ksn, k, err := t.Next()
	if err != nil {
		return KSN{}, keys.Key{}, err
	}
	pk, err := PINKey(k)
	return ksn, pk, err
}

// KSN returns the KSN the next transaction will use; it means nothing once
// the terminal is exhausted.
func (t *Terminal) KSN() KSN { return t.ksn.WithCounter(uint32(t.reg.counter)) }

// Exhausted reports whether the terminal has no transaction key left.
func (t *Terminal) Exhausted() bool { return t.reg.counter > t.reg.max() }

// Remaining counts the transactions the terminal can still perform.
func (t *Terminal) Remaining() int { return t.reg.remaining() }
