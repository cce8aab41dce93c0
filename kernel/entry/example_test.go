package entry_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/kernel/kerneltest"
)

// One tap of a Visa-like test card below the floor limit: approved offline
// after fDDA.
func ExampleRun() {
	card, err := kerneltest.NewVisa("4761739001010119", "301231")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := kernel.DefaultConfig()
	cfg.CAPublicKeys = card.PKI().CAPublicKeys()
	cfg.Clock = kernel.FixedClock(time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC))
	cfg.UnpredictableNumber = kernel.FixedUN([4]byte{1, 2, 3, 4})

	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{card}}, cfg,
		kernel.Transaction{Amount: 25000})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out)
	for _, ui := range out.UIRequests {
		fmt.Println(" ", ui)
	}
	// Output:
	// Approved, CVM No CVM, AID A0000000031010, PAN 476173******0119, ODA fDDA passed, UI "Approved": card returned TC
	//   Present Card [Ready to Read]
	//   Card Read OK, Please Remove Card [Card Read Successfully]
	//   Approved [Not Ready]
}

// Above the NT$50,000 Reader Contactless Transaction Limit of every
// combination the card is not even read.
func ExampleEntryPoint_Start_tryAnotherInterface() {
	cfg := kernel.DefaultConfig()
	cfg.Combinations[1].TransactionLimit = cfg.Combinations[0].TransactionLimit
	e, err := entry.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := e.Start(context.Background(), &kerneltest.Card{}, kernel.Transaction{Amount: 6000000})
	fmt.Println(out.Type, out.UIOnOutcome, err)
	// Output: Try Another Interface Please Insert or Swipe Card [Processing Error] <nil>
}
