package issuerhost_test

import (
	"context"
	"fmt"
	"os"
	"time"

	connection "github.com/moov-io/iso8583-connection"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// An issuer host with one sample card, answering a sign-on and an echo
// over TCP. Test keys only.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "issuer")
	defer os.RemoveAll(dir)
	h, _ := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "FC040D1C23BB408FCABBF8ECE2A72BF49B7CA20482F0A555E5626B6FC92526CB")})
	// PANs are kept encrypted under data keys the module makes.
	dataKeys, err := store.HSMCipher(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	db, err := store.OpenDir(dir, store.Options{Cipher: dataKeys})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	k := issuerhost.DefaultKeys()
	err = issuerhost.Init(ctx, db, h, issuerhost.Seed{
		Keys: []issuerhost.SeedKey{
			{Label: k.ZAK, Usage: hsm.UsageZAK, Alg: "TDES", Hex: "649783F2378020FEC7B95EFB52AE7010"},
			{Label: "issuer/imk/visa", Usage: hsm.UsageIMKAC, Alg: "TDES", Hex: "A1B2C3D4E5F60718293A4B5C6D7E8F90"},
		},
		Accounts: []issuerhost.SeedAccount{{ID: "a1", Currency: 901, CreditLimit: 5_000_000}},
		Cards: []issuerhost.SeedCard{{ID: "visa-plastic", PAN: "4761739001010010", PSN: "01", Account: "a1",
			Expiry: "2029-12", CVN: "visa18", IMK: "issuer/imk/visa", FormFactor: "plastic"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(issuerhost.Init(ctx, db, h, issuerhost.Seed{}))

	s, err := issuerhost.New(db, h, issuerhost.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	c, _ := connection.New(s.Addr(), isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}), connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}))
	if err := c.Connect(); err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	for i, code := range []isospec.NetworkCode{isospec.NetSignOn, isospec.NetEcho} {
		m, _ := isospec.Encode(isospec.NewNetworkManagement(code, fmt.Sprintf("%06d", i+1), now))
		// Every request carries a MAC under the zone MAC key (R-G2).
		_ = isospec.SetMAC(m, func(data []byte) ([]byte, error) {
			zak, err := h.Lookup(k.ZAK)
			if err != nil {
				return nil, err
			}
			return h.GenerateMAC(zak, data)
		})
		resp, err := c.Send(m)
		if err != nil {
			fmt.Println(err)
			return
		}
		var nm isospec.NetworkManagement
		_ = isospec.Decode(resp, &nm)
		fmt.Println(nm.MTI, code.Name(), nm.ResponseCode)
	}
	// Output:
	// issuerhost: store already initialised
	// 0810 sign-on 00 (approved)
	// 0810 echo test 00 (approved)
}
