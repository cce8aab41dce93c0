package se_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/cards/se"
	"github.com/tapsim/tapsim/emv/keys"
)

type payApp struct{}

func (payApp) AID() []byte { return []byte{0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10} }

func Example() {
	chip := se.New(bytes.NewReader(make([]byte, 1024)))
	bankSD := []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x01}
	bankKey := keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F")
	_ = chip.CreateDomain(bankSD, "bank", bankKey)

	s, _ := chip.Open(bankSD, bankKey)
	_ = s.Install(payApp{})

	_, err := chip.Open(bankSD, keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F"))
	fmt.Println(errors.Is(err, se.ErrAuth))
	fmt.Println(len(chip.Selectable()))
	// Output:
	// true
	// 1
}
