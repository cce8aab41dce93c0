package tui

import (
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/tui/model"
)

func TestApplySetting(t *testing.T) {
	tests := []struct {
		name, value string
		err         bool
		check       func(t *testing.T, c pos.Config)
	}{
		{SetCVMLimit, "100000", false, func(t *testing.T, c pos.Config) {
			for _, k := range c.Kernel.Combinations {
				require.Equal(t, int64(100000), *k.CVMRequiredLimit)
			}
		}},
		{SetCVMLimit, "-", false, func(t *testing.T, c pos.Config) {
			require.Nil(t, c.Kernel.Combinations[0].CVMRequiredLimit)
		}},
		{SetTxnLimit, "500000", false, func(t *testing.T, c pos.Config) {
			require.Equal(t, int64(500000), *c.Kernel.Combinations[0].TransactionLimit)
		}},
		{SetFloorLimit, "0", false, func(t *testing.T, c pos.Config) {
			require.Equal(t, int64(0), *c.Kernel.Combinations[0].FloorLimit)
		}},
		{SetCountry, "392", false, func(t *testing.T, c pos.Config) { require.Equal(t, kernel.Code(392), c.Kernel.Country) }},
		{SetCurrency, "0840", false, func(t *testing.T, c pos.Config) { require.Equal(t, kernel.Code(840), c.Kernel.Currency) }},
		{SetTTQ, "3600C000", false, func(t *testing.T, c pos.Config) {
			n := 0
			for _, k := range c.Kernel.Combinations {
				if len(k.TTQ) > 0 {
					require.Equal(t, kernel.HexBytes{0x36, 0x00, 0xC0, 0x00}, k.TTQ)
					n++
				}
			}
			require.Positive(t, n)
		}},
		{SetTID, "T0000002", false, func(t *testing.T, c pos.Config) { require.Equal(t, "T0000002", c.TerminalID) }},
		{SetMID, "000000000000002", false, func(t *testing.T, c pos.Config) { require.Equal(t, "000000000000002", c.MerchantID) }},
		{SetCVMLimit, "12a", true, nil},
		{SetCVMLimit, "-5", true, nil},
		{SetTTQ, "3600", true, nil},
		{SetTTQ, "zz00C000", true, nil},
		{SetCountry, "1000", true, nil},
		{"nothing", "1", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			base := pos.DefaultConfig()
			cfg := base
			cfg.Kernel = cfg.Kernel.Clone()
			err := applySetting(&cfg, tt.name, tt.value)
			if tt.err {
				require.ErrorIs(t, err, ErrSetting)
				return
			}
			require.NoError(t, err)
			tt.check(t, cfg)
			// The original is untouched.
			require.Equal(t, pos.DefaultConfig().Kernel.Combinations[0].CVMRequiredLimit,
				base.Kernel.Combinations[0].CVMRequiredLimit)
		})
	}
}

// A lower CVM limit applies from the next tap: the same NT$1,500 sale
// that needed no CVM now asks for the PIN.
func TestSettingsApplyToNextTap(t *testing.T) {
	r := newRig(t, testBackend("visa-plastic"))
	r.keys("s")
	s := r.wait("Terminal settings", "> CVM limit")
	golden(t, "settings", s)
	r.key(tcell.KeyEnter)
	for range 10 {
		r.key(tcell.KeyBackspace2)
	}
	r.keys("100000")
	r.key(tcell.KeyEnter)
	r.wait("CVM limit set")
	r.app.Sync(func(m *model.Model) {
		require.Equal(t, "100000", m.Settings[0].Value)
		require.Equal(t, int64(100000), *r.app.term.Config().Kernel.Combinations[0].CVMRequiredLimit)
	})
	r.key(tcell.KeyEscape)
	r.keys("150000t")
	r.wait("PIN pad")
	r.key(tcell.KeyEscape)
	r.wait("CANCELLED")

	// A bad value is refused and changes nothing.
	r.keys("s")
	r.key(tcell.KeyDown)
	r.key(tcell.KeyDown)
	r.key(tcell.KeyDown)
	r.key(tcell.KeyEnter)
	r.keys("zz")
	r.key(tcell.KeyEnter)
	r.wait("TTQ must be 4 bytes")
}
