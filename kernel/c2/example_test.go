package c2_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/kernel/kerneltest"
)

// A phone asks its holder to verify ("See Phone") above the CVM required
// limit; after verification the second tap goes online with CDCVM.
func Example_seePhone() {
	phone, err := kerneltest.NewMChip("5413330089010020", "301231")
	if err != nil {
		fmt.Println(err)
		return
	}
	phone.AIP = []byte{0x1B, 0x80} // on-device cardholder verification
	if err := phone.Build(); err != nil {
		fmt.Println(err)
		return
	}
	cfg := kernel.DefaultConfig()
	cfg.CAPublicKeys = phone.PKI().CAPublicKeys()
	cfg.Clock = kernel.FixedClock(time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC))
	cfg.UnpredictableNumber = kernel.FixedUN([4]byte{1, 2, 3, 4})
	e, err := entry.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	card := &kerneltest.Card{Apps: []kerneltest.App{phone}}
	out, _ := e.Start(context.Background(), card, kernel.Transaction{Amount: 450000})
	fmt.Println(out.Type, "start", out.Start, "-", out.UIOnOutcome.Message)

	phone.Verified = true // the holder unlocks the phone
	card.Reset()
	out, _ = e.Restart(context.Background(), card)
	fmt.Println(out.Type, "-", out.CVM, "-", out.ODA)
	// Output:
	// End Application start B - See Phone for Instructions
	// Online Request - Confirmation Code Verified (CDCVM) - CDA passed
}
