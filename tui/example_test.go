package tui_test

import (
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/tui"
	"github.com/tapsim/tapsim/tui/model"
)

// The footer is printed from the same key table that dispatches the keys.
func ExampleFooterText() {
	fmt.Println(tui.FooterText(model.ScreenPIN))
	// Output: 0-9 PIN digit  Bksp clear  Enter OK  Esc cancel
}

func ExampleLogBuffer() {
	var logs tui.LogBuffer
	fmt.Fprintln(&logs, "host=issuer msg=approved")
	mark := logs.Len()
	fmt.Fprintln(&logs, "host=issuer msg=declined reason=pin_incorrect")
	fmt.Println(strings.Join(logs.Since(mark), "\n"))
	// Output: host=issuer msg=declined reason=pin_incorrect
}
