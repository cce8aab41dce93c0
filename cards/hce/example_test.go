package hce_test

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/cards/hce"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

func Example() {
	// Cloud platform: derive a batch from the card's ICC master key.
	cvn, _ := cryptogram.Lookup("visa18")
	mk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	batch, _ := hce.DeriveBatch(cvn, mk, 0x0010, 2)

	// Phone: load the batch, use one key per tap.
	store := hce.NewStore(0)
	_ = store.Add(batch...)
	for range 3 {
		c, err := store.Take()
		if errors.Is(err, hce.ErrExhausted) {
			fmt.Println("replenish")
			break
		}
		fmt.Printf("tap with ATC %04X\n", c.ATC)
	}
	// Output:
	// tap with ATC 0010
	// tap with ATC 0011
	// replenish
}
