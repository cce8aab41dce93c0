package rules_test

import (
	"fmt"

	"github.com/tapsim/tapsim/isospec/rules"
)

func Example() {
	r, err := rules.Parse("rules.yaml", []byte(`
rules:
  - name: nsf-by-amount
    match:
      amount: {ends: "51"}
    respond: "51"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	set := rules.New(r, rules.Options{})
	d, ok := set.Match(rules.Request{MTI: "0100", Amount: 150051, PAN: "4761739001010010"})
	fmt.Println(ok, d)
	_, ok = set.Match(rules.Request{MTI: "0100", Amount: 150000, PAN: "4761739001010010"})
	fmt.Println(ok)
	// Output:
	// true answer 51 (insufficient funds) reason insufficient_funds
	// false
}

func ExampleParse_error() {
	_, err := rules.Parse("rules.yaml", []byte("rules:\n  - name: a\n    match: {amount: {ends: 5x}}\n    respond: \"51\"\n"))
	fmt.Println(err)
	// Output:
	// rules.yaml:3: rule "a": match.amount.ends: invalid rules: must be 1 to 12 digits
}
