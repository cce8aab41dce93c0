package pcsc_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/terminal/pcsc"
)

// A reader is picked by name, index or a part of its name.
func ExampleSelect() {
	names := []string{"ACS ACR1252 Dual Reader PICC 00 00", "ACS ACR1252 Dual Reader SAM 00 01"}
	for _, sel := range []string{"", "1", "picc", "ACS"} {
		name, err := pcsc.Select(names, sel)
		fmt.Printf("%q: %q %v\n", sel, name, err)
	}
	// Output:
	// "": "ACS ACR1252 Dual Reader PICC 00 00" <nil>
	// "1": "ACS ACR1252 Dual Reader SAM 00 01" <nil>
	// "picc": "ACS ACR1252 Dual Reader PICC 00 00" <nil>
	// "ACS": "" pcsc: select reader: no such reader: "ACS" matches "ACS ACR1252 Dual Reader PICC 00 00", "ACS ACR1252 Dual Reader SAM 00 01"
}

// The card's failures wrap kernel.ErrCardRemoved (the kernel asks for the
// card again); the reader's do not.
func ExampleError() {
	for _, err := range []error{
		&pcsc.Error{Op: "transmit", Reader: "Virtual PCD 00 00", Kind: pcsc.ErrEmptyResponse, Detail: "0 bytes"},
		&pcsc.Error{Op: "wait for card", Reader: "Virtual PCD 00 00", Kind: pcsc.ErrReaderGone},
	} {
		fmt.Println(err)
		fmt.Println("  present the card again:", errors.Is(err, kernel.ErrCardRemoved))
	}
	// Output:
	// pcsc: transmit on "Virtual PCD 00 00": empty response from the card: 0 bytes
	//   present the card again: true
	// pcsc: wait for card on "Virtual PCD 00 00": reader unavailable (unplugged?)
	//   present the card again: false
}

func ExampleReaderStatus_String() {
	fmt.Println(pcsc.ReaderStatus{Index: 0, Name: "Virtual PCD 00 00", Card: true, ATR: []byte{0x3B, 0x80, 0x80, 0x01, 0x01}})
	fmt.Println(pcsc.ReaderStatus{Index: 1, Name: "Virtual PCD 00 01"})
	// Output:
	// 0  Virtual PCD 00 00: card present, ATR 3B80800101
	// 1  Virtual PCD 00 01: no card
}

// One tap on the first reader (it needs a running pcscd and a card or
// phone in the field, so it is not run here).
func ExampleOpen() {
	r, err := pcsc.Open("", pcsc.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitForCard(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: card %X (%s)\n", r.Name(), r.ATR(), r.Protocol())
	ep, err := entry.New(kernel.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := ep.Start(ctx, r, kernel.Transaction{Amount: 15000, Type: kernel.Purchase})
	for err == nil && (out.Type == kernel.TryAgain || out.Start == kernel.StartB) {
		var again kernel.Reader
		if again, err = r.PresentAgain(ctx, out); err == nil {
			out, err = ep.Restart(ctx, again)
		}
	}
	fmt.Println(out, err)
}
