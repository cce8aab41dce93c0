package lab

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/otaagent"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire"
)

// RemoteSEOptions reach the TSMs running as their own processes (tapsim
// tsm sp|se) with the parties' files of a PKI directory.
type RemoteSEOptions struct {
	PKI ProvisioningPKI
	// SPURL is the SP TSM; SEURL the SE TSM's back office, where the SE
	// operator registers the phone's SE; OTAURL its OTA listener
	// (https://host:port each).
	SPURL, SEURL, OTAURL string
	// AcquirerAddr is the acquirer a tap goes to.
	AcquirerAddr string
	// IssuerData is the running issuer's data directory (required): the
	// issuer's ID&V sends the cardholder's code by SMS (read from the
	// inbox there) and checks it for the SP TSM, which must run with
	// --issuer-idv.
	IssuerData string
	Clock      func() time.Time
	Rand       io.Reader
}

// RemoteSERequest is one over-the-air personalisation against them.
type RemoteSERequest struct {
	// Profile is the se-phone sample, Device the new phone's ID.
	Profile, Device string
	// Shared: the SE operator shares the SE (R-M2).
	Shared bool
	// OTP is what the cardholder types; the code the issuer handed over
	// when empty.
	OTP string
	// TapAmount, when positive, taps the phone at the acquirer.
	TapAmount int64
}

// RemoteSEResult is how it ended.
type RemoteSEResult struct {
	OrderID, SEID, Outcome string
	Apps                   int
	// ResponseCode is the tap's DE39.
	ResponseCode isospec.ResponseCode
}

// PersonaliseRemoteSE plays the SE operator, the issuer and the phone
// against running TSMs: the operator issues a new phone's SE and registers
// it, its ISD keys sealed to the SE TSM; the issuer prepares the data and
// orders the download at the SP TSM (its ID&V, through o.IssuerData,
// sends the cardholder's code and checks it for the SP TSM); the phone's OTA agent
// relays the download. Each step goes to step, each OTA
// command (name and status word) to trace.
func PersonaliseRemoteSE(ctx context.Context, o RemoteSEOptions, r RemoteSERequest, step, trace func(string)) (RemoteSEResult, error) {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if r.TapAmount > 0 && o.AcquirerAddr == "" {
		return RemoteSEResult{}, errors.New("a tap needs the acquirer's address")
	}
	prof, err := Profile(r.Profile)
	if err != nil {
		return RemoteSEResult{}, err
	}
	if prof.FormFactor != cards.FormSEPhone {
		return RemoteSEResult{}, fmt.Errorf("lab: %s is not an se-phone profile", r.Profile)
	}
	now := o.Clock()
	clients := map[string]*wire.Client{}
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	for _, n := range []string{PartyIssuer, PartySEOperator, PartyPhone} {
		if clients[n], err = o.PKI.Client(n, now); err != nil {
			return RemoteSEResult{}, err
		}
	}
	issuer, err := o.PKI.Party(PartyIssuer)
	if err != nil {
		return RemoteSEResult{}, err
	}
	operator, err := o.PKI.Party(PartySEOperator)
	if err != nil {
		return RemoteSEResult{}, err
	}
	dir, err := o.PKI.Trust(PartySPTSM, PartySETSM)
	if err != nil {
		return RemoteSEResult{}, err
	}
	spKeys, _ := dir.Party(PartySPTSM)
	seKeys, _ := dir.Party(PartySETSM)

	// The SE operator's new phone and its registration (R-S3a).
	ph, err := phone.New(phone.Config{Kind: phone.SE, Passcode: SEPhonePasscode, Clock: o.Clock, Rand: o.Rand})
	if err != nil {
		return RemoteSEResult{}, err
	}
	ph.CardOn()
	isd, err := tsm.RandomKeys(o.Rand)
	if err != nil {
		return RemoteSEResult{}, err
	}
	if err := ph.SE().SetKeys(phone.ISDAID, 1, isd); err != nil {
		return RemoteSEResult{}, err
	}
	serial := sha256.Sum256([]byte(r.Device))
	ph.SE().SetCPLC(gp.CPLC{ICFabricator: [2]byte{0x47, 0x90}, ICType: [2]byte{0x50, 0x40}, ICSerial: [4]byte(serial[:4]), ICBatch: [2]byte{0, 2}})
	if err := ph.SE().AddPaymentModule(emvapp.Env{Holder: ph.Holder(), Rand: o.Rand}); err != nil {
		return RemoteSEResult{}, err
	}
	res := RemoteSEResult{SEID: ph.SE().SEID()}
	// Manufacture: the SE's key-agreement key, certified by the SE
	// authority of the PKI when it has one (confidential key setup).
	certify, closeAuthority, ok, err := o.PKI.SEAuthorityCertifier()
	if err != nil {
		return res, err
	}
	if ok {
		defer closeAuthority()
		agree, err := ecdh.P256().GenerateKey(o.Rand)
		if err != nil {
			return res, err
		}
		cert, err := certify(res.SEID, agree.PublicKey())
		if err != nil {
			return res, err
		}
		ph.SE().SetAgreementKey(agree, cert)
	}
	isdSet := tsm.HandOver(phone.ISDAID, tsm.Keys{KVN: 1, Keys: isd})
	reg, err := wire.Seal(tsm.Registration{SEID: res.SEID, DeviceID: r.Device, PhoneNumber: SamplePhoneNumber, ISD: &isdSet},
		operator, seKeys, wire.Header{Type: tsm.TypeRegister, Clock: o.Clock, Rand: o.Rand})
	if err != nil {
		return res, err
	}
	if _, _, err := clients[PartySEOperator].Post(ctx, o.SEURL+"/register", wire.MediaJOSE, []byte(reg)); err != nil {
		return res, fmt.Errorf("lab: registering the SE: %w", err)
	}
	step(fmt.Sprintf("SE operator: SE %s of device %s registered with the SE TSM, its ISD keys sealed to it", res.SEID, r.Device))

	// The issuer's data preparation and order.
	ps, err := cards.PrepareSE(prof, cards.Options{Clock: o.Clock, Rand: o.Rand})
	if err != nil || len(ps) != 1 {
		return res, fmt.Errorf("lab: data preparation of %s: %w", r.Profile, err)
	}
	perso := ps[0]
	issuerKeys, err := tsm.RandomKeys(o.Rand)
	if err != nil {
		return res, err
	}
	var sc tsm.Script
	if r.Shared {
		sc, err = tsm.Shared(tsm.Keys{KVN: tsm.InitialKVN + 1, Keys: issuerKeys}, perso)
	} else {
		sc, err = tsm.IssuerOwned(phone.ISDAID, tsm.Keys{KVN: 1, Keys: isd}, tsm.Keys{KVN: tsm.InitialKVN, Keys: issuerKeys}, perso)
	}
	if err != nil {
		return res, err
	}
	nonce := make([]byte, 4)
	if _, err := io.ReadFull(o.Rand, nonce); err != nil {
		return res, err
	}
	res.OrderID = fmt.Sprintf("se-order-%s-%x", strings.ToLower(r.Device), nonce)
	if o.IssuerData == "" {
		return res, fmt.Errorf("%w: the cardholder's code comes from the issuer's ID&V: the running issuer's data is required", ErrPKI)
	}
	code := ""
	ord := tsm.Order{OrderID: res.OrderID, CardRef: "card-" + r.Profile, SEID: res.SEID, DeviceID: r.Device, PhoneNumber: SamplePhoneNumber,
		SSD: fmt.Sprintf("%X", perso.SD), Owner: perso.Owner, Shared: r.Shared, IssuerConsent: true}
	tok, err := tsm.OrderFor(issuer, spKeys, ord, sc, wire.Header{Clock: o.Clock, Rand: o.Rand, TTL: tsm.DefaultOTPTTL + time.Minute})
	if err != nil {
		return res, err
	}
	step(fmt.Sprintf("issuer: %v, sealed with its keys to the SP TSM", sc))
	if _, _, err := clients[PartyIssuer].Post(ctx, o.SPURL+"/order", wire.MediaJOSE, []byte(tok)); err != nil {
		var ref *wire.Refusal
		if errors.As(err, &ref) {
			res.Outcome = ref.Reason
			step("SP TSM: order refused: " + ref.Reason)
			return res, nil
		}
		return res, err
	}
	step(fmt.Sprintf("SP TSM: order %s for SE %s: designated SE confirmed by the SE operator, handed to the SE TSM", res.OrderID, res.SEID))
	if o.IssuerData != "" {
		to, sent, err := BeginSEAtIssuer(ctx, o.IssuerData, res.OrderID, r.Profile, r.Device)
		if err != nil {
			var ref *wire.Refusal
			if errors.As(err, &ref) {
				res.Outcome = ref.Reason
				step("issuer ID&V: refused: " + ref.Reason)
				return res, nil
			}
			return res, err
		}
		code = sent
		step("issuer ID&V: one-time code sent by SMS to the card's registered phone " + maskPhone(to) + "; the cardholder reads it in the inbox")
	}

	a := &otaagent.Agent{Client: clients[PartyPhone], URL: o.OTAURL, DeviceID: r.Device, SE: ph.SE().Process, Trace: trace}
	if r.OTP != "" {
		code = r.OTP
	}
	out, err := a.Run(ctx, res.OrderID, code)
	if err != nil {
		var ref *wire.Refusal
		if errors.As(err, &ref) {
			res.Outcome = ref.Reason
			step("SE TSM: download refused: " + ref.Reason + ": " + ref.Message)
			return res, nil
		}
		return res, err
	}
	res.Outcome = out.Outcome
	step(fmt.Sprintf("SE TSM: OTA session of %d steps ended: %s", out.Steps, out.Outcome))
	if res.Apps, err = ph.SyncSE(); err != nil {
		return res, err
	}
	if res.Outcome == tsm.ReasonPersonalised && r.TapAmount > 0 {
		if res.ResponseCode, err = tapAt(ctx, o.AcquirerAddr, ph, SEPhonePasscode, r.TapAmount); err != nil {
			return res, fmt.Errorf("lab: tap: %w", err)
		}
		step(fmt.Sprintf("tap %d at %s: DE39 %s", r.TapAmount, o.AcquirerAddr, res.ResponseCode))
	}
	return res, nil
}
