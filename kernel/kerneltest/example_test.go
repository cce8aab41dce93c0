package kerneltest_test

import (
	"context"
	"fmt"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/kernel/kerneltest"
)

// A table reader answers the PPSE with "file not found": the Entry Point
// finds no application.
func ExampleTable() {
	r := kerneltest.Table(map[string]string{
		"00A404000E325041592E5359532E444446303100": "6A82",
	})
	out, err := entry.Run(context.Background(), r, kernel.DefaultConfig(), kernel.Transaction{Amount: 100})
	fmt.Println(out.Type, err)
	fmt.Println(r.Commands())
	// Output:
	// End Application <nil>
	// [00A404000E325041592E5359532E444446303100]
}
