package hceflow_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
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

// restart closes the platform's server, the ledger and the issuer's
// database, and opens them again on the same data directory, the
// platform on the same address.
func (w *world) restart() {
	t := w.t
	t.Helper()
	require.NoError(t, w.srv.Close())
	require.NoError(t, w.db.Close())
	db, err := store.OpenDir(w.dir, storetest.Options())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	w.db = db
	w.idv, err = idv.New(idv.Config{DB: db, HSM: w.hsm, Requestors: []string{requestorID}, Now: w.clock.Now,
		Rand: wiretest.NewSeeded(12), Logger: slog.New(slog.NewTextHandler(w.log, nil))})
	require.NoError(t, err)
	w.ledger = w.newLedger()
	w.verifier.Ledger = w.ledger
	w.platform = w.newPlatform()
	ln, err := net.Listen("tcp", w.addr)
	require.NoError(t, err)
	w.srv, err = w.platform.Serve(ln, w.pki.Server("cloud-platform"), wire.Limits{})
	require.NoError(t, err)
}

// R-S5b, R-S5c, R-S5d, R-S5e, R-C1: the platform and the issuer's key
// ledger kept in the issuer's database: after everything is closed and
// opened again on the same data directory the bindings are kept, a key
// used before is still refused (hce_key_used), a phone reported lost is
// still refused, the phones replenish and pay, a phone locked by wrong
// mobile PINs stays locked (R-G3c), the audit trail goes on, and the
// database holds no card number or mobile PIN in clear.
func TestHCEDurableRestart(t *testing.T) {
	w := newWorldOf(t, true)
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
	wrongPIN := func(un byte) {
		t.Helper()
		tap, err := cc.Pay(terminal(100, un), hceapp.Verification{MobilePIN: "1357"})
		require.NoError(t, err)
		_, err = w.verify(carolRef, tap, "")
		tapRefused(t, err, issuercloud.TapCardholderNotVerified)
	}
	for i := range issuercloud.MaxPINTries - 1 {
		wrongPIN(byte(10 + i))
	}
	audit := len(w.platform.Audit())

	w.restart()
	require.Len(t, w.platform.Bindings(aliceRef), 2)
	require.Len(t, w.platform.Audit(), audit, "the audit trail is kept")
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
	wrongPIN(30) // the fifth in a row, counted across the restart
	_, err = carol.Replenish(ctx, carolRef)
	refused(t, err, cloudsvc.ReasonMobilePINLocked)

	require.NoError(t, w.platform.ResetMobilePIN("call-centre", carolRef, "carol-phone"))
	w.restart()
	_, err = carol.Replenish(ctx, carolRef)
	require.NoError(t, err)
	tap, err := cc.Pay(terminal(100, 31), hceapp.Verification{MobilePIN: "2580"})
	require.NoError(t, err)
	_, err = w.verify(carolRef, tap, "")
	require.NoError(t, err)
	require.Contains(t, auditText(w.platform.Audit()), "reset-mobile-pin")

	require.NoError(t, w.db.Close())
	files, err := os.ReadDir(w.dir)
	require.NoError(t, err)
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(w.dir, f.Name()))
		require.NoError(t, err)
		for _, secret := range []string{alicePAN, aliceCloudPAN, carolPAN, carolCloudPAN, `"2580"`} {
			require.NotContains(t, string(raw), secret, f.Name())
		}
	}
}

// A platform's state saved before it kept which keys a log reported: the
// keys that served until then count as reported at the phone's first
// replenishment, so the phone, which reported them already, is not
// refused for leaving them out.
func TestHCEOlderSnapshotReconciles(t *testing.T) {
	w := newWorld(t)
	phone := w.phone("alice-phone-1", 1)
	card := w.enrol(phone, aliceRef, alicePAN, alicePhoneNo)
	_, err := w.pay(card, aliceRef, 100, true)
	require.NoError(t, err)
	w.clock.Advance(10 * time.Minute)
	_, err = phone.Replenish(ctx, aliceRef)
	require.NoError(t, err)

	snap, err := w.platform.Snapshot()
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(snap, &doc))
	bindings, ok := doc["bindings"].([]any)
	require.True(t, ok)
	for _, b := range bindings {
		m := b.(map[string]any)
		require.Contains(t, m, "reconciled")
		delete(m, "reported")
		delete(m, "reconciled")
	}
	older, err := json.Marshal(doc)
	require.NoError(t, err)

	require.NoError(t, w.srv.Close())
	w.platform = w.newPlatform()
	require.NoError(t, w.platform.Restore(older))
	ln, err := net.Listen("tcp", w.addr)
	require.NoError(t, err)
	w.srv, err = w.platform.Serve(ln, w.pki.Server("cloud-platform"), wire.Limits{})
	require.NoError(t, err)

	w.clock.Advance(10 * time.Minute)
	_, err = phone.Replenish(ctx, aliceRef)
	require.NoError(t, err, "the key reported before the snapshot is not asked for again")
}
