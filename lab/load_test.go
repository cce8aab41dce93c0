package lab

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// Load card PANs keep the profile's BIN and length, carry the account
// digits 98 and the card's number, and pass the Luhn check.
func TestLoadCardPAN(t *testing.T) {
	tests := []struct {
		base string
		i    int
		want string
	}{
		// 476173 98 0000001 + check digit: doubled from the right.
		{"4761739001010010", 0, "4761739800000014"},
		{"4761739001010010", 63, "4761739800000642"},
		{"5413330089010012", 0, "5413339800000012"},
		{"5413330089010012", 9, "5413339800000103"},
	}
	for _, tc := range tests {
		got, err := loadCardPAN(tc.base, tc.i)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
		require.True(t, pan.LuhnValid(got), got)
		require.Equal(t, tc.base[:6], got[:6])
	}
	_, err := loadCardPAN("476173900", 0)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "476173900")
}

// Each load terminal has its own TID and DUKPT device; the IPEK is the
// sample BDK's for that KSN.
func TestLoadTerminalConfig(t *testing.T) {
	seen := map[string]bool{}
	for i := range LoadMaxTerminals {
		cfg, err := LoadTerminalConfig(i, 3*time.Second)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("L%07d", i+1), cfg.TerminalID)
		require.Equal(t, 3*time.Second, cfg.ResponseTimeout)
		require.Zero(t, cfg.KSN.Counter())
		require.False(t, seen[cfg.KSN.String()], "KSN %s twice", cfg.KSN)
		seen[cfg.KSN.String()] = true
		require.Equal(t, keys.MustHex(keys.TDES, TAK).KCVHex(), cfg.TAK.KCVHex())
	}
	// Terminal 0 is device 4000E of key set FFFF987654, counter 0.
	cfg, err := LoadTerminalConfig(0, 0)
	require.NoError(t, err)
	require.Equal(t, "FFFF9876544000E00000", cfg.KSN.String())
	require.Equal(t, 15*time.Second, cfg.ResponseTimeout)
}

// A load terminal with a load card of each load profile sells through the
// embedded network: the acquirer knows the terminal, the issuer the card.
func TestLoadTerminalSale(t *testing.T) {
	n := startNetwork(t)
	for i, profile := range LoadProfiles() {
		t.Run(profile, func(t *testing.T) {
			cfg, err := LoadTerminalConfig(i, 0)
			require.NoError(t, err)
			term, link, err := n.NewTerminalWith(cfg, pos.Options{})
			require.NoError(t, err)
			defer link.Close()
			p, err := LoadCardProfile(profile, i)
			require.NoError(t, err)
			card, err := cards.FromProfile(p, cards.Options{})
			require.NoError(t, err)
			res, err := term.Sale(context.Background(), 100100, inproc.New(card))
			require.NoError(t, err)
			require.Equal(t, isospec.RCApproved, res.ResponseCode, res.String())
		})
	}
}
