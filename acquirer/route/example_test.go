package route_test

import (
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/acquirer/route"
)

func ExampleParse() {
	t, _ := route.Parse(strings.NewReader(`routes:
  - {low: "476173", issuer: issuer-a}
  - {low: "489537", issuer: issuer-a, token: true}
  - {low: "222100", high: "272099", issuer: issuer-b}
`))
	for _, pan := range []string{"4761739001010010", "4895370012340011", "2223000048000019", "6011000000000004"} {
		r, err := t.Lookup(pan)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(r.BIN, r.Issuer, r.Token)
	}
	// Output:
	// 476173 issuer-a false
	// 489537 issuer-a true
	// 222300 issuer-b false
	// route: no issuer for this BIN: BIN 601100
}
