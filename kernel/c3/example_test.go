package c3_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/kernel/kerneltest"
)

// A phone that verified its holder (CTQ "consumer device CVM performed",
// with the CTQ copy in 9F69) above the NT$3,000 limit.
func Example_consumerDeviceCVM() {
	phone, err := kerneltest.NewVisa("4761739001010127", "301231")
	if err != nil {
		fmt.Println(err)
		return
	}
	phone.CDCVM = true
	cfg := kernel.DefaultConfig()
	cfg.CAPublicKeys = phone.PKI().CAPublicKeys()
	cfg.Clock = kernel.FixedClock(time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC))
	cfg.UnpredictableNumber = kernel.FixedUN([4]byte{1, 2, 3, 4})
	out, err := entry.Run(context.Background(), &kerneltest.Card{Apps: []kerneltest.App{phone}}, cfg,
		kernel.Transaction{Amount: 350000})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Type, "-", out.CVM)
	fmt.Printf("TTQ sent %X\n", out.Record(0x9F66))
	// Output:
	// Online Request - Confirmation Code Verified (CDCVM)
	// TTQ sent 26C04000
}
