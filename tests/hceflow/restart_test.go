package hceflow_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// R-S5b, R-S5c, R-C1: the platform and the issuer's key ledger restart
// from their snapshots: bindings, suspensions and used keys are kept, the
// phones go on replenishing and paying, and the snapshots hold no card
// number, PIN or key in clear.
func TestHCERestart(t *testing.T) {
	w := newWorld(t)
	a1, a2 := w.phone("alice-phone-1", 1), w.phone("alice-phone-2", 2)
	c1 := w.enrol(a1, aliceRef, alicePAN, alicePhoneNo)
	c2 := w.enrol(a2, aliceRef, alicePAN, alicePhoneNo)
	carol := w.phone("carol-phone", 5)
	cc, err := carol.Enrol(ctx, w.requestID(), carolRef, w.codes[carolPAN], "2580", func(context.Context, wire.HCERegisterResult) (string, error) {
		return w.lastOTP(carolPhoneNo), nil
	})
	require.NoError(t, err)
	spent, err := c1.Pay(terminal(100, 1), hceapp.Verification{CDCVM: true})
	require.NoError(t, err)
	_, err = w.verify(aliceRef, spent, "")
	require.NoError(t, err)
	_, err = w.platform.ReportLost("call-centre", aliceRef, "alice-phone-2")
	require.NoError(t, err)

	snap, err := w.platform.Snapshot()
	require.NoError(t, err)
	lsnap, err := w.ledger.Snapshot()
	require.NoError(t, err)
	for _, secret := range []string{alicePAN, aliceCloudPAN, carolPAN, carolCloudPAN, "2580", "securityCode"} {
		require.NotContains(t, string(snap), secret)
		require.NotContains(t, string(lsnap), secret)
	}

	// Restart: a new ledger and platform from the snapshots, on the same
	// address.
	require.NoError(t, w.srv.Close())
	w.ledger = issuercloud.NewLedger(w.clock.Now)
	require.NoError(t, w.ledger.Restore(lsnap))
	w.verifier.Ledger = w.ledger
	w.platform = w.newPlatform()
	require.NoError(t, w.platform.Restore(snap))
	require.ErrorIs(t, w.platform.Restore(snap), cloudsvc.ErrExists)
	ln, err := net.Listen("tcp", w.addr)
	require.NoError(t, err)
	w.srv, err = w.platform.Serve(ln, w.pki.Server("cloud-platform"), wire.Limits{})
	require.NoError(t, err)

	_, err = w.verify(aliceRef, spent, "")
	tapRefused(t, err, issuercloud.TapKeyUsed)
	_, err = w.pay(c2, aliceRef, 100, true)
	tapRefused(t, err, issuercloud.TapDeviceSuspended)
	_, err = w.pay(c1, aliceRef, 100, true)
	require.NoError(t, err)

	w.clock.Advance(10 * time.Minute)
	left, err := a1.Replenish(ctx, aliceRef)
	require.NoError(t, err)
	require.Equal(t, 8, left)
	_, err = a2.Replenish(ctx, aliceRef)
	refused(t, err, cloudsvc.ReasonDeviceSuspended)
	_, err = carol.Replenish(ctx, carolRef)
	require.NoError(t, err)
	tap, err := cc.Pay(terminal(100, 2), hceapp.Verification{MobilePIN: "2580"})
	require.NoError(t, err)
	_, err = w.verify(carolRef, tap, "")
	require.NoError(t, err)
	require.Len(t, w.platform.Bindings(aliceRef), 2)
}

// A snapshot that does not parse or breaks its rules restores nothing.
func TestHCERestoreRefusals(t *testing.T) {
	w := newWorld(t)
	p := w.newPlatform()
	for _, bad := range []string{"{", `{"version":2}`, `{"version":1,"cards":[{"ref":"x y"}]}`,
		`{"version":1,"bindings":[{"id":"b","cardRef":"nowhere"}]}`} {
		require.ErrorIs(t, p.Restore([]byte(bad)), cloudsvc.ErrInput, bad)
	}
	l := issuercloud.NewLedger(w.clock.Now)
	for _, bad := range []string{"{", `{"keys":[{"kind":"luk","cardRef":"c","deviceId":"d","keyIndex":"x"}]}`,
		`{"keys":[{"kind":"other","cardRef":"c","deviceId":"d"}]}`,
		`{"keys":[{"kind":"suk","cardRef":"c","deviceId":"d","atc":1},{"kind":"suk","cardRef":"c","deviceId":"e","atc":1}]}`} {
		require.ErrorIs(t, l.Restore([]byte(bad)), issuercloud.ErrLedger, bad)
	}
}
