package authz

import (
	"errors"
	"fmt"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/issuerhost/cloud"
)

// The CVN names of the cloud-payment cards and tokens in the store, and
// the label suffix of an mc-cloud card's second (UMD) issuer master key.
const (
	CVNVisaCloud = "visa-cloud"
	CVNMCCloud   = "mc-cloud"
	// UMDKeySuffix is appended to an mc-cloud card's IMK label to name
	// its UMD issuer master key (MODEL).
	UMDKeySuffix = "/umd"
)

// cloudCVN is the emv/cloud CVN of a cloud CVN name, 0 for another.
func cloudCVN(name string) byte {
	switch name {
	case CVNVisaCloud:
		return emvcloud.CVNVisaCloud
	case CVNMCCloud:
		return emvcloud.CVNMCCloud
	}
	return 0
}

// tapReasons maps the cloud check's refusals to the engine's reasons.
var tapReasons = map[cloud.TapReason]Reason{
	cloud.TapIADInvalid:            FormatError,
	cloud.TapKeyNotIssued:          KeyNotIssued,
	cloud.TapKeyOtherDevice:        DeviceMismatch,
	cloud.TapDeviceSuspended:       DeviceLost,
	cloud.TapKeyUsed:               KeyUsed,
	cloud.TapKeyExpired:            KeyExpired,
	cloud.TapCryptogramInvalid:     ARQCInvalid,
	cloud.TapMDInvalid:             CloudMDInvalid,
	cloud.TapCardholderNotVerified: CloudUMDInvalid,
	cloud.TapPINLocked:             CloudPINLocked,
}

// verifyCloud checks a cloud card's cryptograms through the key ledger
// (stage 3): the key must be issued to the phone, unused, unexpired, its
// phone not suspended, and the cryptogram(s) must verify. The key's phone
// is the transaction's authenticated device; cardholder verification is
// what the cryptograms authenticate (cvmPolicy decides on it).
func (t *txn) verifyCloud() Reason {
	if t.e.cfg.Cloud == nil {
		return CheckNotAvailable
	}
	ref := t.card.ID
	if t.token != nil {
		ref = t.token.ID
	}
	dev := ""
	if t.req.DeviceID != "" {
		dev, _ = NormaliseDeviceID(t.req.DeviceID)
	}
	v, err := t.e.cfg.Cloud.Verify(cloud.Tap{
		Card: cloud.CloudCard{Ref: ref, PAN: t.req.PAN, PSN: t.psn, CVN: t.cloud, IMK: t.imkRef,
			MKMD: t.imkRef, MKUMD: t.imkRef + UMDKeySuffix},
		Tags: t.icc.tags, AC: t.arqc, DeviceID: dev,
		// The key's use commits with the authorisation.
		Store: cloud.TxStore{Ctx: t.ctx, Tx: t.tx, Now: t.now},
	})
	var te *cloud.TapError
	switch {
	case errors.As(err, &te) && te.Reason == cloud.TapCardholderNotVerified && v.DeviceID != "":
		// The key and its phone are authentic; the cardholder was not
		// verified on the phone: cvmPolicy decides (an online PIN may
		// stand in).
	case errors.As(err, &te):
		if r, ok := tapReasons[te.Reason]; ok {
			return r
		}
		return t.fail(fmt.Errorf("cloud check: %w", err))
	case err != nil:
		return t.fail(fmt.Errorf("cloud check: %w", err))
	}
	t.arqcOK, t.device, t.cloudCV = true, v.DeviceID, v.CardholderVerified
	return ""
}

// cloudCVM is cvmPolicy for a cloud card (R-S2e): the cardholder must be
// verified for every transaction, whatever the amount, by the
// cryptography (verifyCloud) or an online PIN; a claim of CDCVM or an
// offline PIN the cryptograms do not bear out declines.
func (t *txn) cloudCVM(pin bool, claims cvmClaims) Reason {
	switch {
	case pin:
		t.cvm = CVMOnlinePIN
	case t.cloudCV:
		t.cvm = CVMCDCVM
	default:
		t.cvm = CVMNone
	}
	if (claims.cdcvm && !t.cloudCV) || claims.offlinePIN {
		return CVMClaimUnverified
	}
	// Every transaction, a refund too (R-S2e).
	if !pin && !t.cloudCV {
		if t.cloud == emvcloud.CVNMCCloud {
			return CloudUMDInvalid
		}
		return CDCVMRequired
	}
	return ""
}
