package lab_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// Start the embedded world on a temporary directory, sell NT$1,500.00 to
// the sample Visa-like card and print the outcome.
func Example() {
	dir, err := os.MkdirTemp("", "tapsim-lab-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	n, err := lab.Start(ctx, lab.Options{Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Close()
	term, link, err := n.NewTerminal(pos.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer link.Close()
	card, err := lab.Card("visa-plastic", time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := term.Sale(ctx, 150000, inproc.New(card))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Kind, res.Status, res.ResponseCode)
	// Output: sale approved 00 (approved)
}

// Add the sample Visa-like card to a new wallet phone through the wallet
// provider and the token service the issuer runs, with the token
// service's step-up recommendation and the OTP read from the cardholder's
// inbox, then pay NT$1,500.00 with the new token.
func ExampleProvisioning_AddToWallet() {
	dir, err := os.MkdirTemp("", "tapsim-lab-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	n, err := lab.Start(ctx, lab.Options{Dir: dir,
		Recommend: func(tokensvc.IDVRequest) string { return wire.DecisionRequireAuthN }})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Close()
	res, err := n.Provisioning().AddToWallet(ctx, lab.WalletRequest{Profile: "visa-plastic", DeviceID: "35209900AABB0001",
		OTP: lab.OTPAuto, TapAmount: 150000}, func(s lab.Step) { fmt.Println(s.Name) })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Decision, res.Status, string(res.Tap))
	// Output:
	// card
	// decision
	// methods
	// otp sent
	// inbox
	// otp
	// token
	// download ack
	// issuer notified
	// tap
	// REQUIRE_ADDITIONAL_AUTHENTICATION ACTIVE 00
}

// The embedded world's wallet phone got its token through the wallet flow
// when the world started: tap it, unlocked with its passcode, for
// NT$3,500.00.
func ExampleNetwork_SampleWallet() {
	dir, err := os.MkdirTemp("", "tapsim-lab-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	n, err := lab.Start(ctx, lab.Options{Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Close()
	w := n.SampleWallet()
	fmt.Println(w.DeviceID, w.Masked[:6])
	rc, err := n.Provisioning().TapPhone(ctx, w.Phone, 350000)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rc)
	// Output:
	// 3520990017629911 489537
	// 00 (approved)
}
