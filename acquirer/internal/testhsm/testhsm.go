// Package testhsm opens an in-memory soft security module loaded with the
// sample network's test keys, for the acquirer's tests.
package testhsm

import (
	"testing"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
)

// The sample network's test keys (double-length TDES, test only).
const (
	BDK = "0123456789ABCDEFFEDCBA9876543210" // KCV 08D7B4
	TAK = "0EA47A138CD931454F044620F738B3F4" // KCV 3B7D3D
	ZPK = "BFE3DAFE23CB9B570EF4238616F12FD9" // KCV 830B72
	ZAK = "649783F2378020FEC7B95EFB52AE7010" // KCV E5DF32
	LMK = "FC040D1C23BB408FCABBF8ECE2A72BF49B7CA20482F0A555E5626B6FC92526CB"
)

// Keys are the handles of the sample keys.
type Keys struct {
	BDK, TAK, ZPK, ZAK hsm.Handle
}

// New opens a module holding the sample keys; it is closed when the test
// ends.
func New(t testing.TB) (*soft.HSM, Keys) {
	t.Helper()
	lmk, err := soft.ParseLMK(LMK)
	if err != nil {
		t.Fatal(err)
	}
	m, err := soft.Open(soft.Config{LMK: lmk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	imp := func(label string, u hsm.Usage, hex string) hsm.Handle {
		h, err := m.ImportKey(label, u, keys.MustHex(keys.TDES, hex))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	return m, Keys{
		BDK: imp("acq/bdk", hsm.UsageBDK, BDK),
		TAK: imp("acq/tak/T0000001", hsm.UsageTAK, TAK),
		ZPK: imp("acq/zpk/issuer", hsm.UsageZPK, ZPK),
		ZAK: imp("acq/zak/issuer", hsm.UsageZAK, ZAK),
	}
}
