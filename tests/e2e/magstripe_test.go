package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pos"
)

// TestMagStripeModeThroughHosts: a Mastercard-like card without M/Chip at a
// terminal whose C-2 kernel supports mag-stripe mode: the filled track goes
// with entry mode 91 through the acquirer to the issuer host, which checks
// the CVC3 in its security module and approves; the same card's next sale
// (a new ATC and CVC3) is approved too.
func TestMagStripeModeThroughHosts(t *testing.T) {
	h := startHosts(t)
	now := time.Now().Truncate(time.Second)
	link := client.New(h.acquirer.addr, client.Options{})
	t.Cleanup(func() { link.Close() })
	term := newTerminalOn(t, link, now, func(c *pos.Config) {
		c.Kernel.Combinations[1].KernelConfiguration = kernel.HexBytes{0x30}
	})
	p, err := cards.Builtin("mc-plastic")
	require.NoError(t, err)
	p.App.MagStripe = &cards.MagStripeProfile{}
	c, err := cards.FromProfile(p, cards.Options{Clock: func() time.Time { return now }})
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		res := term.sell(t, c, 150000, "", "")
		require.True(t, res.Outcome.MagStripe, "%s", res)
		requireAnswer(t, res, isospec.RCApproved, isospec.DeclineReason(""))
	}
}
