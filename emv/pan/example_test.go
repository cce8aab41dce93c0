package pan_test

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/pan"
)

func ExampleMask() {
	fmt.Println(pan.Mask("4761739001010010"))
	fmt.Println(pan.LuhnValid("4761739001010010"))
	// Output:
	// 476173******0010
	// true
}
