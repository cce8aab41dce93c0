package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// PathCloudResetPIN is the issuer's service centre's reset of a phone's
// mobile PIN tries at the cloud platform the issuer serves (R-G3c); only a
// client presenting the issuer's certificate may call it.
const PathCloudResetPIN = "/cloud-admin/reset-mobile-pin"

// PathCloudReportLost is the issuer's service centre's lost-phone report
// at the cloud platform the issuer serves (R-C1): every binding of the
// phone and its keys suspended at once; the issuer's certificate only.
const PathCloudReportLost = "/cloud-admin/report-lost"

// CloudReportLost is the body of PathCloudReportLost.
type CloudReportLost struct {
	Staff    string `json:"staff"`
	DeviceID string `json:"deviceId"`
}

// CloudReportLostResult is the answer: the bindings suspended.
type CloudReportLostResult struct {
	Bindings []wire.HCEBinding `json:"bindings"`
}

// CloudResetPIN is the body of PathCloudResetPIN: the staff member, the
// sample plastic card (its card account at the platform) and the phone.
type CloudResetPIN struct {
	Staff    string `json:"staff"`
	Card     string `json:"card"`
	DeviceID string `json:"deviceId"`
}

// CloudResetPINResult is the answer: the card account reset.
type CloudResetPINResult struct {
	CardRef  string `json:"cardRef"`
	DeviceID string `json:"deviceId"`
	Status   string `json:"status"`
}

// Refusal reasons of the platform's staff API.
const (
	ReasonUnknownPhone = "unknown_card_or_phone"
	ReasonBadRequest   = "invalid_request"
)

func cloudAdminHandler(svc *cloudsvc.Service, logger *slog.Logger) http.Handler {
	return wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var in CloudResetPIN
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return wire.Response{}, fmt.Errorf("%w: request body", wire.ErrMalformed)
		}
		ref, err := cloudRef(in.Card)
		if err != nil {
			return wire.Response{}, wire.Refuse(http.StatusBadRequest, ReasonBadRequest, "not a card of the cloud platform")
		}
		switch err := svc.ResetMobilePIN(in.Staff, ref, in.DeviceID); {
		case errors.Is(err, cloudsvc.ErrUnknown):
			return wire.Response{}, wire.Refuse(http.StatusNotFound, ReasonUnknownPhone, "no such phone of that card account")
		case errors.Is(err, cloudsvc.ErrInput):
			return wire.Response{}, wire.Refuse(http.StatusBadRequest, ReasonBadRequest, "a reset names the staff member, card and phone")
		case err != nil:
			return wire.Response{}, err
		}
		return wire.JSONResponse(http.StatusOK, CloudResetPINResult{CardRef: ref, DeviceID: in.DeviceID, Status: "reset"})
	}, wire.HandlerOptions{MediaTypes: []string{wire.MediaJSON}, Log: logger})
}

func cloudLostHandler(svc *cloudsvc.Service, logger *slog.Logger) http.Handler {
	return wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var in CloudReportLost
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || in.Staff == "" || in.DeviceID == "" {
			return wire.Response{}, fmt.Errorf("%w: request body", wire.ErrMalformed)
		}
		bs, err := svc.ReportDeviceLost(in.Staff, in.DeviceID)
		switch {
		case errors.Is(err, cloudsvc.ErrUnknown):
			return wire.Response{}, wire.Refuse(http.StatusNotFound, ReasonUnknownPhone, "no binding of that phone")
		case err != nil:
			return wire.Response{}, err
		}
		return wire.JSONResponse(http.StatusOK, CloudReportLostResult{Bindings: bs})
	}, wire.HandlerOptions{MediaTypes: []string{wire.MediaJSON}, Log: logger})
}

// ReportLostAt reports phone deviceID lost at the cloud platform of the
// issuer running at addr, as the issuer's service centre (the issuer's
// certificate under pki): its bindings and keys are suspended at once.
func ReportLostAt(ctx context.Context, addr string, pki ProvisioningPKI, staff, deviceID string) (CloudReportLostResult, error) {
	c, err := pki.Client(PartyIssuer, time.Now())
	if err != nil {
		return CloudReportLostResult{}, err
	}
	defer c.CloseIdleConnections()
	var out CloudReportLostResult
	err = c.PostJSON(ctx, "https://"+addr+PathCloudReportLost, CloudReportLost{Staff: staff, DeviceID: deviceID}, &out)
	return out, err
}

// cloudRef is the platform's card account of sample plastic card name.
func cloudRef(name string) (string, error) {
	p, err := HCEProfile(name)
	if err != nil {
		return "", err
	}
	ref, _, err := cloudAccount(p.Name, p.App.PAN)
	return ref, err
}

// ResetMobilePINAt asks the cloud platform of the issuer running at addr
// (its --provisioning-listen), as the issuer's service centre (the
// issuer's certificate under pki), to reset the mobile PIN tries of phone
// deviceID for sample plastic card card: the phone's card serves again
// (R-G3c).
func ResetMobilePINAt(ctx context.Context, addr string, pki ProvisioningPKI, staff, card, deviceID string) (CloudResetPINResult, error) {
	c, err := pki.Client(PartyIssuer, time.Now())
	if err != nil {
		return CloudResetPINResult{}, err
	}
	defer c.CloseIdleConnections()
	var out CloudResetPINResult
	err = c.PostJSON(ctx, "https://"+addr+PathCloudResetPIN, CloudResetPIN{Staff: staff, Card: card, DeviceID: deviceID}, &out)
	return out, err
}
