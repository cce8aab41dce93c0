package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// This file holds the state of the token service the issuer operates, so
// that it outlives the process: what the token service knows of each token
// besides the vault row (tsp_records: the requestor, the device's public
// keys, the step-up methods offered, delivery), the answers it gave to
// requests it must answer the same way when repeated (tsp_tasks), the
// envelopes it accepted while they could be replayed (tsp_envelopes), and
// what its bridge to the vault adds to a token row (tsp_tokens: the ID&V
// attempt, wallet account and device, and who holds a suspension) and to
// a card (pan_references). None of them holds a PAN or an expiry date:
// those stay in cards and tokens, encrypted. A token's state is the
// tokens row's; tsp_tokens only says who suspended it, and only for the
// status change it was written with (StatusAt).

// ServiceToken is what the token service's bridge adds to a token row:
// the ID&V attempt it was made under, the wallet account and the
// (normalised) device ID it is bound to, whether it was made pending a
// step-up, and the annotations of its current state: Awaiting (INACTIVE
// until the step-up succeeds) and SuspendedBy (the actors whose
// suspension holds). The annotations belong to the tokens row's status
// change at StatusAt: once the row changed otherwise (the issuer's own
// command), they no longer apply.
type ServiceToken struct {
	TokenID       string
	CorrelationID string
	WalletAccount string
	DeviceID      string
	StepUp        bool
	Awaiting      bool
	SuspendedBy   []string
	StatusAt      time.Time
	CreatedAt     time.Time
}

const serviceTokenCols = `token_id, correlation_id, wallet_account, device_id, step_up, awaiting, suspended_by, status_at, created_at`

// PutServiceToken creates or replaces the bridge's row of a token.
func (t *Tx) PutServiceToken(ctx context.Context, k ServiceToken) error {
	if k.TokenID == "" {
		return fmt.Errorf("%w: token service row of no token", ErrInvalid)
	}
	for _, a := range k.SuspendedBy {
		if a == "" || strings.Contains(a, ",") {
			return fmt.Errorf("%w: actor %q", ErrInvalid, a)
		}
	}
	_, err := t.exec(ctx, `INSERT INTO tsp_tokens (`+serviceTokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (token_id) DO UPDATE SET correlation_id = excluded.correlation_id, wallet_account = excluded.wallet_account,
device_id = excluded.device_id, step_up = excluded.step_up, awaiting = excluded.awaiting,
suspended_by = excluded.suspended_by, status_at = excluded.status_at`,
		k.TokenID, k.CorrelationID, k.WalletAccount, k.DeviceID, boolInt(k.StepUp), boolInt(k.Awaiting),
		strings.Join(k.SuspendedBy, ","), nanos(k.StatusAt), nanos(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put token service row %s: %w", k.TokenID, err)
	}
	return nil
}

func scanServiceToken(row interface{ Scan(...any) error }) (ServiceToken, error) {
	var k ServiceToken
	var step, await int
	var by string
	var sat, cat int64
	if err := row.Scan(&k.TokenID, &k.CorrelationID, &k.WalletAccount, &k.DeviceID, &step, &await, &by, &sat, &cat); err != nil {
		return ServiceToken{}, err
	}
	k.StepUp, k.Awaiting, k.StatusAt, k.CreatedAt = step != 0, await != 0, fromNanos(sat), fromNanos(cat)
	if by != "" {
		k.SuspendedBy = strings.Split(by, ",")
	}
	return k, nil
}

// ServiceToken returns the bridge's row of token id (ErrNotFound when the
// token service did not make it).
func (t *Tx) ServiceToken(ctx context.Context, id string) (ServiceToken, error) {
	k, err := scanServiceToken(t.queryRow(ctx, `SELECT `+serviceTokenCols+` FROM tsp_tokens WHERE token_id = ?`, id))
	if err != nil {
		return ServiceToken{}, notFound(err, "token service row "+id)
	}
	return k, nil
}

// ServiceTokensOfDevice lists the bridge's rows of the tokens bound to a
// device ID, oldest first.
func (t *Tx) ServiceTokensOfDevice(ctx context.Context, deviceID string) ([]ServiceToken, error) {
	rows, err := t.query(ctx, `SELECT `+serviceTokenCols+` FROM tsp_tokens WHERE device_id = ? ORDER BY created_at, token_id`, deviceID)
	if err != nil {
		return nil, fmt.Errorf("store: token service rows: %w", err)
	}
	defer rows.Close()
	var out []ServiceToken
	for rows.Next() {
		k, err := scanServiceToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: token service rows: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: token service rows: %w", err)
	}
	return out, nil
}

// PanReference returns the PAN unique reference of a card (ErrNotFound
// when none was given yet).
func (t *Tx) PanReference(ctx context.Context, cardID string) (string, error) {
	var par string
	if err := t.queryRow(ctx, `SELECT par FROM pan_references WHERE card_id = ?`, cardID).Scan(&par); err != nil {
		return "", notFound(err, "PAN reference of card "+cardID)
	}
	return par, nil
}

// PutPanReference gives card cardID the PAN unique reference par unless
// it has one, and returns the one it has.
func (t *Tx) PutPanReference(ctx context.Context, cardID, par string, at time.Time) (string, error) {
	if cardID == "" || par == "" {
		return "", fmt.Errorf("%w: PAN reference", ErrInvalid)
	}
	if _, err := t.exec(ctx, `INSERT INTO pan_references (card_id, par, created_at) VALUES (?, ?, ?) ON CONFLICT (card_id) DO NOTHING`,
		cardID, par, nanos(at)); err != nil {
		return "", fmt.Errorf("store: put PAN reference of card %s: %w", cardID, err)
	}
	return t.PanReference(ctx, cardID)
}

// ServiceRecord is the token service's own record of a token, in its
// encoding (Body), and the signing key ID of the device it is bound to
// (SignKID), by which an envelope the device signed finds its keys.
type ServiceRecord struct {
	TokenRef  string
	SignKID   string
	Body      string
	UpdatedAt time.Time
}

// PutServiceRecord creates or replaces the token service's record of a
// token.
func (t *Tx) PutServiceRecord(ctx context.Context, r ServiceRecord) error {
	if r.TokenRef == "" || r.Body == "" {
		return fmt.Errorf("%w: token service record", ErrInvalid)
	}
	_, err := t.exec(ctx, `INSERT INTO tsp_records (token_ref, sign_kid, body, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (token_ref) DO UPDATE SET sign_kid = excluded.sign_kid, body = excluded.body, updated_at = excluded.updated_at`,
		r.TokenRef, r.SignKID, r.Body, nanos(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put token service record: %w", err)
	}
	return nil
}

func (t *Tx) serviceRecord(ctx context.Context, where, arg string) (ServiceRecord, error) {
	var r ServiceRecord
	var at int64
	err := t.queryRow(ctx, `SELECT token_ref, sign_kid, body, updated_at FROM tsp_records WHERE `+where+
		` ORDER BY updated_at DESC, token_ref LIMIT 1`, arg).Scan(&r.TokenRef, &r.SignKID, &r.Body, &at)
	if err != nil {
		return ServiceRecord{}, notFound(err, "token service record")
	}
	r.UpdatedAt = fromNanos(at)
	return r, nil
}

// ServiceRecord returns the token service's record of a token.
func (t *Tx) ServiceRecord(ctx context.Context, tokenRef string) (ServiceRecord, error) {
	return t.serviceRecord(ctx, "token_ref = ?", tokenRef)
}

// ServiceRecordBySigner returns the newest record of a token bound to the
// device whose signing key ID is kid.
func (t *Tx) ServiceRecordBySigner(ctx context.Context, kid string) (ServiceRecord, error) {
	return t.serviceRecord(ctx, "sign_kid = ?", kid)
}

// ServiceTask is the answer the token service gave to a request it must
// answer alike when repeated: under its key (the caller and its task ID),
// a fingerprint of the request and the answer, in the token service's
// encoding.
type ServiceTask struct {
	Key         string
	Fingerprint string
	Answer      string
	CreatedAt   time.Time
}

// PutServiceTask records a task's answer; a task recorded already keeps
// its first answer.
func (t *Tx) PutServiceTask(ctx context.Context, k ServiceTask) error {
	if k.Key == "" || k.Fingerprint == "" {
		return fmt.Errorf("%w: token service task", ErrInvalid)
	}
	_, err := t.exec(ctx, `INSERT INTO tsp_tasks (task_key, fingerprint, answer, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT (task_key) DO NOTHING`, k.Key, k.Fingerprint, k.Answer, nanos(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put token service task: %w", err)
	}
	return nil
}

// ServiceTask returns a task's recorded answer (ErrNotFound when none).
func (t *Tx) ServiceTask(ctx context.Context, key string) (ServiceTask, error) {
	k := ServiceTask{Key: key}
	var at int64
	err := t.queryRow(ctx, `SELECT fingerprint, answer, created_at FROM tsp_tasks WHERE task_key = ?`, key).
		Scan(&k.Fingerprint, &k.Answer, &at)
	if err != nil {
		return ServiceTask{}, notFound(err, "token service task")
	}
	k.CreatedAt = fromNanos(at)
	return k, nil
}

// UseEnvelope records the ID of an envelope accepted at now and valid
// until until. It reports false, recording nothing, when the ID is
// recorded already and not past its time; entries past their time are
// forgotten.
func (t *Tx) UseEnvelope(ctx context.Context, id string, until, now time.Time) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("%w: envelope without ID", ErrInvalid)
	}
	if _, err := t.exec(ctx, `DELETE FROM tsp_envelopes WHERE expires_at <= ?`, nanos(now)); err != nil {
		return false, fmt.Errorf("store: envelopes: %w", err)
	}
	var u int64
	err := t.queryRow(ctx, `SELECT expires_at FROM tsp_envelopes WHERE id = ?`, id).Scan(&u)
	switch {
	case err == nil:
		return false, nil
	case !isNotFound(notFound(err, "envelope")):
		return false, fmt.Errorf("store: envelopes: %w", err)
	}
	if !until.After(now) {
		return true, nil
	}
	if _, err := t.exec(ctx, `INSERT INTO tsp_envelopes (id, expires_at) VALUES (?, ?)`, id, nanos(until)); err != nil {
		return false, fmt.Errorf("store: envelopes: %w", err)
	}
	return true, nil
}
