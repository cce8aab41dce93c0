package cloud

import (
	"context"
	"errors"
	"fmt"
	"time"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// TxRunner runs transactions on the issuer's database (*store.DB).
type TxRunner interface {
	Update(ctx context.Context, fn func(*store.Tx) error) error
	View(ctx context.Context, fn func(*store.Tx) error) error
}

// DBStore is the ledger's LedgerStore in the issuer's database
// (store.CloudKey, store.CloudDevice): keys by index or ATC, never a key.
// Each write is a transaction of its own; the use of a key at a tap is
// written in the authorisation's transaction instead (Tap.Store).
type DBStore struct {
	DB    TxRunner
	Clock func() time.Time
}

func (s DBStore) now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock()
}

// LoadLedger implements LedgerStore.
func (s DBStore) LoadLedger() ([]IssuedKey, []DeviceState, error) {
	ctx := context.Background()
	var ks []store.CloudKey
	var ds []store.CloudDevice
	err := s.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		if ks, err = tx.CloudKeys(ctx); err != nil {
			return err
		}
		ds, err = tx.CloudDevices(ctx)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	keys := make([]IssuedKey, 0, len(ks))
	for _, k := range ks {
		ik, err := issuedKey(k)
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, ik)
	}
	devs := make([]DeviceState, 0, len(ds))
	for _, d := range ds {
		devs = append(devs, DeviceState{CardRef: d.CardRef, DeviceID: d.DeviceID, Suspended: d.Suspended,
			PINFailures: d.PINFailures, PINLocked: d.PINLocked})
	}
	return keys, devs, nil
}

// PutKey implements LedgerStore.
func (s DBStore) PutKey(k IssuedKey) error {
	ctx := context.Background()
	return s.DB.Update(ctx, func(tx *store.Tx) error { return TxStore{Ctx: ctx, Tx: tx, Now: s.now()}.PutKey(k) })
}

// PutDevice implements LedgerStore.
func (s DBStore) PutDevice(d DeviceState) error {
	ctx := context.Background()
	return s.DB.Update(ctx, func(tx *store.Tx) error { return TxStore{Ctx: ctx, Tx: tx, Now: s.now()}.PutDevice(d) })
}

// TxStore writes the ledger's changes in a transaction under way (the
// authorisation's, so that a key's use commits with the decision). It
// loads nothing.
type TxStore struct {
	Ctx context.Context
	Tx  *store.Tx
	Now time.Time
}

// LoadLedger implements LedgerStore: nothing.
func (s TxStore) LoadLedger() ([]IssuedKey, []DeviceState, error) { return nil, nil, nil }

// PutKey implements LedgerStore.
func (s TxStore) PutKey(k IssuedKey) error {
	id := uint32(k.ATC)
	if k.Kind == KindLUK {
		id = k.KeyIndex.Uint32()
	}
	return s.Tx.PutCloudKey(s.Ctx, store.CloudKey{Kind: string(k.Kind), CardRef: k.CardRef, KeyID: id, DeviceID: k.DeviceID,
		API: k.API, IssuedAt: k.IssuedAt, Used: k.Used})
}

// PutDevice implements LedgerStore.
func (s TxStore) PutDevice(d DeviceState) error {
	return s.Tx.PutCloudDevice(s.Ctx, store.CloudDevice{CardRef: d.CardRef, DeviceID: d.DeviceID, Suspended: d.Suspended,
		PINFailures: d.PINFailures, PINLocked: d.PINLocked, UpdatedAt: s.Now})
}

// KeyReader is a LedgerStore that reads one key's record and one phone's
// as its transaction sees them: the Verifier decides on those rather than
// on its own copy, so that issuer instances sharing a database see each
// other's uses, suspensions and PIN locks (R-S5b, R-C1).
type KeyReader interface {
	// ReadKey reads the record of the key kind/cardRef/id; false when
	// there is none.
	ReadKey(kind KeyKind, cardRef string, id uint32) (IssuedKey, bool, error)
	// ReadDevice reads the record of a phone; false when there is none.
	ReadDevice(cardRef, deviceID string) (DeviceState, bool, error)
}

// ReadKey implements KeyReader.
func (s TxStore) ReadKey(kind KeyKind, cardRef string, id uint32) (IssuedKey, bool, error) {
	k, err := s.Tx.CloudKey(s.Ctx, string(kind), cardRef, id)
	if errors.Is(err, store.ErrNotFound) {
		return IssuedKey{}, false, nil
	}
	if err != nil {
		return IssuedKey{}, false, err
	}
	ik, err := issuedKey(k)
	return ik, err == nil, err
}

// ReadDevice implements KeyReader.
func (s TxStore) ReadDevice(cardRef, deviceID string) (DeviceState, bool, error) {
	d, err := s.Tx.CloudDevice(s.Ctx, cardRef, deviceID)
	if errors.Is(err, store.ErrNotFound) {
		return DeviceState{}, false, nil
	}
	if err != nil {
		return DeviceState{}, false, err
	}
	return DeviceState{CardRef: d.CardRef, DeviceID: d.DeviceID, Suspended: d.Suspended, PINFailures: d.PINFailures,
		PINLocked: d.PINLocked}, true, nil
}

// issuedKey is the ledger's record of a stored key row.
func issuedKey(k store.CloudKey) (IssuedKey, error) {
	ik := IssuedKey{Kind: KeyKind(k.Kind), CardRef: k.CardRef, DeviceID: k.DeviceID, API: k.API, IssuedAt: k.IssuedAt, Used: k.Used}
	switch ik.Kind {
	case KindLUK:
		ki, err := emvcloud.ParseKeyIndex(fmt.Sprintf("%07d", k.KeyID))
		if err != nil {
			return IssuedKey{}, fmt.Errorf("%w: stored key of %s: %w", ErrLedger, k.CardRef, err)
		}
		ik.KeyIndex = ki
	case KindSUK:
		ik.ATC = uint16(k.KeyID)
	}
	return ik, nil
}
