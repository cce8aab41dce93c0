package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/cloudsvc"
)

// TxRunner runs transactions on an issuer database (*store.DB).
type TxRunner interface {
	Update(ctx context.Context, fn func(*store.Tx) error) error
	View(ctx context.Context, fn func(*store.Tx) error) error
}

var errCloudStore = errors.New("lab: cloud platform store")

// CloudStore is the cloud platform's cloudsvc.Store in the issuer's
// database (store.CloudRecord, the cloud audit trail): the platform's
// records in its own encoding, whose card data and mobile PINs are sealed
// under the security module's data key before they get here.
type CloudStore struct {
	DB    TxRunner
	Clock func() time.Time
}

func (s CloudStore) now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock()
}

// Load implements cloudsvc.Store.
func (s CloudStore) Load() ([]cloudsvc.Record, []cloudsvc.AuditEntry, error) {
	ctx := context.Background()
	var recs []store.CloudRecord
	var audit []string
	err := s.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		if recs, err = tx.CloudRecords(ctx); err != nil {
			return err
		}
		audit, err = tx.CloudAudit(ctx)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errCloudStore, err)
	}
	out := make([]cloudsvc.Record, 0, len(recs))
	for _, r := range recs {
		out = append(out, cloudsvc.Record{Kind: r.Kind, ID: r.ID, Body: []byte(r.Body)})
	}
	entries := make([]cloudsvc.AuditEntry, 0, len(audit))
	for _, a := range audit {
		var e cloudsvc.AuditEntry
		if err := json.Unmarshal([]byte(a), &e); err != nil {
			return nil, nil, fmt.Errorf("%w: audit entry: %w", errCloudStore, err)
		}
		entries = append(entries, e)
	}
	return out, entries, nil
}

// Put implements cloudsvc.Store.
func (s CloudStore) Put(r cloudsvc.Record) error {
	ctx := context.Background()
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.PutCloudRecord(ctx, store.CloudRecord{Kind: r.Kind, ID: r.ID, Body: string(r.Body), UpdatedAt: s.now()})
	})
}

// Delete implements cloudsvc.Store.
func (s CloudStore) Delete(kind, id string) error {
	ctx := context.Background()
	return s.DB.Update(ctx, func(tx *store.Tx) error { return tx.DeleteCloudRecord(ctx, kind, id) })
}

// Audit implements cloudsvc.Store.
func (s CloudStore) Audit(e cloudsvc.AuditEntry) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("%w: %w", errCloudStore, err)
	}
	ctx := context.Background()
	return s.DB.Update(ctx, func(tx *store.Tx) error { return tx.AppendCloudAudit(ctx, e.At, string(body)) })
}
