package receipt_test

import (
	"fmt"
	"time"

	"github.com/tapsim/tapsim/terminal/receipt"
)

// A phone tap verified on the device: the PAN and the cryptogram are masked.
func ExampleRender() {
	fmt.Print(receipt.Render(receipt.Data{
		Merchant:       "TAPSIM STORE TAIPEI TW",
		MerchantID:     "000000000000001",
		TerminalID:     "T0000001",
		Time:           time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC),
		Amount:         450000,
		Currency:       901,
		Exponent:       2,
		PAN:            "4761739001010044",
		Label:          "VISA CREDIT",
		AID:            []byte{0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10},
		CryptogramType: receipt.CryptogramType(0x80),
		Cryptogram:     []byte{0x4F, 0x00, 0x0E, 0x45, 0x71, 0x98, 0x10, 0x83},
		STAN:           "000042",
		AuthCode:       "123456",
		Approved:       true,
		ResponseCode:   "00",
		CVM:            receipt.CVMDevice,
	}))
	// Output:
	//          TAPSIM STORE TAIPEI TW
	// MID 000000000000001         TID T0000001
	// 2026-01-15                      10:30:00
	// ----------------------------------------
	// SALE                         CONTACTLESS
	// VISA CREDIT
	// 476173******0044
	// AID                       A0000000031010
	// ARQC                    ************1083
	// STAN                              000042
	// AUTH CODE                         123456
	// ----------------------------------------
	// AMOUNT                      TWD 4,500.00
	// ----------------------------------------
	// APPROVED                              00
	//            VERIFIED BY DEVICE
	//
	//              CUSTOMER COPY
}
