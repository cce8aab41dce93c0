// Package kerneltest helps test code that drives the contactless kernels
// without real or virtual cards: a scripted Reader that answers from a
// table or a function, a small test PKI (fixed RSA keys of a test CA, an
// issuer and a card), and programmable test cards modelled on a Visa-like
// qVSDC application and a Mastercard-like M/Chip application that answer
// the kernels' commands with real fDDA and CDA signatures.
//
// The test cards are deliberately simple: they exist to exercise every
// branch of the kernels, not to model a product. Their keys are test keys.
package kerneltest

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/tapsim/tapsim/kernel"
)

// Reader is a kernel.Reader that answers each command with Respond and
// keeps a log of the exchanges. It is safe for concurrent use.
type Reader struct {
	// Respond answers one command APDU.
	Respond func(capdu []byte) ([]byte, error)

	mu  sync.Mutex
	log []kernel.Exchange
}

// Transmit answers capdu and logs the exchange.
func (r *Reader) Transmit(ctx context.Context, capdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp, err := r.Respond(capdu)
	r.mu.Lock()
	r.log = append(r.log, kernel.Exchange{C: append([]byte(nil), capdu...), R: append([]byte(nil), resp...), Err: err})
	r.mu.Unlock()
	return resp, err
}

// Log returns the exchanges so far.
func (r *Reader) Log() []kernel.Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]kernel.Exchange(nil), r.log...)
}

// Commands returns the command APDUs sent so far, in upper-case hex.
func (r *Reader) Commands() []string {
	var out []string
	for _, e := range r.Log() {
		out = append(out, strings.ToUpper(hex.EncodeToString(e.C)))
	}
	return out
}

// Table returns a Reader answering from m: keys are command APDUs and
// values response APDUs, both in hex (spaces ignored). A key may end with
// "*" to match any command starting with what precedes it. A command not in
// the table gets 6D00.
func Table(m map[string]string) *Reader {
	type entry struct {
		prefix bool
		c      []byte
		r      []byte
	}
	var entries []entry
	for k, v := range m {
		prefix := strings.HasSuffix(k, "*")
		c := MustHex(strings.TrimSuffix(k, "*"))
		entries = append(entries, entry{prefix, c, MustHex(v)})
	}
	return &Reader{Respond: func(capdu []byte) ([]byte, error) {
		for _, e := range entries {
			if !e.prefix && string(e.c) == string(capdu) {
				return append([]byte(nil), e.r...), nil
			}
		}
		best := -1
		for i, e := range entries {
			if e.prefix && strings.HasPrefix(string(capdu), string(e.c)) && (best < 0 || len(e.c) > len(entries[best].c)) {
				best = i
			}
		}
		if best >= 0 {
			return append([]byte(nil), entries[best].r...), nil
		}
		return []byte{0x6D, 0x00}, nil
	}}
}

// Script returns a Reader giving the responses in order, whatever the
// commands; after the last it reports the card removed.
func Script(responses ...string) *Reader {
	i := 0
	var mu sync.Mutex
	return &Reader{Respond: func(capdu []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if i >= len(responses) {
			return nil, fmt.Errorf("%w: script ended", kernel.ErrCardRemoved)
		}
		r := MustHex(responses[i])
		i++
		return r, nil
	}}
}

// MustHex decodes hex digits, ignoring spaces; it panics on bad input and
// is meant for test constants.
func MustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if err != nil {
		panic(fmt.Sprintf("kerneltest: bad hex %q", s))
	}
	return b
}
