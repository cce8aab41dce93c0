package vault_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

// A mobile token may pay only by contactless chip.
func ExampleAllowsEntryMode() {
	fmt.Println(vault.AllowsEntryMode(vault.DomainMobile, "071"))
	fmt.Println(vault.AllowsEntryMode(vault.DomainMobile, "051"))
	// Output:
	// true
	// false
}

// The vault resolves a token to its funding card; everything it prints is
// masked.
func ExampleVault_Detokenise() {
	dir, _ := os.MkdirTemp("", "vault")
	defer os.RemoveAll(dir)
	db, _ := store.OpenDir(dir, storetest.Options())
	defer db.Close()
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC) }
	_ = db.Update(ctx, func(tx *store.Tx) error {
		_ = tx.PutAccount(ctx, store.Account{ID: "a1", Currency: 901, CreditLimit: 100000})
		return tx.PutCard(ctx, store.Card{ID: "c1", PAN: "4761739001010044", AccountID: "a1", Expiry: "2912", FormFactor: "se-phone"})
	})
	v := vault.New(db, now)
	err := v.Provision(ctx, store.Token{ID: "t1", Number: "4895370012340011", CardID: "c1", Expiry: "2812",
		Domain: vault.DomainMobile, CVN: "visa18", IMKRef: "imk", FormFactor: "hce-phone"})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, _ := v.Detokenise(ctx, "4895370012340011")
	fmt.Println(d)
	fmt.Println("funding expiry", d.Expiry)
	_ = v.Suspend(ctx, "t1", "phone lost")
	d, _ = v.Detokenise(ctx, "4895370012340011")
	fmt.Println(d.Token.Status)
	// Output:
	// token 489537******0011 -> 476173******0044 (active)
	// funding expiry 2912
	// suspended
}

// A token's controls are kept in its domain column; each control a
// transaction breaks has its own refusal.
func ExampleControls_Check() {
	c := vault.MobileControls()
	c.RequireRequestor = true
	c.MCCs = []string{"5411"}
	d, _ := c.Encode()
	fmt.Println(d)
	ok := vault.Usage{EntryMode: "071", Requestor: "40010030273", MCC: "5411"}
	fmt.Printf("%q\n", c.Check(ok, "40010030273"))
	ecom := ok
	ecom.Condition = "01" // customer not present
	fmt.Println(c.Check(ecom, "40010030273"))
	fmt.Println(c.Check(vault.Usage{EntryMode: "071", MCC: "5411"}, "40010030273"))
	// Output:
	// {"entry_modes":["07"],"channels":["contactless"],"requestor_required":true,"mccs":["5411"]}
	// ""
	// channel
	// requestor
}
