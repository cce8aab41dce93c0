package hceflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// R-S2e, R-S3d, R-S3f, R-S5b: an mc-cloud card. The cardholder sets a
// mobile PIN at registration (not a weak one); the phone gets SK_MD and
// PIN-masked SUKs wrapped for it; a tap with the right PIN verifies the
// cardholder by the UMD cryptogram, a wrong PIN is not noticed by the
// phone but refused by the issuer, and spends its key.
func TestHCEMobilePIN(t *testing.T) {
	w := newWorld(t)
	phone := w.phone("carol-phone", 5)
	for _, pin := range []string{"", "1111", "3456"} {
		_, err := phone.Register(ctx, w.requestID(), carolRef, w.codes[carolPAN], "", pin)
		refused(t, err, cloudsvc.ReasonMobilePINRequired)
	}
	_, err := phone.Register(ctx, w.requestID(), aliceRef, w.codes[alicePAN], "", "2580")
	refused(t, err, cloudsvc.ReasonMobilePINRequired)

	res, err := phone.Register(ctx, w.requestID(), carolRef, w.codes[carolPAN], "", "2580")
	require.NoError(t, err)
	_, err = phone.VerifyRegistration(ctx, res.RegistrationID, w.lastOTP(carolPhoneNo))
	require.NoError(t, err)
	card, err := phone.Download(ctx, carolRef)
	require.NoError(t, err)
	require.Equal(t, wire.HCECVNMCCloud, card.Profile().CVN)
	require.Equal(t, carolCloudPAN, card.Profile().AccountNumber)
	require.Equal(t, 5, card.KeysLeft())

	tap, err := card.Pay(terminal(2500, 1), hceapp.Verification{MobilePIN: "2580"})
	require.NoError(t, err)
	v, err := w.verify(carolRef, tap, "")
	require.NoError(t, err)
	require.True(t, v.CardholderVerified)
	require.Equal(t, issuercloud.KindSUK, v.Kind)
	require.Equal(t, "carol-phone", v.DeviceID)

	for _, pin := range []string{"2581", ""} {
		tap, err = card.Pay(terminal(2500, 2), hceapp.Verification{MobilePIN: pin})
		require.NoError(t, err, "the phone cannot tell a wrong PIN")
		_, err = w.verify(carolRef, tap, "")
		tapRefused(t, err, issuercloud.TapCardholderNotVerified)
		_, err = w.verify(carolRef, tap, "")
		tapRefused(t, err, issuercloud.TapKeyUsed)
	}

	w.clock.Advance(10 * time.Minute)
	left, err := phone.Replenish(ctx, carolRef)
	require.NoError(t, err)
	require.Equal(t, 7, left)
	// R-G3c: the fifth wrong mobile PIN in a row locks the phone's card.
	for i := range 7 {
		_, err = w.pay(card, carolRef, 100, false) // a visa-style CDCVM flag is no verification here
		if i < issuercloud.MaxPINTries-2 {
			tapRefused(t, err, issuercloud.TapCardholderNotVerified)
		} else {
			tapRefused(t, err, issuercloud.TapPINLocked)
		}
	}
	w.clock.Advance(10 * time.Minute)
	_, err = phone.Replenish(ctx, carolRef)
	refused(t, err, cloudsvc.ReasonMobilePINLocked)
	require.NoError(t, w.platform.ResetMobilePIN("call-centre", carolRef, "carol-phone"))
	_, err = phone.Replenish(ctx, carolRef)
	require.NoError(t, err)
	tap, err = card.Pay(terminal(2500, 3), hceapp.Verification{MobilePIN: "2580"})
	require.NoError(t, err)
	_, err = w.verify(carolRef, tap, "")
	require.NoError(t, err, "reset by the service centre")
	require.NotContains(t, w.log.String(), "2580")
}
