package chip_test

import (
	"fmt"

	"github.com/tapsim/tapsim/cards/chip"
)

func Example() {
	c := chip.New(nil, chip.WithoutPPSE())
	fmt.Printf("%X\n", c.ATR())
	fmt.Printf("%X\n", c.Process([]byte{0x00, 0xA4, 0x04, 0x00, 0x0E, '2', 'P', 'A', 'Y', '.', 'S', 'Y', 'S', '.', 'D', 'D', 'F', '0', '1', 0x00}))
	fmt.Printf("%X\n", c.Process([]byte{0x00, 0x12, 0x00, 0x00}))
	fmt.Printf("%X\n", c.Process([]byte{0xA4}))
	// Output:
	// 3B88800154415053494D56430E
	// 6A82
	// 6D00
	// 6700
}
