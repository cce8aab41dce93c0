package wire_test

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/provision/wire"
)

// The phone opens the ICC master key wrapped for its encryption key; the
// wrap's device-key thumbprint is the party's encryption key ID; another
// phone, an altered blob or a wrong check value fail with ErrKey.
func TestUnwrapICCMasterKey(t *testing.T) {
	phone, err := wire.NewParty("phone-1", seeded(1))
	require.NoError(t, err)
	thief, err := wire.NewParty("phone-2", seeded(2))
	require.NoError(t, err)
	mk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")

	tp, err := devicekey.Thumbprint(phone.Public().Enc)
	require.NoError(t, err)
	require.Equal(t, phone.Public().EncKID, base64.RawURLEncoding.EncodeToString(tp))

	w, err := devicekey.Wrap(seeded(3), phone.Public().Enc, mk)
	require.NoError(t, err)
	got, err := phone.UnwrapICCMasterKey(keys.TDES, w, mk.KCVHex())
	require.NoError(t, err)
	require.True(t, got.Equal(mk))

	_, err = thief.UnwrapICCMasterKey(keys.TDES, w, mk.KCVHex())
	require.ErrorIs(t, err, wire.ErrKey)
	require.ErrorIs(t, err, devicekey.ErrWrapped)

	bad := append([]byte(nil), w...)
	bad[70] ^= 0x40
	_, err = phone.UnwrapICCMasterKey(keys.TDES, bad, mk.KCVHex())
	require.ErrorIs(t, err, devicekey.ErrWrapped)

	_, err = phone.UnwrapICCMasterKey(keys.TDES, w, "000000")
	require.ErrorIs(t, err, devicekey.ErrKCV)
	require.NotContains(t, err.Error(), "0123456789")
}
