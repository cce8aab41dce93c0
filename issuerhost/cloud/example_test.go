package cloud_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/keyblock"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// The platform binds a phone to its HCE token and hands it a batch of
// single-use keys wrapped under the transport key; the phone opens them
// with the same key. Test keys only.
func Example() {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC) }
	h, _ := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "FC040D1C23BB408FCABBF8ECE2A72BF49B7CA20482F0A555E5626B6FC92526CB")})
	kek := keys.MustHex(keys.AES, "2AE0E02C3B68752AC86E4649B334AEEC")
	_, _ = h.ImportKey("issuer/kek", hsm.UsageKEK, kek)
	_, _ = h.ImportKey("issuer/imk/token", hsm.UsageIMKAC, keys.MustHex(keys.TDES, "0F1E2D3C4B5A69788796A5B4C3D2E1F0"))

	dir, _ := os.MkdirTemp("", "cloud")
	defer os.RemoveAll(dir)
	c, _ := store.HSMCipher(h) // the data keys, made in the module
	db, _ := store.OpenDir(dir, store.Options{Cipher: c})
	defer db.Close()
	_ = db.Update(ctx, func(tx *store.Tx) error {
		_ = tx.PutAccount(ctx, store.Account{ID: "a1", Currency: 901, CreditLimit: 100000})
		_ = tx.PutCard(ctx, store.Card{ID: "c1", PAN: "4761739001010044", AccountID: "a1", Expiry: "2912"})
		return tx.PutToken(ctx, store.Token{ID: "t1", Number: "4895370012340011", CardID: "c1", Expiry: "2812", PSN: "00",
			CVN: "visa18", IMKRef: "issuer/imk/token", FormFactor: "hce-phone", DeviceBound: true})
	})

	p, _ := cloud.New(db, h, cloud.Config{KEK: "issuer/kek", BatchSize: 3, Now: now})
	if err := p.Register(ctx, "t1", "3520990017614823"); err != nil {
		fmt.Println(err)
		return
	}
	b, err := p.IssueBatch(ctx, "t1", "3520990017614823", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b)
	ks, err := keyblock.OpenHCEKeys(kek, b.Keys)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range ks {
		fmt.Println(k)
	}
	// Output:
	// key batch for token t1 device 3520990017614823: 3 keys from ATC 0001, valid until 2026-04-14T10:00:00Z
	// session key ATC 0001 TDES-128 key KCV 20E6D2
	// session key ATC 0002 TDES-128 key KCV DA0B4A
	// session key ATC 0003 TDES-128 key KCV BAC21A
}
