package profiles_test

import (
	"fmt"
	"io/fs"

	"github.com/tapsim/tapsim/cards/profiles"
)

func Example() {
	b, err := fs.ReadFile(profiles.FS, "visa-plastic.yaml")
	fmt.Println(err == nil && len(b) > 0)
	_, err = fs.Stat(profiles.FS, "traces/visa-qvsdc.trace")
	fmt.Println(err == nil)
	// Output:
	// true
	// true
}
