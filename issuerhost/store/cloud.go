package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// This file holds the state of the HCE cloud platform the issuer operates
// and of the issuer's ledger of the cloud keys, so that both outlive the
// process. The platform's records (cloud_records: card accounts, bindings,
// registrations waiting for their OTP) are kept in the platform's own
// encoding; the card data in them is sealed under a data key of the
// security module before it reaches the store, and devices are known by
// their public keys only. The ledger (cloud_keys) names keys by their
// index or ATC, never holds one; cloud_devices holds what the issuer
// knows of each phone of a card account: suspended (lost, R-C1), and the
// consecutive wrong mobile PINs it saw (R-G3c).

// CloudRecord is one record of the cloud platform: its kind ("card",
// "binding", "pending"), its ID within the kind, and its body in the
// platform's encoding.
type CloudRecord struct {
	Kind      string
	ID        string
	Body      string
	UpdatedAt time.Time
}

// PutCloudRecord creates or replaces a record of the cloud platform.
func (t *Tx) PutCloudRecord(ctx context.Context, r CloudRecord) error {
	if r.Kind == "" || r.ID == "" {
		return fmt.Errorf("%w: cloud record without kind or ID", ErrInvalid)
	}
	_, err := t.exec(ctx, `INSERT INTO cloud_records (kind, id, body, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
		r.Kind, r.ID, r.Body, nanos(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put cloud %s %s: %w", r.Kind, r.ID, err)
	}
	return nil
}

// DeleteCloudRecord removes a record of the cloud platform; a missing one
// is no error.
func (t *Tx) DeleteCloudRecord(ctx context.Context, kind, id string) error {
	if _, err := t.exec(ctx, `DELETE FROM cloud_records WHERE kind = ? AND id = ?`, kind, id); err != nil {
		return fmt.Errorf("store: delete cloud %s %s: %w", kind, id, err)
	}
	return nil
}

// CloudRecords lists every record of the cloud platform, by kind and ID.
func (t *Tx) CloudRecords(ctx context.Context) ([]CloudRecord, error) {
	rows, err := t.query(ctx, `SELECT kind, id, body, updated_at FROM cloud_records ORDER BY kind, id`)
	if err != nil {
		return nil, fmt.Errorf("store: cloud records: %w", err)
	}
	defer rows.Close()
	var out []CloudRecord
	for rows.Next() {
		var r CloudRecord
		var at int64
		if err := rows.Scan(&r.Kind, &r.ID, &r.Body, &at); err != nil {
			return nil, fmt.Errorf("store: cloud records: %w", err)
		}
		r.UpdatedAt = fromNanos(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cloud records: %w", err)
	}
	return out, nil
}

// AppendCloudAudit appends an entry (the platform's encoding) to the cloud
// platform's audit trail.
func (t *Tx) AppendCloudAudit(ctx context.Context, at time.Time, body string) error {
	seq, err := t.nextSeq(ctx, "cloud_audit")
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, `INSERT INTO cloud_audit (seq, at, body) VALUES (?, ?, ?)`, seq, nanos(at), body); err != nil {
		return fmt.Errorf("store: cloud audit: %w", err)
	}
	return nil
}

// CloudAudit is the cloud platform's audit trail, oldest first.
func (t *Tx) CloudAudit(ctx context.Context) ([]string, error) {
	rows, err := t.query(ctx, `SELECT body FROM cloud_audit ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("store: cloud audit: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("store: cloud audit: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cloud audit: %w", err)
	}
	return out, nil
}

// CloudKey is the ledger's row of one cloud key: its kind ("luk" or
// "suk"), card account, key index or ATC (KeyID), the phone it was issued
// to, the account parameters index, when, and how often it served.
type CloudKey struct {
	Kind     string
	CardRef  string
	KeyID    uint32
	DeviceID string
	API      uint16
	IssuedAt time.Time
	Used     int
}

// PutCloudKey creates or replaces the ledger's row of a key.
func (t *Tx) PutCloudKey(ctx context.Context, k CloudKey) error {
	if k.Kind == "" || k.CardRef == "" || k.DeviceID == "" || k.Used < 0 {
		return fmt.Errorf("%w: cloud key", ErrInvalid)
	}
	_, err := t.exec(ctx, `INSERT INTO cloud_keys (kind, card_ref, key_id, device_id, api, issued_at, used) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, card_ref, key_id) DO UPDATE SET device_id = excluded.device_id, api = excluded.api,
issued_at = excluded.issued_at, used = excluded.used`,
		k.Kind, k.CardRef, int64(k.KeyID), k.DeviceID, int(k.API), nanos(k.IssuedAt), k.Used)
	if err != nil {
		return fmt.Errorf("store: put cloud key of %s: %w", k.CardRef, err)
	}
	return nil
}

// CloudKeys lists the ledger's rows.
func (t *Tx) CloudKeys(ctx context.Context) ([]CloudKey, error) {
	rows, err := t.query(ctx, `SELECT kind, card_ref, key_id, device_id, api, issued_at, used FROM cloud_keys ORDER BY card_ref, kind, key_id`)
	if err != nil {
		return nil, fmt.Errorf("store: cloud keys: %w", err)
	}
	defer rows.Close()
	var out []CloudKey
	for rows.Next() {
		var k CloudKey
		var id int64
		var api int
		var at int64
		if err := rows.Scan(&k.Kind, &k.CardRef, &id, &k.DeviceID, &api, &at, &k.Used); err != nil {
			return nil, fmt.Errorf("store: cloud keys: %w", err)
		}
		k.KeyID, k.API, k.IssuedAt = uint32(id), uint16(api), fromNanos(at)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cloud keys: %w", err)
	}
	return out, nil
}

// CloudDevice is what the issuer's ledger knows of one phone of a card
// account: suspended (reported lost), and its consecutive wrong mobile
// PINs and whether they locked it.
type CloudDevice struct {
	CardRef     string
	DeviceID    string
	Suspended   bool
	PINFailures int
	PINLocked   bool
	UpdatedAt   time.Time
}

// PutCloudDevice creates or replaces the ledger's row of a phone.
func (t *Tx) PutCloudDevice(ctx context.Context, d CloudDevice) error {
	if d.CardRef == "" || d.DeviceID == "" || d.PINFailures < 0 {
		return fmt.Errorf("%w: cloud device", ErrInvalid)
	}
	_, err := t.exec(ctx, `INSERT INTO cloud_devices (card_ref, device_id, suspended, pin_failures, pin_locked, updated_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (card_ref, device_id) DO UPDATE SET suspended = excluded.suspended, pin_failures = excluded.pin_failures,
pin_locked = excluded.pin_locked, updated_at = excluded.updated_at`,
		d.CardRef, d.DeviceID, boolInt(d.Suspended), d.PINFailures, boolInt(d.PINLocked), nanos(d.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put cloud device: %w", err)
	}
	return nil
}

// CloudDevices lists the ledger's rows of phones.
func (t *Tx) CloudDevices(ctx context.Context) ([]CloudDevice, error) {
	rows, err := t.query(ctx, `SELECT card_ref, device_id, suspended, pin_failures, pin_locked, updated_at FROM cloud_devices
ORDER BY card_ref, device_id`)
	if err != nil {
		return nil, fmt.Errorf("store: cloud devices: %w", err)
	}
	defer rows.Close()
	var out []CloudDevice
	for rows.Next() {
		var d CloudDevice
		var sus, locked int
		var at int64
		if err := rows.Scan(&d.CardRef, &d.DeviceID, &sus, &d.PINFailures, &locked, &at); err != nil {
			return nil, fmt.Errorf("store: cloud devices: %w", err)
		}
		d.Suspended, d.PINLocked, d.UpdatedAt = sus != 0, locked != 0, fromNanos(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cloud devices: %w", err)
	}
	return out, nil
}

// CloudKey reads the ledger's row of one key as this transaction sees it
// (ErrNotFound when there is none).
func (t *Tx) CloudKey(ctx context.Context, kind, cardRef string, keyID uint32) (CloudKey, error) {
	k := CloudKey{Kind: kind, CardRef: cardRef, KeyID: keyID}
	var api int
	var at int64
	err := t.queryRow(ctx, `SELECT device_id, api, issued_at, used FROM cloud_keys WHERE kind = ? AND card_ref = ? AND key_id = ?`,
		kind, cardRef, int64(keyID)).Scan(&k.DeviceID, &api, &at, &k.Used)
	if errors.Is(err, sql.ErrNoRows) {
		return CloudKey{}, fmt.Errorf("%w: cloud key of %s", ErrNotFound, cardRef)
	}
	if err != nil {
		return CloudKey{}, fmt.Errorf("store: cloud key of %s: %w", cardRef, err)
	}
	k.API, k.IssuedAt = uint16(api), fromNanos(at)
	return k, nil
}

// CloudDevice reads the ledger's row of one phone as this transaction
// sees it (ErrNotFound when there is none).
func (t *Tx) CloudDevice(ctx context.Context, cardRef, deviceID string) (CloudDevice, error) {
	d := CloudDevice{CardRef: cardRef, DeviceID: deviceID}
	var susp, locked int
	var at int64
	err := t.queryRow(ctx, `SELECT suspended, pin_failures, pin_locked, updated_at FROM cloud_devices WHERE card_ref = ? AND device_id = ?`,
		cardRef, deviceID).Scan(&susp, &d.PINFailures, &locked, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return CloudDevice{}, fmt.Errorf("%w: cloud device", ErrNotFound)
	}
	if err != nil {
		return CloudDevice{}, fmt.Errorf("store: cloud device: %w", err)
	}
	d.Suspended, d.PINLocked, d.UpdatedAt = susp != 0, locked != 0, fromNanos(at)
	return d, nil
}
