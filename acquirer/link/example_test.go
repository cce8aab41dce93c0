package link_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/acquirer/link"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec"
)

// A link that has not signed on sends nothing: Exchange says ErrDown, so
// the caller knows there is nothing to reverse.
func ExampleLink_Exchange() {
	lmk, _ := soft.ParseLMK("FC040D1C23BB408FCABBF8ECE2A72BF49B7CA20482F0A555E5626B6FC92526CB")
	m, _ := soft.Open(soft.Config{LMK: lmk})
	defer m.Close()
	zak, _ := m.ImportKey("acq/zak/issuer", hsm.UsageZAK, keys.MustHex(keys.TDES, "649783F2378020FEC7B95EFB52AE7010"))
	l, _ := link.New(link.Config{
		Name: "issuer", Addr: "127.0.0.1:1", AcquirerID: "100001", HSM: m, ZAK: zak,
		STAN: func(context.Context, time.Time) (string, error) { return "000001", nil },
	})
	defer l.Close()
	msg, _ := isospec.Encode(isospec.NewNetworkManagement(isospec.NetEcho, "000002", time.Now()))
	_, err := l.Exchange(msg, time.Second)
	fmt.Println(errors.Is(err, link.ErrDown), l.Up())
	// Output:
	// true false
}
