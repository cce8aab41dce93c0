package hceapp_test

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/cards/hceapp"
)

// An app needs the phone's device ID, the platform's keys, its URL and a
// mutual-TLS client.
func ExampleNew() {
	_, err := hceapp.New(hceapp.Config{DeviceID: "3520990017614849"})
	fmt.Println(errors.Is(err, hceapp.ErrConfig))
	// Output:
	// true
}
