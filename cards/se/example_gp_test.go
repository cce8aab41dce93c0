package se_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/tapsim/tapsim/cards/se"
	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

type exampleApplet struct{ aid []byte }

func (a exampleApplet) AID() []byte { return a.aid }

// A shared SE (R-M2): the SE operator creates the bank's Supplementary
// Security Domain and hands its keys over; the bank rotates them, so that
// the operator's copy opens nothing, then installs and personalises its
// payment applet over SCP03, the applet's key enciphered.
func ExampleSE_Process() {
	ks := func(b byte) scp03.StaticKeys {
		k := func(o byte) keys.Key { return keys.MustNew(keys.AES, bytes.Repeat([]byte{b + o}, 16)) }
		return scp03.StaticKeys{ENC: k(0), MAC: k(1), DEK: k(2)}
	}
	isd := []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00}
	ssd := []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x01}
	app := []byte{0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10}
	elf, mod := []byte{0xF0, 0x01, 0x02, 0x03, 0x04}, []byte{0xF0, 0x01, 0x02, 0x03, 0x04, 0x01}
	random := rand.NewChaCha8([32]byte{})

	chip := se.New(random)
	_ = chip.CreateDomain(isd, "SE operator", keys.MustNew(keys.AES, make([]byte, 16)))
	_ = chip.SetKeys(isd, 0x01, ks(0x40))
	_ = chip.AddModule(elf, mod, func(aid []byte, data []dgi.DGI) (se.Applet, error) {
		if _, ok := dgi.Find(data, dgi.KeysDES); !ok {
			return nil, errors.New("no key")
		}
		return exampleApplet{aid}, nil
	})
	transport := func(c []byte) ([]byte, error) { return chip.Process(c), nil }

	// The operator, in the ISD.
	op, _ := gp.Open(transport, gp.Config{SD: isd, Keys: ks(0x40), Level: scp03.LevelCMACCDec, Rand: random})
	_ = op.InstallApplet(se.SDLoadFile, se.SDModule, ssd, []byte{gp.PrivSecurityDomain}, []byte("bank"), true)
	_ = op.Personalize(ssd)
	_ = op.PutKey(0, 0x30, ks(0x60))

	// The bank, in its SSD.
	bank, _ := gp.Open(transport, gp.Config{SD: ssd, KeyVersion: 0x30, Keys: ks(0x60), Level: scp03.LevelCMACCDecRMAC, Rand: random})
	fmt.Println(bank.PutKey(0x30, 0x31, ks(0x70)))
	fmt.Println(bank.InstallApplet(elf, mod, app, []byte{0x00}, nil, true))
	fmt.Println(bank.Personalize(app))
	fmt.Println(bank.StoreDGIs([]dgi.DGI{{Tag: 0x0101, Data: []byte{0x70, 0x00}}, {Tag: dgi.KeysDES, Data: make([]byte, 16)}}))
	fmt.Println(chip.Select(app) != nil)

	_, err := gp.Open(transport, gp.Config{SD: ssd, KeyVersion: 0x30, Keys: ks(0x60), Level: scp03.LevelCMAC, Rand: random})
	fmt.Println(err)
	for _, e := range chip.Registry() {
		fmt.Printf("%v %X state %02X\n", e.Kind, e.AID, e.State)
	}
	// Output:
	// <nil>
	// <nil>
	// <nil>
	// <nil>
	// true
	// gp: INITIALIZE UPDATE: status 6A88
	// ISD A000000151000000 state 0F
	// SSD A000000151535001 state 0F
	// application A0000000031010 state 0F
}
