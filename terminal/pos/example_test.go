package pos_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/pos"
)

// A sale above the no-signature limit with a plastic card asking for the
// online PIN, against an acquirer on loopback that approves: the receipt
// shows the masked PAN and cryptogram and "PIN VERIFIED".
func ExampleTerminal_Sale() {
	acq, err := newFakeAcquirer(approveAll)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer acq.srv.Close()
	link := client.New(acq.addr(), client.Options{})
	defer link.Close()

	cfg := pos.DefaultConfig()
	cfg.Kernel.CAPublicKeys, _ = kernel.ParseCAPK(testca.CAPKFile())
	now := time.Date(2026, 1, 15, 10, 30, 0, 0, time.FixedZone("CST", 8*3600))
	term, err := pos.New(cfg, link, pos.Options{
		Clock:               func() time.Time { return now },
		UnpredictableNumber: kernel.FixedUN([4]byte{0xCA, 0xFE, 0xBA, 0xBE}),
		Keypad:              pinpad.NewScript("1234"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := cards.Builtin("visa-plastic")
	card, _ := cards.FromProfile(p, cards.Options{Rand: rand.NewChaCha8([32]byte{}), Clock: func() time.Time { return now }})

	res, err := term.Sale(context.Background(), 350000, inproc.New(card))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res)
	fmt.Println("KSN:", res.KSN)
	fmt.Print(res.Receipt)
	// Output:
	// sale approved (Approved): 00 approved, auth A1B2C3, STAN 000001, PAN 476173******0010, CVM online_pin
	// KSN: FFFF9876543210E00001
	//           TAPSIM STORE TAIPEI
	// MID 000000000000001         TID T0000001
	// 2026-01-15                      10:30:00
	// ----------------------------------------
	// SALE                         CONTACTLESS
	// VISA CREDIT
	// 476173******0010
	// AID                       A0000000031010
	// ARQC                    ************A0E5
	// ATC                                 0001
	// TVR                           0000000000
	// STAN                              000001
	// RRN                         601510000001
	// AUTH CODE                         A1B2C3
	// ----------------------------------------
	// AMOUNT                      TWD 3,500.00
	// ----------------------------------------
	// APPROVED                              00
	//               PIN VERIFIED
	//
	//              CUSTOMER COPY
}

// The acquirer never answers: the terminal reverses the authorisation on its
// own and says so.
func ExampleTerminal_Sale_noAnswer() {
	acq, err := newFakeAcquirer(approveAllButAuthorisations)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer acq.srv.Close()
	link := client.New(acq.addr(), client.Options{})
	defer link.Close()

	cfg := pos.DefaultConfig()
	cfg.ResponseTimeout = 200 * time.Millisecond
	now := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	term, _ := pos.New(cfg, link, pos.Options{Clock: func() time.Time { return now }})
	p, _ := cards.Builtin("visa-plastic")
	card, _ := cards.FromProfile(p, cards.Options{Rand: rand.NewChaCha8([32]byte{}), Clock: func() time.Time { return now }})

	res, _ := term.Sale(context.Background(), 150000, inproc.New(card))
	fmt.Println(res.Status, "-", res.Message)
	for _, x := range res.Exchanges {
		fmt.Println(x.Purpose, x.Err != nil)
	}
	// Output:
	// reversed - No answer from host: reversed
	// authorisation true
	// reversal false
}
