package store

import (
	"context"
	"fmt"
	"time"
)

// DeviceStatus is the state of a phone registered for a token.
type DeviceStatus string

// Device states.
const (
	DeviceActive DeviceStatus = "active"
	DeviceLost   DeviceStatus = "lost"
)

// Device is a phone bound to a token by its hardware device ID (upper-case
// hex, R-S5d). One token's account may be bound to several phones.
type Device struct {
	DeviceID     string
	TokenID      string
	Status       DeviceStatus
	RegisteredAt time.Time
	StatusAt     time.Time
}

// KeyStatus is the state of a single-use key issued to a phone.
type KeyStatus string

// Single-use key states.
const (
	KeyIssued KeyStatus = "issued"
	KeyUsed   KeyStatus = "used"
	KeyVoid   KeyStatus = "void"
)

// HCEKey records a single-use transaction key issued to a phone for one
// ATC of a token (R-S5b). The key itself is never stored: the issuer
// derives it again from the master key when the cryptogram arrives.
type HCEKey struct {
	TokenID   string
	ATC       uint16
	DeviceID  string
	IssuedAt  time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
	Status    KeyStatus
}

// PutDevice registers (or updates) a phone for a token.
func (t *Tx) PutDevice(ctx context.Context, d Device) error {
	if d.DeviceID == "" || d.TokenID == "" {
		return fmt.Errorf("%w: device", ErrInvalid)
	}
	if d.Status == "" {
		d.Status = DeviceActive
	}
	if d.Status != DeviceActive && d.Status != DeviceLost {
		return fmt.Errorf("%w: device status %q", ErrInvalid, d.Status)
	}
	_, err := t.exec(ctx, `INSERT INTO devices (device_id, token_id, status, registered_at, status_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (device_id, token_id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at`,
		d.DeviceID, d.TokenID, string(d.Status), nanos(d.RegisteredAt), nanos(d.StatusAt))
	if err != nil {
		return fmt.Errorf("store: put device: %w", err)
	}
	return nil
}

func (t *Tx) devices(ctx context.Context, where string, arg string) ([]Device, error) {
	rows, err := t.query(ctx, `SELECT device_id, token_id, status, registered_at, status_at FROM devices WHERE `+where+
		` ORDER BY device_id, token_id`, arg)
	if err != nil {
		return nil, fmt.Errorf("store: devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		var d Device
		var st string
		var reg, at int64
		if err := rows.Scan(&d.DeviceID, &d.TokenID, &st, &reg, &at); err != nil {
			return nil, fmt.Errorf("store: devices: %w", err)
		}
		d.Status, d.RegisteredAt, d.StatusAt = DeviceStatus(st), fromNanos(reg), fromNanos(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: devices: %w", err)
	}
	return out, nil
}

// Device returns the registration of phone deviceID for token tokenID.
func (t *Tx) Device(ctx context.Context, deviceID, tokenID string) (Device, error) {
	var d Device
	var st string
	var reg, at int64
	err := t.queryRow(ctx, `SELECT device_id, token_id, status, registered_at, status_at FROM devices
WHERE device_id = ? AND token_id = ?`, deviceID, tokenID).Scan(&d.DeviceID, &d.TokenID, &st, &reg, &at)
	if err != nil {
		return Device{}, notFound(err, "device "+deviceID+" for token "+tokenID)
	}
	d.Status, d.RegisteredAt, d.StatusAt = DeviceStatus(st), fromNanos(reg), fromNanos(at)
	return d, nil
}

// DevicesByID lists the registrations of one phone (one per token).
func (t *Tx) DevicesByID(ctx context.Context, deviceID string) ([]Device, error) {
	return t.devices(ctx, "device_id = ?", deviceID)
}

// DevicesOfToken lists the phones registered for a token.
func (t *Tx) DevicesOfToken(ctx context.Context, tokenID string) ([]Device, error) {
	return t.devices(ctx, "token_id = ?", tokenID)
}

// SetDeviceStatus changes the state of every registration of a phone and
// returns how many there were.
func (t *Tx) SetDeviceStatus(ctx context.Context, deviceID string, s DeviceStatus, at time.Time) (int, error) {
	if s != DeviceActive && s != DeviceLost {
		return 0, fmt.Errorf("%w: device status %q", ErrInvalid, s)
	}
	res, err := t.exec(ctx, `UPDATE devices SET status = ?, status_at = ? WHERE device_id = ?`, string(s), nanos(at), deviceID)
	if err != nil {
		return 0, fmt.Errorf("store: device status: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: device status: %w", err)
	}
	return int(n), nil
}

// IssueKeys records that the single-use keys of token tokenID for ATCs
// first .. first+n-1 were issued to phone deviceID, valid until expires.
// An ATC already issued (to any phone) is refused with ErrExists and
// nothing is recorded: a key serves one transaction only (R-S5b).
func (t *Tx) IssueKeys(ctx context.Context, tokenID, deviceID string, first uint16, n int, issued, expires time.Time) error {
	if n < 1 || int(first)+n-1 > 0xFFFF || tokenID == "" || deviceID == "" {
		return fmt.Errorf("%w: key batch of %d from ATC %04X", ErrInvalid, n, first)
	}
	var taken int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM hce_keys WHERE token_id = ? AND atc >= ? AND atc <= ?`,
		tokenID, int(first), int(first)+n-1).Scan(&taken); err != nil {
		return fmt.Errorf("store: issue keys: %w", err)
	}
	if taken > 0 {
		return fmt.Errorf("%w: %d keys of ATC %04X..%04X already issued", ErrExists, taken, first, int(first)+n-1)
	}
	for i := range n {
		if _, err := t.exec(ctx, `INSERT INTO hce_keys (token_id, atc, device_id, issued_at, expires_at, used_at, status)
VALUES (?, ?, ?, ?, ?, 0, ?)`, tokenID, int(first)+i, deviceID, nanos(issued), nanos(expires), string(KeyIssued)); err != nil {
			return fmt.Errorf("store: issue keys: %w", err)
		}
	}
	return nil
}

// HCEKey returns the key record of token tokenID for atc.
func (t *Tx) HCEKey(ctx context.Context, tokenID string, atc uint16) (HCEKey, error) {
	k := HCEKey{TokenID: tokenID, ATC: atc}
	var st string
	var issued, expires, used int64
	err := t.queryRow(ctx, `SELECT device_id, issued_at, expires_at, used_at, status FROM hce_keys WHERE token_id = ? AND atc = ?`,
		tokenID, int(atc)).Scan(&k.DeviceID, &issued, &expires, &used, &st)
	if err != nil {
		return HCEKey{}, notFound(err, fmt.Sprintf("key of token %s ATC %04X", tokenID, atc))
	}
	k.IssuedAt, k.ExpiresAt, k.UsedAt, k.Status = fromNanos(issued), fromNanos(expires), fromNanos(used), KeyStatus(st)
	return k, nil
}

// UseKey marks the key of token tokenID for atc used at time at. It fails
// with ErrNotFound unless the key is in the issued state.
func (t *Tx) UseKey(ctx context.Context, tokenID string, atc uint16, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE hce_keys SET status = ?, used_at = ? WHERE token_id = ? AND atc = ? AND status = ?`,
		string(KeyUsed), nanos(at), tokenID, int(atc), string(KeyIssued))
	if err != nil {
		return fmt.Errorf("store: use key: %w", err)
	}
	return mustAffect(res, fmt.Sprintf("issued key of token %s ATC %04X", tokenID, atc))
}

// VoidDeviceKeys voids every unused key issued to phone deviceID (a lost
// phone, R-C1) and returns how many.
func (t *Tx) VoidDeviceKeys(ctx context.Context, deviceID string, at time.Time) (int, error) {
	res, err := t.exec(ctx, `UPDATE hce_keys SET status = ?, used_at = ? WHERE device_id = ? AND status = ?`,
		string(KeyVoid), nanos(at), deviceID, string(KeyIssued))
	if err != nil {
		return 0, fmt.Errorf("store: void keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: void keys: %w", err)
	}
	return int(n), nil
}

// KeyCounts returns, for the keys of token tokenID issued to phone
// deviceID, how many are still usable at now (issued, not expired) and the
// highest ATC ever issued for the token (any phone; ok false when none).
func (t *Tx) KeyCounts(ctx context.Context, tokenID, deviceID string, now time.Time) (usable int, highest uint16, ok bool, err error) {
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM hce_keys WHERE token_id = ? AND device_id = ? AND status = ? AND expires_at > ?`,
		tokenID, deviceID, string(KeyIssued), nanos(now)).Scan(&usable); err != nil {
		return 0, 0, false, fmt.Errorf("store: key counts: %w", err)
	}
	var maxATC *int64
	if err := t.queryRow(ctx, `SELECT MAX(atc) FROM hce_keys WHERE token_id = ?`, tokenID).Scan(&maxATC); err != nil {
		return 0, 0, false, fmt.Errorf("store: key counts: %w", err)
	}
	if maxATC == nil {
		return usable, 0, false, nil
	}
	return usable, uint16(*maxATC), true, nil
}
