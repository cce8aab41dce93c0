package store_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

// A hold reserves an approved amount; its reversal gives it back once.
func Example() {
	dir, _ := os.MkdirTemp("", "issuer")
	defer os.RemoveAll(dir)
	db, err := store.OpenDir(dir, storetest.Options())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	ctx := context.Background()
	at := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	err = db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutAccount(ctx, store.Account{ID: "a1", Currency: 901, CreditLimit: 500000}); err != nil {
			return err
		}
		if err := tx.AddHold(ctx, store.Hold{Key: "0100/000001/0315100000/00000400001", AccountID: "a1", Amount: 120000, CreatedAt: at}); err != nil {
			return err
		}
		a, _ := tx.Account(ctx, "a1")
		fmt.Println("open to buy after the approval:", a.OpenToBuy())
		for range 2 {
			released, err := tx.ReleaseHold(ctx, "0100/000001/0315100000/00000400001", at, "0400/000002")
			if err != nil {
				return err
			}
			a, _ = tx.Account(ctx, "a1")
			fmt.Println("released:", released, "open to buy:", a.OpenToBuy())
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// open to buy after the approval: 380000
	// released: true open to buy: 500000
	// released: false open to buy: 500000
}

// The ATC high-water mark never goes back, and a cryptogram is fresh once
// (R-G4).
func ExampleTx_UseCryptogram() {
	dir, _ := os.MkdirTemp("", "issuer")
	defer os.RemoveAll(dir)
	db, _ := store.OpenDir(dir, storetest.Options())
	defer db.Close()
	ctx := context.Background()
	_ = db.Update(ctx, func(tx *store.Tx) error {
		arqc := []byte{0x3B, 0x76, 0xCF, 0x10, 0xFE, 0xCD, 0x87, 0x89}
		for range 2 {
			fresh, _ := tx.UseCryptogram(ctx, "card:c1", 7, arqc, time.Time{})
			fmt.Println("fresh:", fresh)
		}
		_ = tx.RaiseATC(ctx, "card:c1", 7, time.Time{})
		_ = tx.RaiseATC(ctx, "card:c1", 3, time.Time{})
		hw, _, _ := tx.ATC(ctx, "card:c1")
		fmt.Println("high-water mark:", hw)
		return nil
	})
	// Output:
	// fresh: true
	// fresh: false
	// high-water mark: 7
}

// A PostgreSQL connection string as the store shows it: the password
// masked, whichever form it takes.
func ExampleRedactDSN() {
	for _, dsn := range []string{
		"postgres://issuer:s3cret@db.example:5432/tapsim?sslmode=verify-full",
		"host=db.example dbname=tapsim user=issuer password='s3 cret'",
		"./tapsim-data",
	} {
		fmt.Println(store.IsPostgres(dsn), store.RedactDSN(dsn))
	}
	// Output:
	// true postgres://issuer:xxxxx@db.example:5432/tapsim?sslmode=verify-full
	// true host=db.example dbname=tapsim user=issuer password=xxxxx
	// false ./tapsim-data
}

// The card store keeps PANs encrypted under data keys the security module
// holds (made there on first use); callers keep passing and getting clear
// PANs.
func ExampleHSMCipher() {
	dir, _ := os.MkdirTemp("", "issuer")
	defer os.RemoveAll(dir)
	m, _ := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "FC040D1C23BB408FCABBF8ECE2A72BF49B7CA20482F0A555E5626B6FC92526CB")})
	c, err := store.HSMCipher(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	db, err := store.OpenDir(dir, store.Options{Cipher: c})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	ctx := context.Background()
	_ = db.Update(ctx, func(tx *store.Tx) error {
		_ = tx.PutAccount(ctx, store.Account{ID: "a1", Currency: 901, CreditLimit: 500000})
		return tx.PutCard(ctx, store.Card{ID: "c1", PAN: "4761739001010010", AccountID: "a1", Expiry: "2912", FormFactor: "plastic"})
	})
	_ = db.View(ctx, func(tx *store.Tx) error {
		card, err := tx.CardByPAN(ctx, "4761739001010010")
		fmt.Println(card, err)
		return nil
	})
	// Output: card c1 (476173******0010, plastic, active) <nil>
}
