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

func ExampleCheckDigit() {
	d, err := pan.CheckDigit("476173900101001")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%c\n", d)
	_, err = pan.CheckDigit("4761-739")
	fmt.Println(err)
	// Output:
	// 0
	// pan: not a string of digits: character 5 of 8 is not a digit
}
