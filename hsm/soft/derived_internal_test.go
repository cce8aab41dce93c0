package soft

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

// The ICC master keys an issuer master key's entry keeps are the keys the
// derivation gives, one per option, card and PSN, and no more of them than
// the bound.
func TestDerivedKeys(t *testing.T) {
	imk, err := keys.New(keys.TDES, []byte("0123456789ABCDEFFEDCBA9876543210"[:16]))
	require.NoError(t, err)
	other, err := keys.New(keys.AES, make([]byte, 16))
	require.NoError(t, err)
	visa, err := cryptogram.Lookup("visa18")
	require.NoError(t, err)
	aes, err := cryptogram.Lookup("aes")
	require.NoError(t, err)

	var d derivedKeys
	card := func(i int) string { return fmt.Sprintf("4761739%09d", i) }
	for i := range maxDerivedKeys + 10 {
		for _, psn := range []string{"00", "01"} {
			got, err := d.derive(visa, imk, card(i%(maxDerivedKeys/2+7)), psn)
			require.NoError(t, err)
			want, err := visa.DeriveMK(imk, card(i%(maxDerivedKeys/2+7)), psn)
			require.NoError(t, err)
			require.True(t, got.Equal(want), "card %d PSN %s", i, psn)
		}
		require.LessOrEqual(t, len(d.m), maxDerivedKeys)
	}
	require.Equal(t, maxDerivedKeys, len(d.m))

	// A CVN of another algorithm is refused every time, not served a
	// TDES card key.
	for range 2 {
		_, err = d.derive(aes, imk, card(1), "00")
		require.ErrorIs(t, err, cryptogram.ErrKey)
	}
	_, err = d.derive(visa, other, card(1), "00")
	require.ErrorIs(t, err, cryptogram.ErrKey)
}
