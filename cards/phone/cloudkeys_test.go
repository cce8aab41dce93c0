package phone

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// counter is a cloud-payment card's key count.
type counter struct{ n int }

func (c *counter) KeysLeft() int { return c.n }

// An HCE phone counts its cloud-payment card's keys, asks for more at its low-water mark and
// offers no card with none left.
func TestCloudKeys(t *testing.T) {
	c := &counter{n: 3}
	p, err := New(Config{Kind: HCE, Passcode: "5791", Rand: rnd(), LowWater: 1, CloudKeys: c})
	require.NoError(t, err)
	require.Equal(t, 3, p.KeysLeft())
	require.False(t, p.NeedsReplenish())
	require.Contains(t, p.String(), "3 keys")
	c.n = 1
	require.True(t, p.NeedsReplenish())
	p.CardOn()
	c.n = 0
	p.Process([]byte{0x00, 0xA4, 0x04, 0x00, 0x0E})
	require.Contains(t, p.Events(), EventReplenish)

	_, err = New(Config{Kind: HCE, Passcode: "5791", Rand: rnd()})
	require.ErrorIs(t, err, ErrConfig, "an HCE phone without its cloud card's keys")
}
