package acquirer_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/route"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec"
)

// An acquirer answering terminal frames: a message MACed under the wrong
// key is refused with 63 (R-G2), a good one for a BIN no issuer serves with
// 14, and one for an issuer whose host is down with 91.
func ExampleServer_HandleFrame() {
	lmk, _ := soft.ParseLMK("FC040D1C23BB408FCABBF8ECE2A72BF49B7CA20482F0A555E5626B6FC92526CB")
	m, _ := soft.Open(soft.Config{LMK: lmk})
	defer m.Close()
	imp := func(label string, u hsm.Usage, hex string) hsm.Handle {
		h, _ := m.ImportKey(label, u, keys.MustHex(keys.TDES, hex))
		return h
	}
	tak := imp("acq/tak/T0000001", hsm.UsageTAK, "0EA47A138CD931454F044620F738B3F4")
	zak := imp("acq/zak/issuer", hsm.UsageZAK, "649783F2378020FEC7B95EFB52AE7010")
	zpk := imp("acq/zpk/issuer", hsm.UsageZPK, "BFE3DAFE23CB9B570EF4238616F12FD9")
	routes, _ := route.New([]route.Range{{Low: "476173", Issuer: "issuer"}})
	dir, _ := os.MkdirTemp("", "acquirer")
	defer os.RemoveAll(dir)

	srv, _ := acquirer.New(acquirer.Config{
		Listen: "127.0.0.1:0", AcquirerID: "100001", Routes: routes, HSM: m, DataDir: dir,
		Issuers:   []acquirer.Issuer{{Name: "issuer", Addr: "127.0.0.1:1", ZAK: zak, ZPK: zpk}},
		Terminals: []acquirer.Terminal{{TID: "T0000001", TAK: tak}},
	})
	_ = srv.Start(context.Background())
	defer srv.Close()

	frame := func(stan, pan, macKey string) []byte {
		msg, _ := isospec.Encode(&isospec.AuthorizationRequest{
			MTI: "0100", PAN: pan, ProcessingCode: isospec.ProcPurchase, Amount: 1500,
			TransmissionDateTime: isospec.TransmissionDateTime(time.Now()), STAN: stan,
			POSEntryMode: "072", TerminalID: "T0000001", Currency: "901", ICCData: []byte{0x9F, 0x27, 0x01, 0x80},
		})
		k := keys.MustHex(keys.TDES, macKey)
		_ = isospec.SetMAC(msg, func(d []byte) ([]byte, error) { return mac.Alg3(k, d, mac.Method1) })
		b, _ := isospec.Pack(msg)
		return b
	}
	for _, f := range [][]byte{
		frame("000001", "4761739001010010", "649783F2378020FEC7B95EFB52AE7010"), // MAC under the ZAK, not the TAK
		frame("000002", "5204740000001234", "0EA47A138CD931454F044620F738B3F4"),
		frame("000003", "4761739001010010", "0EA47A138CD931454F044620F738B3F4"),
	} {
		reply, _ := srv.HandleFrame(context.Background(), f)
		var r isospec.AuthorizationResponse
		_ = isospec.Unmarshal(reply, &r)
		pd, _ := isospec.ParsePrivateData(r.PrivateData)
		fmt.Println(r.MTI, r.ResponseCode, pd.DeclineReason)
	}
	// Output:
	// 0110 63 (security violation) mac_invalid
	// 0110 14 (invalid card number) no_route
	// 0110 91 (issuer or switch inoperative) issuer_unavailable
}
