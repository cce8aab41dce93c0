package pinpad_test

import (
	"context"
	"fmt"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/terminal/pinpad"
)

// A PIN pad loaded with the IPEK of the ANSI X9.24-1 example enciphers the
// PIN the (scripted) cardholder types; only the KSN is printable.
func ExamplePad_EnterPIN() {
	ipek := keys.MustHex(keys.TDES, "6AC292FAA1315B4D858AB3A3D7D5933A")
	ksn, _ := dukpt.ParseKSNHex("FFFF9876543210E00000")
	pad, _ := pinpad.New(pinpad.NewScript("1234", pinpad.Cancel), ipek, ksn)

	b, _ := pad.EnterPIN(context.Background(), pinpad.Prompt{Amount: "TWD 3,500.00"}, "4012345678909")
	fmt.Println(b)
	fmt.Printf("field 52: %X\n", b.PINBlock())

	_, err := pad.EnterPIN(context.Background(), pinpad.Prompt{}, "4012345678909")
	fmt.Println(err)
	fmt.Println("next KSN:", pad.NextKSN())
	// Output:
	// PIN block ****************, KSN FFFF9876543210E00001
	// field 52: 1B9C1845EB993A7A
	// pinpad: PIN entry cancelled
	// next KSN: FFFF9876543210E00002
}
