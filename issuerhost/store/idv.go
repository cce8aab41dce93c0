package store

import (
	"context"
	"fmt"
	"time"
)

// This file holds the issuer's side of provisioning (issuerhost/idv): the
// cardholder's registered contacts, the ID&V attempts of the token
// service, the one-time passwords sent for them (as keyed hashes only),
// the message centre, each card's provisioning state (consecutive wrong
// entries and the lock of R-G3c) and the tokens the token service told
// the issuer about. No table holds a PAN, a security code or an OTP.

// CardContact is where a card's holder is reached: the registered mobile
// phone number (E.164, e.g. +886912345678), the e-mail address and
// whether the holder uses the issuer's app.
type CardContact struct {
	CardID    string
	Phone     string // "" for none
	Email     string // "" for none
	IssuerApp bool
	UpdatedAt time.Time
}

// PutCardContact creates or replaces a card's contacts.
func (t *Tx) PutCardContact(ctx context.Context, c CardContact) error {
	if c.CardID == "" {
		return fmt.Errorf("%w: contact of no card", ErrInvalid)
	}
	_, err := t.exec(ctx, `INSERT INTO card_contacts (card_id, phone, email, issuer_app, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (card_id) DO UPDATE SET phone = excluded.phone, email = excluded.email, issuer_app = excluded.issuer_app,
updated_at = excluded.updated_at`, c.CardID, c.Phone, c.Email, boolInt(c.IssuerApp), nanos(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put contact of card %s: %w", c.CardID, err)
	}
	return nil
}

// CardContact returns a card's contacts (ErrNotFound when none).
func (t *Tx) CardContact(ctx context.Context, cardID string) (CardContact, error) {
	c := CardContact{CardID: cardID}
	var app int
	var at int64
	err := t.queryRow(ctx, `SELECT phone, email, issuer_app, updated_at FROM card_contacts WHERE card_id = ?`, cardID).
		Scan(&c.Phone, &c.Email, &app, &at)
	if err != nil {
		return CardContact{}, notFound(err, "contact of card "+cardID)
	}
	c.IssuerApp, c.UpdatedAt = app != 0, fromNanos(at)
	return c, nil
}

// IDVAttempt is one ID&V request of the token service, under its
// correlation ID: the card it named (empty when none was found), the token
// requestor and device, the decision and reason given, the rest of the
// answer (the step-up methods offered with masked values; its encoding is
// the caller's), a digest
// of the request (to tell a retry from another request under the same
// correlation ID) and whether the cardholder has since been verified.
type IDVAttempt struct {
	CorrelationID string
	CardID        string
	RequestorID   string
	DeviceID      string
	Decision      string
	Reason        string
	Answer        string
	RequestDigest string
	Verified      bool
	VerifiedBy    string // "otp", "passcode"
	VerifiedAt    time.Time
	Locked        bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const idvCols = `correlation_id, card_id, requestor_id, device_id, decision, reason, answer, request_digest, verified,
verified_by, verified_at, locked, created_at, updated_at`

// PutIDVAttempt records a new attempt; one whose correlation ID is
// already recorded is ErrExists.
func (t *Tx) PutIDVAttempt(ctx context.Context, a IDVAttempt) error {
	if a.CorrelationID == "" || a.Decision == "" {
		return fmt.Errorf("%w: ID&V attempt without correlation ID or decision", ErrInvalid)
	}
	_, err := t.exec(ctx, `INSERT INTO idv_attempts (`+idvCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.CorrelationID, a.CardID, a.RequestorID, a.DeviceID, a.Decision, a.Reason, a.Answer, a.RequestDigest,
		boolInt(a.Verified), a.VerifiedBy, nanos(a.VerifiedAt), boolInt(a.Locked), nanos(a.CreatedAt), nanos(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put ID&V attempt: %w", err)
	}
	return nil
}

// UpdateIDVAttempt writes an attempt's decision, verification and lock.
func (t *Tx) UpdateIDVAttempt(ctx context.Context, a IDVAttempt) error {
	res, err := t.exec(ctx, `UPDATE idv_attempts SET decision = ?, reason = ?, answer = ?, verified = ?, verified_by = ?,
verified_at = ?, locked = ?, updated_at = ? WHERE correlation_id = ?`,
		a.Decision, a.Reason, a.Answer, boolInt(a.Verified), a.VerifiedBy, nanos(a.VerifiedAt), boolInt(a.Locked),
		nanos(a.UpdatedAt), a.CorrelationID)
	if err != nil {
		return fmt.Errorf("store: update ID&V attempt: %w", err)
	}
	return mustAffect(res, "ID&V attempt")
}

// IDVAttempt returns the attempt of a correlation ID.
func (t *Tx) IDVAttempt(ctx context.Context, correlationID string) (IDVAttempt, error) {
	var a IDVAttempt
	var verified, locked int
	var vat, cat, uat int64
	err := t.queryRow(ctx, `SELECT `+idvCols+` FROM idv_attempts WHERE correlation_id = ?`, correlationID).Scan(
		&a.CorrelationID, &a.CardID, &a.RequestorID, &a.DeviceID, &a.Decision, &a.Reason, &a.Answer, &a.RequestDigest,
		&verified, &a.VerifiedBy, &vat, &locked, &cat, &uat)
	if err != nil {
		return IDVAttempt{}, notFound(err, "ID&V attempt")
	}
	a.Verified, a.Locked = verified != 0, locked != 0
	a.VerifiedAt, a.CreatedAt, a.UpdatedAt = fromNanos(vat), fromNanos(cat), fromNanos(uat)
	return a, nil
}

// CountIDVAttempts is the number of attempts recorded for a card.
func (t *Tx) CountIDVAttempts(ctx context.Context, cardID string) (int, error) {
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM idv_attempts WHERE card_id = ?`, cardID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count ID&V attempts: %w", err)
	}
	return n, nil
}

// OTP is the one-time password of an ID&V attempt: only its keyed hash,
// the step-up method it went by, when it was sent, when it expires and
// when it was used, and how many OTPs the attempt was sent in all. An
// attempt has one OTP at a time; sending another replaces it.
type OTP struct {
	CorrelationID string
	MethodID      string
	Hash          string // hex keyed hash of the OTP, never the OTP
	Sends         int
	IssuedAt      time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time
}

// PutOTP records the OTP of an attempt, replacing the one before.
func (t *Tx) PutOTP(ctx context.Context, o OTP) error {
	if o.CorrelationID == "" || o.Hash == "" || o.Sends < 0 {
		return fmt.Errorf("%w: OTP without attempt or hash", ErrInvalid)
	}
	_, err := t.exec(ctx, `INSERT INTO otps (correlation_id, method_id, hash, sends, issued_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (correlation_id) DO UPDATE SET method_id = excluded.method_id, hash = excluded.hash, sends = excluded.sends,
issued_at = excluded.issued_at, expires_at = excluded.expires_at, used_at = excluded.used_at`,
		o.CorrelationID, o.MethodID, o.Hash, o.Sends, nanos(o.IssuedAt), nanos(o.ExpiresAt), nanos(o.UsedAt))
	if err != nil {
		return fmt.Errorf("store: put OTP: %w", err)
	}
	return nil
}

// OTP returns the current OTP of an attempt.
func (t *Tx) OTP(ctx context.Context, correlationID string) (OTP, error) {
	o := OTP{CorrelationID: correlationID}
	var iat, eat, uat int64
	err := t.queryRow(ctx, `SELECT method_id, hash, sends, issued_at, expires_at, used_at FROM otps WHERE correlation_id = ?`,
		correlationID).Scan(&o.MethodID, &o.Hash, &o.Sends, &iat, &eat, &uat)
	if err != nil {
		return OTP{}, notFound(err, "OTP")
	}
	o.IssuedAt, o.ExpiresAt, o.UsedAt = fromNanos(iat), fromNanos(eat), fromNanos(uat)
	return o, nil
}

// UseOTP marks the OTP of an attempt used; an OTP already used is
// ErrNotFound (it is used once).
func (t *Tx) UseOTP(ctx context.Context, correlationID string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE otps SET used_at = ? WHERE correlation_id = ? AND used_at = 0`, nanos(at), correlationID)
	if err != nil {
		return fmt.Errorf("store: use OTP: %w", err)
	}
	return mustAffect(res, "unused OTP")
}

// Message is one message of the message centre: to a cardholder's
// registered phone number or e-mail address, or to a device ID, by a
// channel ("sms", "email", "app", "device"). It is the one place an OTP
// may be seen, as a real SMS would show it.
type Message struct {
	Seq       int64
	At        time.Time
	Recipient string
	Channel   string
	Kind      string // "otp", "token-created", "activated", ...
	Body      string
}

// PostMessage appends a message and returns its sequence number.
func (t *Tx) PostMessage(ctx context.Context, m Message) (int64, error) {
	if m.Recipient == "" || m.Channel == "" {
		return 0, fmt.Errorf("%w: message without recipient or channel", ErrInvalid)
	}
	seq, err := t.nextSeq(ctx, "messages")
	if err != nil {
		return 0, err
	}
	_, err = t.exec(ctx, `INSERT INTO messages (seq, at, recipient, channel, kind, body) VALUES (?, ?, ?, ?, ?, ?)`,
		seq, nanos(m.At), m.Recipient, m.Channel, m.Kind, m.Body)
	if err != nil {
		return 0, fmt.Errorf("store: post message: %w", err)
	}
	return seq, nil
}

// Inbox returns the last n messages to recipient (all when n <= 0),
// oldest first.
func (t *Tx) Inbox(ctx context.Context, recipient string, n int) ([]Message, error) {
	q := `SELECT seq, at, recipient, channel, kind, body FROM messages WHERE recipient = ? ORDER BY seq DESC`
	args := []any{recipient}
	if n > 0 {
		q += ` LIMIT ?`
		args = append(args, n)
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: inbox: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var at int64
		if err := rows.Scan(&m.Seq, &at, &m.Recipient, &m.Channel, &m.Kind, &m.Body); err != nil {
			return nil, fmt.Errorf("store: inbox: %w", err)
		}
		m.At = fromNanos(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: inbox: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Provisioning is a card's provisioning state: the consecutive wrong
// entries (security codes, OTPs) across its ID&V attempts, and the lock
// that stops every attempt after too many, until the issuer's service
// centre resets it (R-G3c).
type Provisioning struct {
	CardID     string
	Failures   int
	Locked     bool
	LockedAt   time.Time
	LockReason string
	ResetAt    time.Time
	ResetBy    string
	UpdatedAt  time.Time
}

// Provisioning returns a card's provisioning state; a card never seen
// has the zero state (not locked, no failures).
func (t *Tx) Provisioning(ctx context.Context, cardID string) (Provisioning, error) {
	p := Provisioning{CardID: cardID}
	var locked int
	var lat, rat, uat int64
	err := t.queryRow(ctx, `SELECT failures, locked, locked_at, lock_reason, reset_at, reset_by, updated_at
FROM card_provisioning WHERE card_id = ?`, cardID).Scan(&p.Failures, &locked, &lat, &p.LockReason, &rat, &p.ResetBy, &uat)
	if err != nil {
		err = notFound(err, "provisioning of card "+cardID)
		if isNotFound(err) {
			return p, nil
		}
		return Provisioning{}, err
	}
	p.Locked, p.LockedAt, p.ResetAt, p.UpdatedAt = locked != 0, fromNanos(lat), fromNanos(rat), fromNanos(uat)
	return p, nil
}

// PutProvisioning writes a card's provisioning state.
func (t *Tx) PutProvisioning(ctx context.Context, p Provisioning) error {
	if p.CardID == "" || p.Failures < 0 {
		return fmt.Errorf("%w: provisioning state of card %q", ErrInvalid, p.CardID)
	}
	_, err := t.exec(ctx, `INSERT INTO card_provisioning (card_id, failures, locked, locked_at, lock_reason, reset_at, reset_by, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (card_id) DO UPDATE SET failures = excluded.failures, locked = excluded.locked, locked_at = excluded.locked_at,
lock_reason = excluded.lock_reason, reset_at = excluded.reset_at, reset_by = excluded.reset_by, updated_at = excluded.updated_at`,
		p.CardID, p.Failures, boolInt(p.Locked), nanos(p.LockedAt), p.LockReason, nanos(p.ResetAt), p.ResetBy, nanos(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put provisioning of card %s: %w", p.CardID, err)
	}
	return nil
}

// CardToken is what the token service told the issuer about one token of
// a card: under which ID&V attempt it was made, for which device and
// token requestor, when the token was created, downloaded to the device
// and activated, and how the cardholder was verified for the activation.
type CardToken struct {
	TokenRef      string
	CardID        string
	CorrelationID string
	DeviceID      string
	RequestorID   string
	CreatedAt     time.Time // token created (notification), zero until told
	DownloadedAt  time.Time // download complete (notification), zero until told
	ActivatedAt   time.Time // zero until activated
	ActivatedBy   string
	FirstSeenAt   time.Time // the first notification of either kind
}

const cardTokenCols = `token_ref, card_id, correlation_id, device_id, requestor_id, created_at, downloaded_at, activated_at,
activated_by, first_seen_at`

// PutCardToken creates or replaces a card's token record.
func (t *Tx) PutCardToken(ctx context.Context, k CardToken) error {
	if k.TokenRef == "" || k.CardID == "" {
		return fmt.Errorf("%w: token record without reference or card", ErrInvalid)
	}
	_, err := t.exec(ctx, `INSERT INTO card_tokens (`+cardTokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (token_ref) DO UPDATE SET card_id = excluded.card_id, correlation_id = excluded.correlation_id,
device_id = excluded.device_id, requestor_id = excluded.requestor_id, created_at = excluded.created_at,
downloaded_at = excluded.downloaded_at, activated_at = excluded.activated_at, activated_by = excluded.activated_by,
first_seen_at = excluded.first_seen_at`,
		k.TokenRef, k.CardID, k.CorrelationID, k.DeviceID, k.RequestorID, nanos(k.CreatedAt), nanos(k.DownloadedAt),
		nanos(k.ActivatedAt), k.ActivatedBy, nanos(k.FirstSeenAt))
	if err != nil {
		return fmt.Errorf("store: put token record: %w", err)
	}
	return nil
}

func scanCardToken(row interface{ Scan(...any) error }) (CardToken, error) {
	var k CardToken
	var cat, dat, aat, fat int64
	if err := row.Scan(&k.TokenRef, &k.CardID, &k.CorrelationID, &k.DeviceID, &k.RequestorID, &cat, &dat, &aat,
		&k.ActivatedBy, &fat); err != nil {
		return CardToken{}, err
	}
	k.CreatedAt, k.DownloadedAt, k.ActivatedAt, k.FirstSeenAt = fromNanos(cat), fromNanos(dat), fromNanos(aat), fromNanos(fat)
	return k, nil
}

// CardToken returns the record of a token reference.
func (t *Tx) CardToken(ctx context.Context, tokenRef string) (CardToken, error) {
	k, err := scanCardToken(t.queryRow(ctx, `SELECT `+cardTokenCols+` FROM card_tokens WHERE token_ref = ?`, tokenRef))
	if err != nil {
		return CardToken{}, notFound(err, "token record")
	}
	return k, nil
}

// CardTokens returns the token records of a card, by reference.
func (t *Tx) CardTokens(ctx context.Context, cardID string) ([]CardToken, error) {
	rows, err := t.query(ctx, `SELECT `+cardTokenCols+` FROM card_tokens WHERE card_id = ? ORDER BY token_ref`, cardID)
	if err != nil {
		return nil, fmt.Errorf("store: token records: %w", err)
	}
	defer rows.Close()
	var out []CardToken
	for rows.Next() {
		k, err := scanCardToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: token records: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: token records: %w", err)
	}
	return out, nil
}
