// Package cloud is the issuer's side of the HCE cloud platform it operates
// (provision/cloudsvc): the Ledger records which limited-use key
// (visa-cloud, by key index) or single-use key pair (mc-cloud, by ATC) of
// which card account went to which phone, and which phones are suspended;
// the Verifier checks a tap's cryptogram(s) against it in the security
// module, with one TapReason per refusal (R-S5b, R-S2e). The
// authorisation engine uses it for the cards and tokens of a cloud CVN
// (authz.Config.Cloud). DBStore and TxStore keep the ledger in the
// issuer's database.
//
// ReportLost is the issuer's vault side of a lost phone (R-C1): the
// tokens registered for the phone are suspended and it is marked lost;
// the cloud platform suspends its own bindings and keys (cloudsvc).
package cloud

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

// Actor is the audit trail's name for the platform.
const Actor = "cloud-platform"

// ErrDevice reports a phone that is not registered in the vault, or
// whose ID is malformed.
var ErrDevice = errors.New("cloud: device not usable")

// normalise writes a device ID as 8 bytes of upper-case hex, padded on the
// right with zeros (the form the phone puts in 9F10).
func normalise(id string) (string, error) {
	const hexDigits = "0123456789ABCDEFabcdef"
	if len(id) == 0 || len(id) > 16 || len(id)%2 != 0 {
		return "", fmt.Errorf("%w: device ID must be 1 to 8 bytes of hex", ErrDevice)
	}
	out := []byte(id)
	for i, c := range out {
		if !containsByte(hexDigits, c) {
			return "", fmt.Errorf("%w: device ID must be hex", ErrDevice)
		}
		if c >= 'a' && c <= 'f' {
			out[i] = c - 'a' + 'A'
		}
	}
	for len(out) < 16 {
		out = append(out, '0')
	}
	return string(out), nil
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// LostReport is what a lost-phone report did.
type LostReport struct {
	DeviceID        string
	TokensSuspended []string
}

// ReportLost handles a lost or stolen phone (R-C1) in the issuer's vault
// db, at time now: at once, in one transaction, the phone's registrations
// are marked lost and every token bound to it is suspended, so that no
// tap from it is approved any more; the cloud platform suspends the
// phone's keys in its ledger.
func ReportLost(ctx context.Context, db *store.DB, deviceID, reason string, now time.Time) (LostReport, error) {
	id, err := normalise(deviceID)
	if err != nil {
		return LostReport{}, err
	}
	rep := LostReport{DeviceID: id}
	err = db.Update(ctx, func(tx *store.Tx) error {
		regs, err := tx.DevicesByID(ctx, id)
		if err != nil {
			return err
		}
		if len(regs) == 0 {
			return fmt.Errorf("%w: %s is not registered", ErrDevice, id)
		}
		if _, err := tx.SetDeviceStatus(ctx, id, store.DeviceLost, now); err != nil {
			return err
		}
		for _, d := range regs {
			changed, err := vault.SetStatus(ctx, tx, d.TokenID, store.TokenSuspended, Actor, "phone "+id+" reported lost: "+reason, now)
			if err != nil && !errors.Is(err, vault.ErrTransition) {
				return err
			}
			if changed {
				rep.TokensSuspended = append(rep.TokensSuspended, d.TokenID)
			}
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: "device.lost", Subject: "device " + id,
			Detail: fmt.Sprintf("%s; %d tokens suspended (R-C1)", reason, len(rep.TokensSuspended))})
	})
	if err != nil {
		return LostReport{}, err
	}
	return rep, nil
}
