package wire_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// The download challenge signature verifies with the device's signing key
// only, and over the challenge, device ID and card reference it names.
func TestHCEChallengeSignature(t *testing.T) {
	dev := wiretest.Party(t, "hce-phone-1", 1)
	other := wiretest.Party(t, "hce-phone-2", 2)
	sig, err := dev.SignHCEChallenge("ch-1", "phone-1", "card-1")
	require.NoError(t, err)
	require.NoError(t, wire.HCEVerifyChallenge(dev.Public(), "ch-1", "phone-1", "card-1", sig))
	for _, tc := range []struct {
		name               string
		keys               wire.PublicKeys
		ch, dev, card, sig string
	}{
		{"other key", other.Public(), "ch-1", "phone-1", "card-1", sig},
		{"other challenge", dev.Public(), "ch-2", "phone-1", "card-1", sig},
		{"other device", dev.Public(), "ch-1", "phone-2", "card-1", sig},
		{"other card", dev.Public(), "ch-1", "phone-1", "card-2", sig},
		{"not base64", dev.Public(), "ch-1", "phone-1", "card-1", "!!"},
		{"short", dev.Public(), "ch-1", "phone-1", "card-1", sig[:20]},
		{"no signing key", wire.PublicKeys{Name: "x", Enc: dev.Public().Enc}, "ch-1", "phone-1", "card-1", sig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, wire.HCEVerifyChallenge(tc.keys, tc.ch, tc.dev, tc.card, tc.sig), wire.ErrHCEChallenge)
		})
	}
}

// Each HCE message's Validate refuses a malformed field with ErrInvalid,
// and its String shows no security code or OTP.
func TestHCEValidate(t *testing.T) {
	ok := wire.HCERegister{RequestID: "r1", DeviceID: "phone-1", CardRef: "card-1", SecurityCode: "123"}
	require.NoError(t, ok.Validate())
	require.NotContains(t, ok.String(), "123")
	pc := ok
	pc.Method, pc.Passcode = wire.HCEMethodPasscode, "1412347A5C1E9B30"
	require.NoError(t, pc.Validate())
	require.NotContains(t, pc.String()+pc.GoString(), pc.Passcode)
	v := wire.HCEVerifyRegistration{RegistrationID: "reg-r1", OTP: "654321"}
	require.NoError(t, v.Validate())
	require.NotContains(t, v.String()+v.GoString(), "654321")
	for _, tc := range []struct {
		name string
		msg  interface{ Validate() error }
	}{
		{"register without code", wire.HCERegister{RequestID: "r1", DeviceID: "phone-1", CardRef: "card-1"}},
		{"register bad device", wire.HCERegister{RequestID: "r1", DeviceID: "phone 1", CardRef: "card-1", SecurityCode: "123"}},
		{"register passcode without its method", wire.HCERegister{RequestID: "r1", DeviceID: "phone-1", CardRef: "card-1",
			SecurityCode: "123", Passcode: "1412347A5C1E9B30"}},
		{"register passcode method without passcode", wire.HCERegister{RequestID: "r1", DeviceID: "phone-1", CardRef: "card-1",
			SecurityCode: "123", Method: wire.HCEMethodPasscode}},
		{"register passcode not format 1", wire.HCERegister{RequestID: "r1", DeviceID: "phone-1", CardRef: "card-1",
			SecurityCode: "123", Method: wire.HCEMethodPasscode, Passcode: "0412347A5C1E9B30"}},
		{"register passcode not hex", wire.HCERegister{RequestID: "r1", DeviceID: "phone-1", CardRef: "card-1",
			SecurityCode: "123", Method: wire.HCEMethodPasscode, Passcode: "1412347A5C1E9BZZ"}},
		{"verify bad otp", wire.HCEVerifyRegistration{RegistrationID: "reg-r1", OTP: "12ab56"}},
		{"challenge without card", wire.HCEChallengeRequest{DeviceID: "phone-1"}},
		{"download without signature", wire.HCEDownloadRequest{DeviceID: "phone-1", CardRef: "card-1", Challenge: "c"}},
		{"replenish too many used", wire.HCEReplenishRequest{DeviceID: "phone-1", CardRef: "card-1", Used: make([]string, 101)}},
		{"batch without keys", wire.HCEBatch{DeviceID: "phone-1", CardRef: "card-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.msg.Validate(), wire.ErrInvalid)
		})
	}
	p := wire.HCEProfile{AccountNumber: "4895370012345671", CVN: wire.HCECVNVisaCloud}
	require.NotContains(t, p.String()+p.GoString(), "4895370012345671")
}

// The HCE messages come from phones and the platform: any bytes decode
// or not without panicking, and what validates keeps its fields in range.
func FuzzHCEMessages(f *testing.F) {
	for _, s := range []string{
		`{"requestId":"r1","deviceId":"p","cardRef":"c","securityCode":"123"}`,
		`{"registrationId":"reg-1","otp":"123456"}`,
		`{"deviceId":"p","cardRef":"c","challenge":"abc","signature":"def"}`,
		`{"deviceId":"p","cardRef":"c","used":["5123407"]}`,
		`{"cardRef":"c","deviceId":"p","keys":[{"keyIndex":"5123407","api":1,"kcv":"ABCDEF","wrapped":"AQID"}]}`,
		`{"devicePublicKeys":{"name":"x","keys":[]},"envelope":"a.b.c.d.e"}`,
		`[]`, `{"keys":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs := []interface{ Validate() error }{
			&wire.HCERegister{}, &wire.HCEVerifyRegistration{}, &wire.HCEChallengeRequest{},
			&wire.HCEDownloadRequest{}, &wire.HCEReplenishRequest{}, &wire.HCEBatch{},
		}
		for _, m := range msgs {
			if json.Unmarshal(b, m) != nil {
				continue
			}
			if m.Validate() == nil {
				if r, ok := m.(*wire.HCERegister); ok {
					require.Len(t, r.SecurityCode, 3)
					require.False(t, strings.ContainsAny(r.DeviceID, " /"))
				}
				if bt, ok := m.(*wire.HCEBatch); ok {
					require.NotEmpty(t, bt.Keys)
				}
			}
		}
		var req wire.HCERegisterRequest
		_ = json.Unmarshal(b, &req)
		_ = wire.HCEVerifyChallenge(wire.PublicKeys{}, "c", "d", "e", string(b))
	})
}
