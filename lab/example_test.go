package lab_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tapsim/tapsim/lab"
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
