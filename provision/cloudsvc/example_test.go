package cloudsvc_test

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// A platform needs its party, the security module, the issuer's
// cardholder verification and the key ledger.
func ExampleNew() {
	_, err := cloudsvc.New(cloudsvc.Config{})
	fmt.Println(errors.Is(err, cloudsvc.ErrConfig))
	fmt.Println(wire.PathHCERegister, wire.PathHCEDownload)
	// Output:
	// true
	// /hce/register /hce/download
}

// A staff read of a card account's real data is audited with who read it
// and why; the audit trail shows the masked number only.
func ExampleService_ReadCard() {
	s, done, err := build()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	d, err := s.ReadCard("staff-7", "card-1", "chargeback 4711")
	fmt.Println(d, err)
	for _, e := range s.Audit() {
		fmt.Println(e.Actor, e.Action, e.CardRef, e.Outcome, e.Detail)
	}
	// Output:
	// card data card-1: 476173******0010, cloud 489537******5671 <nil>
	// staff add-card card-1 ok 476173******0010
	// staff-7 read-card card-1 ok chargeback 4711
}
