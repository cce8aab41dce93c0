package testca_test

import (
	"fmt"

	"github.com/tapsim/tapsim/cards/testca"
)

func ExampleCAPublicKeys() {
	pubs, _ := testca.CAPublicKeys()
	for _, k := range pubs {
		fmt.Println(k.ID(), k.Key().Bits())
	}
	// Output:
	// F000000001/01 1408
	// F000000001/02 1984
}
