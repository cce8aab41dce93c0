package wiretest_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

func TestKit(t *testing.T) {
	c := wiretest.NewClock(wiretest.Epoch)
	c.Advance(time.Minute)
	require.Equal(t, wiretest.Epoch.Add(time.Minute), c.Now())

	a, b := make([]byte, 16), make([]byte, 16)
	_, _ = wiretest.NewSeeded(1, 2).Read(a)
	_, _ = wiretest.NewSeeded(1, 2).Read(b)
	require.Equal(t, a, b, "the same seed, the same bytes")
	_, _ = wiretest.NewSeeded(1, 3).Read(b)
	require.False(t, bytes.Equal(a, b))

	p, q := wiretest.Party(t, "phone", 7), wiretest.Party(t, "phone", 7)
	require.Equal(t, p.Public().SignKID, q.Public().SignKID)
}
