package phone

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// counter is a cloud-payment card's key count.
type counter struct{ n int }

func (c *counter) KeysLeft() int { return c.n }

// An HCE phone whose keys are a cloud-payment card's keeps no store of
// its own, counts the card's keys, asks for more at its low-water mark and
// with none left answers GET PROCESSING OPTIONS "see phone" and asks its
// holder to replenish.
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
	require.Equal(t, []byte{0x69, 0x86}, p.Process([]byte{0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00}))
	require.Equal(t, []Event{EventNoKeys}, p.Events())

	_, err = New(Config{Kind: HCE, Passcode: "5791", Rand: rnd()})
	require.ErrorIs(t, err, ErrConfig, "an HCE phone without its cloud card's keys")
}
