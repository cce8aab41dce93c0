package pos_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/terminal/pos"
)

func TestDefaultConfig(t *testing.T) {
	cfg := pos.DefaultConfig()
	require.NoError(t, cfg.Validate())
	require.Equal(t, "T0000001", cfg.TerminalID)
	require.Equal(t, "000000000000001", cfg.MerchantID)
	// The sample network's key check values.
	require.Equal(t, "3B7D3D", cfg.TAK.KCVHex())
	require.Equal(t, "FFFF9876543210E00000", cfg.KSN.String())
	require.Equal(t, "TAPSIM STORE             TAIPEI       TW", cfg.MerchantNameLocation())
	require.Len(t, cfg.MerchantNameLocation(), 40)
	s := fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg)
	require.NotContains(t, s, pos.DefaultTAKHex)
	require.NotContains(t, s, pos.DefaultIPEKHex)
	require.Contains(t, s, "3B7D3D")
}

func TestParseConfig(t *testing.T) {
	cfg, err := pos.ParseConfig([]byte(`
terminal_id: T0000042
merchant_id: "000000000000777"
acquirer_id: "4242"
merchant_name: CORNER SHOP
merchant_city: TAINAN
merchant_country: TW
tak: 649783F2378020FEC7B95EFB52AE7010
bdk: 0123456789ABCDEFFEDCBA9876543210
ksn: FFFF9876543210E00000
response_timeout: 2s
reversal_attempts: 5
`), ".")
	require.NoError(t, err)
	require.Equal(t, "T0000042", cfg.TerminalID)
	require.Equal(t, "000000000000777", cfg.MerchantID)
	require.Equal(t, "4242", cfg.AcquirerID)
	require.Equal(t, "E5DF32", cfg.TAK.KCVHex())
	require.Equal(t, keys.MustHex(keys.TDES, pos.DefaultIPEKHex).KCVHex(), cfg.IPEK.KCVHex(), "IPEK derived from the BDK (ANSI X9.24-1 example)")
	require.Equal(t, 2*time.Second, cfg.ResponseTimeout)
	require.Equal(t, 5, cfg.ReversalAttempts)

	empty, err := pos.ParseConfig(nil, ".")
	require.NoError(t, err)
	require.Equal(t, pos.DefaultConfig().TerminalID, empty.TerminalID)
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"unknown key", "colour: red"},
		{"bad tak", "tak: 0011"},
		{"bad tak hex", "tak: ZZ47A138CD931454F044620F738B3F4Z"},
		{"ipek and bdk", "ipek: 6AC292FAA1315B4D858AB3A3D7D5933A\nbdk: 0123456789ABCDEFFEDCBA9876543210"},
		{"bad ksn", "ksn: FFFF"},
		{"long tid", "terminal_id: T00000001"},
		{"acquirer not digits", "acquirer_id: ACQ"},
		{"country", "merchant_country: TWN"},
		{"negative timeout", "response_timeout: -1s"},
		{"kernel file missing", "kernel_config: /nonexistent/reader.yaml"},
		{"not yaml", "[[["},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pos.ParseConfig([]byte(tc.yaml), ".")
			require.ErrorIs(t, err, pos.ErrConfig)
			require.NotContains(t, err.Error(), "0011")
			require.NotContains(t, strings.ToUpper(err.Error()), "A138CD93")
		})
	}
}

func TestLoadConfigKernelFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "reader.yaml"), []byte(`
country: "0158"
currency: "0901"
currency_exponent: 2
terminal_type: "22"
capabilities: "E068C8"
combinations:
  - aid: "A0000000031010"
    kernel_id: 3
    ttq: "36004000"
    cvm_required_limit: 100000
`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "terminal.yaml"), []byte("kernel_config: reader.yaml\n"), 0o600))
	cfg, err := pos.LoadConfig(filepath.Join(dir, "terminal.yaml"))
	require.NoError(t, err)
	require.Len(t, cfg.Kernel.Combinations, 1)
	require.Equal(t, int64(100000), *cfg.Kernel.Combinations[0].CVMRequiredLimit)

	_, err = pos.LoadConfig(filepath.Join(dir, "missing.yaml"))
	require.ErrorIs(t, err, pos.ErrConfig)
}
