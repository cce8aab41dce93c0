package cloud_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// reopen makes the rig's ledger again from st, as after a restart.
func (r *verifyRig) reopen(t *testing.T, st cloud.LedgerStore) {
	t.Helper()
	l, err := cloud.OpenLedger(st, r.v.Now)
	require.NoError(t, err)
	r.ledger, r.v.Ledger = l, l
}

// R-S5b, R-C1: the ledger kept in its store outlives the process: a key
// used before the restart is still refused, a phone suspended before it
// is still refused, a key issued before it still serves once.
func TestLedgerSurvivesRestart(t *testing.T) {
	r := newVerifyRig(t)
	st := &cloud.MemoryLedgerStore{}
	r.reopen(t, st)
	ki := func(c int) emvcloud.KeyIndex {
		k, err := emvcloud.NewKeyIndex(at, c)
		require.NoError(t, err)
		return k
	}
	require.NoError(t, r.ledger.IssueLUK("card-1", "phone-1", ki(0), 1))
	require.NoError(t, r.ledger.IssueLUK("card-1", "phone-1", ki(1), 1))
	require.NoError(t, r.ledger.IssueLUK("card-1", "phone-2", ki(2), 1))
	tags, ac := r.luk(t, ki(0), true)
	_, err := r.v.Verify(cloud.Tap{Card: visaCard, Tags: tags, AC: ac})
	require.NoError(t, err)
	require.NoError(t, r.ledger.SuspendDevice("card-1", "phone-2"))

	r.reopen(t, st)
	require.ErrorIs(t, r.ledger.IssueLUK("card-1", "phone-1", ki(0), 1), cloud.ErrLedger, "issued before the restart")
	_, err = r.v.Verify(cloud.Tap{Card: visaCard, Tags: tags, AC: ac})
	require.ErrorIs(t, err, &cloud.TapError{Reason: cloud.TapKeyUsed})
	tags, ac = r.luk(t, ki(2), true)
	_, err = r.v.Verify(cloud.Tap{Card: visaCard, Tags: tags, AC: ac})
	require.ErrorIs(t, err, &cloud.TapError{Reason: cloud.TapDeviceSuspended})
	tags, ac = r.luk(t, ki(1), true)
	v, err := r.v.Verify(cloud.Tap{Card: visaCard, Tags: tags, AC: ac})
	require.NoError(t, err)
	require.Equal(t, "phone-1", v.DeviceID)
}

// R-G3c: five consecutive wrong mobile PINs lock the phone's card, also
// across a restart, whatever the PIN typed next, until the service
// centre resets it; a right PIN in between starts the count again; the
// other phones of the account go on.
func TestMobilePINTryLimit(t *testing.T) {
	r := newVerifyRig(t)
	st := &cloud.MemoryLedgerStore{}
	r.reopen(t, st)
	for atc := uint16(1); atc <= 12; atc++ {
		require.NoError(t, r.ledger.IssueSUK("card-1", "phone-1", atc))
	}
	require.NoError(t, r.ledger.IssueSUK("card-1", "phone-2", 13))
	tap := func(atc uint16, pin string) error {
		tags, ac := r.suk(t, atc, pin)
		_, err := r.v.Verify(cloud.Tap{Card: mcCard, Tags: tags, AC: ac})
		return err
	}
	notVerified := &cloud.TapError{Reason: cloud.TapCardholderNotVerified}
	locked := &cloud.TapError{Reason: cloud.TapPINLocked}
	require.ErrorIs(t, tap(1, "1111"), notVerified)
	require.NoError(t, tap(2, "2468"), "a right PIN clears the count")
	atc := uint16(3)
	for i := 1; i <= cloud.MaxPINTries; i++ {
		require.ErrorIs(t, tap(atc, "1357"), notVerified, "try %d", i)
		atc++
	}
	require.True(t, r.ledger.PINLocked("card-1", "phone-1"))
	r.reopen(t, st)
	err := tap(atc, "2468")
	require.ErrorIs(t, err, locked, "locked across the restart, even with the right PIN")
	require.Equal(t, "R-G3c", cloud.TapPINLocked.Requirement())
	require.Equal(t, "75", cloud.TapPINLocked.ResponseCode())
	require.NoError(t, tap(13, "2468"), "the account's other phone")

	require.NoError(t, r.ledger.ResetPIN("card-1", "phone-1"))
	r.reopen(t, st)
	require.False(t, r.ledger.PINLocked("card-1", "phone-1"))
	require.NoError(t, tap(atc, "2468"))
}

// R-S5b, R-C1: two issuer instances sharing one database, each with its
// own copy of the ledger: a key the first used in its authorisation's
// transaction is refused by the second, a key issued after the second
// loaded its copy serves it, a phone the first suspended is refused by the
// second.
func TestLedgerSharedDatabase(t *testing.T) {
	r := newVerifyRig(t)
	db, err := store.OpenSQLite(filepath.Join(t.TempDir(), "issuer.db"), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ki := func(c int) emvcloud.KeyIndex {
		k, err := emvcloud.NewKeyIndex(at, c)
		require.NoError(t, err)
		return k
	}
	st := cloud.DBStore{DB: db}
	first, err := cloud.OpenLedger(st, r.v.Now)
	require.NoError(t, err)
	require.NoError(t, first.IssueLUK("card-1", "phone-1", ki(0), 1))
	second, err := cloud.OpenLedger(st, r.v.Now)
	require.NoError(t, err)
	require.NoError(t, first.IssueLUK("card-1", "phone-1", ki(1), 1))
	require.NoError(t, first.IssueLUK("card-1", "phone-2", ki(2), 1))
	v1 := &cloud.Verifier{HSM: r.v.HSM, Ledger: first, Now: r.v.Now}
	v2 := &cloud.Verifier{HSM: r.v.HSM, Ledger: second, Now: r.v.Now}
	verify := func(v *cloud.Verifier, k emvcloud.KeyIndex) error {
		tags, ac := r.luk(t, k, true)
		return db.Update(t.Context(), func(tx *store.Tx) error {
			_, err := v.Verify(cloud.Tap{Card: visaCard, Tags: tags, AC: ac, Store: cloud.TxStore{Ctx: t.Context(), Tx: tx, Now: at}})
			if _, refused := errors.AsType[*cloud.TapError](err); refused {
				return nil // the decision commits, as the authorisation's
			}
			return err
		})
	}
	check := func(v *cloud.Verifier, k emvcloud.KeyIndex) error {
		tags, ac := r.luk(t, k, true)
		var out error
		require.NoError(t, db.Update(t.Context(), func(tx *store.Tx) error {
			_, out = v.Verify(cloud.Tap{Card: visaCard, Tags: tags, AC: ac, Store: cloud.TxStore{Ctx: t.Context(), Tx: tx, Now: at}})
			return nil
		}))
		return out
	}
	require.NoError(t, verify(v1, ki(0)))
	require.ErrorIs(t, check(v2, ki(0)), &cloud.TapError{Reason: cloud.TapKeyUsed}, "used on the other instance")
	require.NoError(t, check(v2, ki(1)), "issued after the second loaded its copy")
	require.NoError(t, db.Update(t.Context(), func(tx *store.Tx) error {
		return tx.PutCloudDevice(t.Context(), store.CloudDevice{CardRef: "card-1", DeviceID: "phone-2", Suspended: true, UpdatedAt: at})
	}))
	require.ErrorIs(t, check(v2, ki(2)), &cloud.TapError{Reason: cloud.TapDeviceSuspended}, "suspended by the other instance")
}

// A ledger made before its store could be opened takes the store's
// records when attached and writes to it from then on.
func TestLedgerAttach(t *testing.T) {
	r := newVerifyRig(t)
	st := &cloud.MemoryLedgerStore{}
	before, err := cloud.OpenLedger(st, r.v.Now)
	require.NoError(t, err)
	ki, err := emvcloud.NewKeyIndex(at, 0)
	require.NoError(t, err)
	require.NoError(t, before.IssueLUK("card-1", "phone-1", ki, 1))
	require.NoError(t, before.SuspendDevice("card-1", "phone-2"))

	l := cloud.NewLedger(r.v.Now)
	require.NoError(t, l.Attach(st))
	require.Len(t, l.Keys("card-1"), 1)
	require.True(t, l.Suspended("card-1", "phone-2"))
	ki2, err := emvcloud.NewKeyIndex(at, 1)
	require.NoError(t, err)
	require.NoError(t, l.IssueLUK("card-1", "phone-1", ki2, 1))
	again, err := cloud.OpenLedger(st, r.v.Now)
	require.NoError(t, err)
	require.Len(t, again.Keys("card-1"), 2, "written to the store")
	require.ErrorIs(t, l.Attach(nil), cloud.ErrLedger)
}
