package cloud

import (
	"testing"

	"github.com/stretchr/testify/require"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
)

// Served names, sorted, the keys of one phone of one card that served a
// transaction: limited-use keys by their index, single-use ones by their
// ATC; not the unused ones, another phone's or another card's.
func TestServed(t *testing.T) {
	l := NewLedger(nil)
	ki := func(c int) emvcloud.KeyIndex { return emvcloud.KeyIndex{Year: 6, Hours: 8123, Counter: c} }
	require.NoError(t, l.IssueLUK("card-1", "phone-a", ki(1), 1))
	require.NoError(t, l.IssueLUK("card-1", "phone-a", ki(2), 1))
	require.NoError(t, l.IssueSUK("card-1", "phone-a", 0x1F))
	require.NoError(t, l.IssueLUK("card-1", "phone-b", ki(3), 1))
	require.NoError(t, l.IssueLUK("card-2", "phone-a", ki(4), 1))
	for _, id := range []ledgerKey{
		{KindLUK, "card-1", ki(2).Uint32()}, {KindSUK, "card-1", 0x1F},
		{KindLUK, "card-1", ki(3).Uint32()}, {KindLUK, "card-2", ki(4).Uint32()},
	} {
		l.keys[id].Used++
	}
	got, err := l.Served("card-1", "phone-a")
	require.NoError(t, err)
	require.Equal(t, []string{"001F", "6812302"}, got)
	got, err = l.Served("card-1", "phone-c")
	require.NoError(t, err)
	require.Empty(t, got)
}
