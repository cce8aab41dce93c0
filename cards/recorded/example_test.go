package recorded_test

import (
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/cards/recorded"
)

func Example() {
	trace := `# captured at a test terminal
> 00A404000E325041592E5359532E444446303100
< 6A82
`
	tr, err := recorded.Parse(strings.NewReader(trace))
	if err != nil {
		fmt.Println(err)
		return
	}
	card := recorded.New(tr)
	fmt.Printf("%X\n", card.Process([]byte{0x00, 0xA4, 0x04, 0x00, 0x0E, '2', 'P', 'A', 'Y', '.', 'S', 'Y', 'S', '.', 'D', 'D', 'F', '0', '1', 0x00}))
	fmt.Printf("%X\n", card.Process([]byte{0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00}))
	// Output:
	// 6A82
	// 6D00
}
