package lab

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// serviceStore is the tokensvc.Store of the token service the issuer
// operates: its records and the answers to its tasks in the issuer's
// database (store.ServiceRecord, store.ServiceTask), in their JSON
// encoding. Neither holds card data.
type serviceStore struct {
	db    issuerDB
	clock func() time.Time
}

// issuerDB is the running issuer's store, asked at every call: the issuer
// host may have been stopped and started again on the same data since.
type issuerDB func() (*issuerSide, error)

// Update runs fn in a read-write transaction of the running issuer's store.
func (d issuerDB) Update(ctx context.Context, fn func(*store.Tx) error) error {
	is, err := d()
	if err != nil {
		return err
	}
	return is.db.Update(ctx, fn)
}

// View runs fn in a read-only transaction of the running issuer's store.
func (d issuerDB) View(ctx context.Context, fn func(*store.Tx) error) error {
	is, err := d()
	if err != nil {
		return err
	}
	return is.db.View(ctx, fn)
}

var errServiceStore = errors.New("lab: token service store")

// PutRecord implements tokensvc.Store.
func (s *serviceStore) PutRecord(ctx context.Context, r tokensvc.Record) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("%w: %w", errServiceStore, err)
	}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutServiceRecord(ctx, store.ServiceRecord{TokenRef: r.TokenUniqueReference, SignKID: r.Device.SignKID,
			Body: string(body), UpdatedAt: s.clock()})
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errServiceStore, err)
	}
	return nil
}

func (s *serviceStore) read(ctx context.Context, get func(*store.Tx) (store.ServiceRecord, error)) (tokensvc.Record, error) {
	var sr store.ServiceRecord
	err := s.db.View(ctx, func(tx *store.Tx) error {
		var err error
		sr, err = get(tx)
		return err
	})
	if err != nil {
		return tokensvc.Record{}, err
	}
	var r tokensvc.Record
	if err := json.Unmarshal([]byte(sr.Body), &r); err != nil {
		return tokensvc.Record{}, fmt.Errorf("%w: record %s: %w", errServiceStore, sr.TokenRef, err)
	}
	return r, nil
}

// Record implements tokensvc.Store.
func (s *serviceStore) Record(ctx context.Context, tur string) (tokensvc.Record, error) {
	r, err := s.read(ctx, func(tx *store.Tx) (store.ServiceRecord, error) { return tx.ServiceRecord(ctx, tur) })
	switch {
	case errors.Is(err, store.ErrNotFound):
		return tokensvc.Record{}, fmt.Errorf("%w: %s", tokensvc.ErrUnknownToken, tur)
	case err != nil && !errors.Is(err, errServiceStore):
		return tokensvc.Record{}, fmt.Errorf("%w: %w", errServiceStore, err)
	}
	return r, err
}

// DeviceKeys implements tokensvc.Store.
func (s *serviceStore) DeviceKeys(ctx context.Context, kid string) (wire.PublicKeys, error) {
	r, err := s.read(ctx, func(tx *store.Tx) (store.ServiceRecord, error) { return tx.ServiceRecordBySigner(ctx, kid) })
	switch {
	case errors.Is(err, store.ErrNotFound):
		return wire.PublicKeys{}, fmt.Errorf("%w: %s", tokensvc.ErrUnknownDevice, kid)
	case err != nil && !errors.Is(err, errServiceStore):
		return wire.PublicKeys{}, fmt.Errorf("%w: %w", errServiceStore, err)
	case err != nil:
		return wire.PublicKeys{}, err
	}
	return r.Device, nil
}

// PutTask implements tokensvc.Store.
func (s *serviceStore) PutTask(ctx context.Context, key string, t tokensvc.Task) error {
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutServiceTask(ctx, store.ServiceTask{Key: key, Fingerprint: hex.EncodeToString(t.Fingerprint[:]),
			Answer: string(t.Answer), CreatedAt: s.clock()})
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errServiceStore, err)
	}
	return nil
}

// Task implements tokensvc.Store.
func (s *serviceStore) Task(ctx context.Context, key string) (tokensvc.Task, bool, error) {
	var st store.ServiceTask
	err := s.db.View(ctx, func(tx *store.Tx) error {
		var err error
		st, err = tx.ServiceTask(ctx, key)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return tokensvc.Task{}, false, nil
	case err != nil:
		return tokensvc.Task{}, false, fmt.Errorf("%w: %w", errServiceStore, err)
	}
	fp, err := hex.DecodeString(st.Fingerprint)
	if err != nil || len(fp) != 32 {
		return tokensvc.Task{}, false, fmt.Errorf("%w: task %s: bad fingerprint", errServiceStore, key)
	}
	t := tokensvc.Task{Answer: []byte(st.Answer)}
	copy(t.Fingerprint[:], fp)
	return t, true, nil
}

// serviceReplay is the wire.ReplayCache of the token service the issuer
// operates: the envelopes it accepted are in the issuer's database, so a
// restarted service (or another instance on the same PostgreSQL database)
// still refuses them while they are valid (R-G4).
type serviceReplay struct {
	db issuerDB
}

// Use implements wire.ReplayCache.
func (r *serviceReplay) Use(id string, until, now time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var fresh bool
	err := r.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		fresh, err = tx.UseEnvelope(ctx, id, until, now)
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w: %w", wire.ErrCapacity, errServiceStore, err)
	case !fresh:
		return fmt.Errorf("%w: this envelope was already accepted", wire.ErrReplay)
	}
	return nil
}
