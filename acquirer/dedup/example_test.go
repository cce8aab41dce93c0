package dedup_test

import (
	"fmt"
	"time"

	"github.com/tapsim/tapsim/acquirer/dedup"
)

func ExampleDetector_Check() {
	d := dedup.New(5 * time.Minute)
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	k := dedup.Key{Class: "0100", TID: "T0000001", STAN: "000042", DE7: "0314092653"}
	fmt.Println(d.Check(k, now))
	fmt.Println(d.Check(k, now.Add(time.Minute)))
	fmt.Println(d.Check(k, now.Add(6*time.Minute)))
	// Output:
	// false
	// true
	// false
}
