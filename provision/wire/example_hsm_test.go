package wire_test

import (
	"fmt"
	"time"

	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/provision/wire"
)

// A token service whose keys the issuer's security module generates and
// keeps: labels "provision/token-service/sign" and ".../enc", found again
// when the service starts again on the same keystore. Envelopes to and
// from it are the same as those of a party with keys in memory.
func ExampleHSMParty() {
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	mod, err := soft.Open(soft.Config{LMK: testLMK, Rand: seeded(8)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mod.Close()
	tsp, err := wire.HSMParty("token-service", mod, "provision/token-service")
	if err != nil {
		fmt.Println(err)
		return
	}
	phone, _ := wire.NewParty("phone-0102030405060708", seeded(3))
	trust, _ := wire.NewTrustList(phone.Public())

	card := wire.CardData{PAN: "4761739001010010", Expiry: "2812", SecurityCode: "737"}
	tok, err := wire.Seal(card, phone, tsp.Public(), wire.Header{Type: wire.TypeCardData, Clock: clock})
	if err != nil {
		fmt.Println(err)
		return
	}
	var got wire.CardData
	c, err := wire.OpenInto(tok, tsp, trust, wire.Expect{Type: wire.TypeCardData, Replay: wire.NewMemoryReplayCache(0), Clock: clock}, &got)
	if err != nil {
		fmt.Println(err)
		return
	}
	keys, _ := mod.List()
	for _, h := range keys {
		fmt.Println(h.Label, h.Usage)
	}
	fmt.Println(tsp.InHSM(), c.Issuer, got.Expiry)
	// Output:
	// provision/token-service/enc EC-KA
	// provision/token-service/sign EC-SIGN
	// true phone-0102030405060708 2812
}
