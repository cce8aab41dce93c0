package pcsc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ebfe/scard"
)

// ReaderStatus is what the PC/SC service says about one reader.
type ReaderStatus struct {
	// Index is the reader's place in the service's list, as Open and
	// Select take it.
	Index int
	// Name is the reader's PC/SC name.
	Name string
	// Card reports a card in the field; ATR is its Answer To Reset.
	Card bool
	ATR  []byte
	// InUse reports a connection by some application; Exclusive an
	// exclusive one.
	InUse, Exclusive bool
	// Mute reports a card that does not answer to reset.
	Mute bool
	// Unavailable reports a reader that cannot be used (unplugged).
	Unavailable bool
}

// String describes the reader in one line: index, name, card and ATR.
func (s ReaderStatus) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d  %s: ", s.Index, s.Name)
	switch {
	case s.Unavailable:
		b.WriteString("unavailable")
	case s.Mute:
		b.WriteString("card present, mute")
	case s.Card:
		b.WriteString("card present")
		if len(s.ATR) > 0 {
			b.WriteString(", ATR ")
			b.WriteString(strings.ToUpper(hex.EncodeToString(s.ATR)))
		}
	default:
		b.WriteString("no card")
	}
	if s.Exclusive {
		b.WriteString(" (in exclusive use)")
	} else if s.InUse {
		b.WriteString(" (in use)")
	}
	return b.String()
}

// ListReaders lists the readers the PC/SC service knows, with the card in
// each. No reader gives an empty list, not an error; a service that is not
// running gives ErrNoService.
func ListReaders() ([]ReaderStatus, error) {
	sc, err := establish()
	if err != nil {
		return nil, newError("connect to the PC/SC service", "", err)
	}
	defer sc.Release()
	return listReaders(sc)
}

func listReaders(sc scardContext) ([]ReaderStatus, error) {
	names, err := sc.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return []ReaderStatus{}, nil
	}
	if err != nil {
		return nil, newError("list readers", "", err)
	}
	if len(names) == 0 {
		return []ReaderStatus{}, nil
	}
	states := make([]scard.ReaderState, len(names))
	for i, n := range names {
		states[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	if err := sc.GetStatusChange(states, 0); err != nil {
		return nil, newError("read reader states", "", err)
	}
	out := make([]ReaderStatus, len(names))
	for i, st := range states {
		f := st.EventState
		out[i] = ReaderStatus{
			Index:       i,
			Name:        names[i],
			Card:        f&scard.StatePresent != 0,
			InUse:       f&scard.StateInuse != 0,
			Exclusive:   f&scard.StateExclusive != 0,
			Mute:        f&scard.StateMute != 0,
			Unavailable: f&(scard.StateUnavailable|scard.StateUnknown) != 0,
		}
		if out[i].Card {
			out[i].ATR = append([]byte(nil), st.Atr...)
		}
	}
	return out, nil
}

// Available names the readers of list that can be used, in order.
func Available(list []ReaderStatus) []string {
	var names []string
	for _, r := range list {
		if !r.Unavailable {
			names = append(names, r.Name)
		}
	}
	return names
}

// AvailableReaders names the readers of the PC/SC service that can be used,
// in the service's order; see ListReaders for the errors.
func AvailableReaders() ([]string, error) {
	list, err := ListReaders()
	if err != nil {
		return nil, err
	}
	return Available(list), nil
}
