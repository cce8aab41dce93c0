package hceflow_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/pan"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// R-M3, R-M7, R-S3d, R-S3e, R-S3f, R-S5a, R-S5c: a phone registers with
// the issuer's own cloud platform, the cardholder is verified by the OTP
// sent to the registered phone number before anything is bound, the
// phone answers a fresh challenge with its device key and gets the
// emulated card (the cloud account number, never the real card's) and
// limited-use keys wrapped in the security module for that phone alone;
// a tap with one of them verifies at the issuer.
func TestHCEEnrolAndPay(t *testing.T) {
	w := newWorld(t)
	phone := w.phone("alice-phone-1", 1)

	res, err := phone.Register(ctx, w.requestID(), aliceRef, w.codes[alicePAN], "", "")
	require.NoError(t, err)
	require.Equal(t, "+********5678", res.Contact)
	require.Empty(t, w.platform.Bindings(aliceRef), "nothing is bound before the cardholder is verified")
	b, err := phone.VerifyRegistration(ctx, res.RegistrationID, w.lastOTP(alicePhoneNo))
	require.NoError(t, err)
	require.Equal(t, wire.HCEBindingActive, b.Status)
	require.Equal(t, "alice-phone-1", b.DeviceID)

	card, err := phone.Download(ctx, aliceRef)
	require.NoError(t, err)
	p := card.Profile()
	require.Equal(t, aliceCloudPAN, p.AccountNumber)
	require.Equal(t, cloudExpiry, p.Expiry)
	require.Equal(t, 5, card.KeysLeft())

	v, err := w.pay(card, aliceRef, 12500, true)
	require.NoError(t, err)
	require.True(t, v.CardholderVerified)
	require.Equal(t, "alice-phone-1", v.DeviceID)
	require.Equal(t, issuercloud.KindLUK, v.Kind)
	require.Equal(t, 4, card.KeysLeft())

	// R-S5c, R-S5e: the platform keeps the real card data sealed only,
	// and nothing sensitive reaches its log or audit trail.
	d := w.platform.Dump()
	for _, c := range d.Cards {
		for _, n := range []string{alicePAN, aliceCloudPAN, bobPAN, bobCloudPAN} {
			require.NotContains(t, string(c.Sealed), n)
		}
	}
	dump := strings.Join([]string{w.log.String(), auditText(d.Audit)}, "\n")
	for _, n := range []string{alicePAN, aliceCloudPAN, "securityCode", "otp"} {
		require.NotContains(t, dump, n)
	}
	require.Contains(t, dump, pan.Mask(alicePAN))
}

func auditText(es []cloudsvc.AuditEntry) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.Actor + " " + e.Action + " " + e.CardRef + " " + e.Device + " " + e.Outcome + " " + e.Detail + "\n")
	}
	return b.String()
}
