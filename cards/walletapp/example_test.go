package walletapp_test

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/cards/walletapp"
)

// The credentials the sample world builds a wallet-phone card from never
// print the token PAN or the key.
func ExampleCard() {
	c := walletapp.Card{TokenPAN: "4895370012345671", TokenExpiry: "2912", PSN: "00", CVN: "visa18",
		MasterKey: make([]byte, 16), RequestorID: "50110030273", DeviceID: "0102030405060708"}
	fmt.Println(c)
	fmt.Printf("%#v\n", c)
	// Output:
	// wallet card 489537******5671
	// wallet card 489537******5671
}

// An app needs a device ID, its trust list and a client to its wallet
// provider.
func ExampleNew() {
	_, err := walletapp.New(walletapp.Config{DeviceID: "not hex"})
	fmt.Println(errors.Is(err, walletapp.ErrConfig))
	// Output:
	// true
}
