package kernel_test

import (
	"fmt"
	"os"

	"github.com/tapsim/tapsim/kernel"
)

// The default terminal is Taiwanese, with the NT$3,000 no-signature limit.
func ExampleDefaultConfig() {
	cfg := kernel.DefaultConfig()
	visa := cfg.Combination(kernel.VisaAID, 3)
	fmt.Println("country", cfg.Country, "currency", cfg.Currency)
	fmt.Println("CVM required limit", *visa.CVMRequiredLimit, "minor units")
	fmt.Println("TTQ", visa.TTQ)
	// Output:
	// country 0158 currency 0901
	// CVM required limit 300000 minor units
	// TTQ 26004000
}

func ExampleTVR() {
	var tvr kernel.TVR
	tvr.Set(kernel.TVRODANotPerformed)
	tvr.Set(kernel.TVRFloorLimitExceeded)
	fmt.Println(tvr)
	fmt.Println(tvr.Has(kernel.TVRCDAFailed))
	bit, _ := kernel.ParseTVRBit("expired_application")
	fmt.Printf("%04X %s\n", uint16(bit), bit)
	// Output:
	// 8000008000 (oda_not_performed, floor_limit_exceeded)
	// false
	// 0240 Expired application
}

func ExampleParseCAPK() {
	data, err := os.ReadFile("testdata/capk.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	keys, err := kernel.ParseCAPK(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range keys {
		fmt.Println(k.ID(), k.Key().Bits(), "bits")
	}
	// Output:
	// F000000001/01 1024 bits
}

func ExampleMaskPAN() {
	fmt.Println(kernel.MaskPAN("4761739001010119"))
	// Output: 476173******0119
}
