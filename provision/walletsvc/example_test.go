package walletsvc_test

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/provision/walletsvc"
)

// A wallet provider needs its party, the token service's keys, a
// mutual-TLS client and its requestor ID; its store starts empty and
// never holds more than references, states and last digits.
func ExampleNew() {
	_, err := walletsvc.New(walletsvc.Config{RequestorID: "50110030273"})
	fmt.Println(errors.Is(err, walletsvc.ErrConfig))
	fmt.Println(len(walletsvc.NewMemoryStore().Dump()))
	fmt.Println(walletsvc.PathCards, walletsvc.PathNotify)
	// Output:
	// true
	// 0
	// /wallet/cards /tsp/notify
}
