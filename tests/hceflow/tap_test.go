package hceflow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// R-S5b, R-S5d, R-S2e, R-G2: the issuer refuses each bad tap with its own
// reason: a key used twice, a key past its time to live, a key issued to
// another phone than the one the transaction names, a key never issued, a
// cryptogram over altered data, a tap without cardholder verification
// at any amount.
func TestHCETapRefusals(t *testing.T) {
	w := newWorld(t)
	a := w.phone("alice-phone-1", 1)
	b := w.phone("alice-phone-2", 2)
	ca := w.enrol(a, aliceRef, alicePAN, alicePhoneNo)
	cb := w.enrol(b, aliceRef, alicePAN, alicePhoneNo)

	for _, tc := range []struct {
		name   string
		tap    func() (issuercloud.Verified, error)
		reason issuercloud.TapReason
	}{
		{"key reused", func() (issuercloud.Verified, error) {
			tap, err := ca.Pay(terminal(1000, 1), hceapp.Verification{CDCVM: true})
			require.NoError(t, err)
			_, err = w.verify(aliceRef, tap, tap.DeviceID)
			require.NoError(t, err)
			return w.verify(aliceRef, tap, tap.DeviceID)
		}, issuercloud.TapKeyUsed},
		{"key of another phone", func() (issuercloud.Verified, error) {
			// A's key and cryptogram, presented as phone B's transaction.
			tap, err := ca.Pay(terminal(1000, 2), hceapp.Verification{CDCVM: true})
			require.NoError(t, err)
			return w.verify(aliceRef, tap, "alice-phone-2")
		}, issuercloud.TapKeyOtherDevice},
		{"key never issued", func() (issuercloud.Verified, error) {
			// A's tap naming a key index the platform never issued.
			tap, err := ca.Pay(terminal(1000, 3), hceapp.Verification{CDCVM: true})
			require.NoError(t, err)
			iad, err := cloud.ParseIAD(tap.Tags[cryptogram.TagIssuerAppData])
			require.NoError(t, err)
			iad.KeyIndex.Counter = 50
			tap.Tags[cryptogram.TagIssuerAppData] = iad.Bytes()
			return w.verify(aliceRef, tap, "")
		}, issuercloud.TapKeyNotIssued},
		{"altered amount", func() (issuercloud.Verified, error) {
			tap, err := cb.Pay(terminal(1000, 4), hceapp.Verification{CDCVM: true})
			require.NoError(t, err)
			tap.Tags[0x9F02] = terminal(100000, 4)[0x9F02]
			return w.verify(aliceRef, tap, tap.DeviceID)
		}, issuercloud.TapCryptogramInvalid},
		{"no cardholder verification at a small amount", func() (issuercloud.Verified, error) {
			return w.pay(cb, aliceRef, 1, false)
		}, issuercloud.TapCardholderNotVerified},
		{"key past its time to live", func() (issuercloud.Verified, error) {
			tap, err := cb.Pay(terminal(1000, 5), hceapp.Verification{CDCVM: true})
			require.NoError(t, err)
			w.clock.Advance(25 * time.Hour)
			return w.verify(aliceRef, tap, tap.DeviceID)
		}, issuercloud.TapKeyExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.tap()
			tapRefused(t, err, tc.reason)
		})
	}
}

// A key whose cryptogram failed does not pass a second time either; a
// good tap uses the key once (R-S5b).
func TestHCEKeyUsedOnce(t *testing.T) {
	w := newWorld(t)
	a := w.phone("alice-phone-1", 1)
	ca := w.enrol(a, aliceRef, alicePAN, alicePhoneNo)
	tap, err := ca.Pay(terminal(500, 1), hceapp.Verification{CDCVM: false})
	require.NoError(t, err)
	_, err = w.verify(aliceRef, tap, tap.DeviceID)
	tapRefused(t, err, issuercloud.TapCardholderNotVerified)
	_, err = w.verify(aliceRef, tap, tap.DeviceID)
	tapRefused(t, err, issuercloud.TapKeyUsed)
	for range 4 {
		_, err = w.pay(ca, aliceRef, 500, true)
		require.NoError(t, err)
	}
	_, err = ca.Pay(terminal(500, 1), hceapp.Verification{CDCVM: true})
	require.ErrorIs(t, err, hceapp.ErrNoKeys)
}

// R-C1, R-S5d: a lost-phone report suspends that phone's binding and
// keys at once; Alice's other phone keeps paying and replenishing.
func TestHCELostPhone(t *testing.T) {
	w := newWorld(t)
	a := w.phone("alice-phone-1", 1)
	b := w.phone("alice-phone-2", 2)
	ca := w.enrol(a, aliceRef, alicePAN, alicePhoneNo)
	cb := w.enrol(b, aliceRef, alicePAN, alicePhoneNo)
	require.Len(t, w.platform.Bindings(aliceRef), 2)

	got, err := w.platform.ReportLost("call-centre", aliceRef, "alice-phone-1")
	require.NoError(t, err)
	require.Equal(t, wire.HCEBindingSuspended, got.Status)

	_, err = w.pay(ca, aliceRef, 100, true)
	tapRefused(t, err, issuercloud.TapDeviceSuspended)
	_, err = a.Challenge(ctx, aliceRef)
	refused(t, err, cloudsvc.ReasonDeviceSuspended)

	v, err := w.pay(cb, aliceRef, 100, true)
	require.NoError(t, err)
	require.Equal(t, "alice-phone-2", v.DeviceID)
	w.clock.Advance(10 * time.Minute)
	left, err := b.Replenish(ctx, aliceRef)
	require.NoError(t, err)
	require.Equal(t, 9, left)

	_, err = w.platform.ReportLost("call-centre", aliceRef, "alice-phone-9")
	require.ErrorIs(t, err, cloudsvc.ErrUnknown)
	require.Contains(t, auditText(w.platform.Audit()), "call-centre report-lost card-alice alice-phone-1 ok")
}

// R-S5e: a staff read of the real card data is written to the audit trail
// with who read it and why, before the data is returned; a read without a
// purpose, or by a staff member not allowed, is refused (and the latter
// audited).
func TestHCEStaffReadAudited(t *testing.T) {
	w := newWorld(t)
	_, err := w.platform.ReadCard("staff-1", aliceRef, "")
	require.ErrorIs(t, err, cloudsvc.ErrInput)
	_, err = w.platform.ReadCard("staff-2", aliceRef, "curiosity")
	require.ErrorIs(t, err, cloudsvc.ErrForbidden)
	d, err := w.platform.ReadCard("staff-1", aliceRef, "dispute 4711")
	require.NoError(t, err)
	require.Equal(t, alicePAN, d.PAN)
	require.NotContains(t, d.String(), alicePAN)
	audit := auditText(w.platform.Audit())
	require.Contains(t, audit, "staff-1 read-card card-alice  ok dispute 4711")
	require.Contains(t, audit, "staff-2 read-card card-alice  refused: not_allowed curiosity")
	require.NotContains(t, audit, alicePAN)
	require.Equal(t, 2, strings.Count(audit, "read-card"))
}
