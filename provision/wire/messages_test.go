package wire_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/provision/wire"
)

// wrappedKey has the shape of a wrapped 16-byte key (emv/devicekey).
var wrappedKey = append([]byte{devicekey.Version}, make([]byte, devicekey.MinWrapped-1)...)

func tokenData() wire.TokenData {
	return wire.TokenData{
		TokenUniqueReference: "TUR-1", TokenPAN: "4895370012345671", TokenExpiry: "2812", PSN: "00",
		CVN: "visa18", WrappedICCMasterKey: wrappedKey, ICCMasterKeyKCV: "08D7B4", DKI: 1, TokenRequestorID: "50110030273",
		DomainControls: wire.DomainControls{POSEntryModes: []string{"07"}, DeviceID: "0102030405060708", MaxAmount: 300000, Currency: "901"},
		Status:         wire.StatusActive,
	}
}

// Every message validates when right and refuses each broken field,
// without quoting it.
func TestMessagesValidate(t *testing.T) {
	w := newWorld(t)
	req := w.tokenizeRequest(t)
	notif := wire.Notification{CorrelationID: "c-1", Event: wire.EventDownloadComplete, TokenUniqueReference: "TUR-1", Status: wire.StatusActive, OccurredAt: epoch}
	life := wire.LifecycleRequest{TaskID: "t-1", Action: wire.ActionSuspend, TokenUniqueReferences: []string{"TUR-1"}, Actor: wire.ActorCardholder, Reason: "DEVICE_LOST"}
	tests := []struct {
		name string
		msg  wire.Validator
		ok   bool
	}{
		{"card", cardData(), true},
		{"card without code", wire.CardData{PAN: testPAN, Expiry: "2812"}, true},
		{"card bad luhn", wire.CardData{PAN: "4761739001010011", Expiry: "2812"}, false},
		{"card short", wire.CardData{PAN: "47617390", Expiry: "2812"}, false},
		{"card month 13", wire.CardData{PAN: testPAN, Expiry: "2813"}, false},
		{"card code 5", wire.CardData{PAN: testPAN, Expiry: "2812", SecurityCode: "12345"}, false},
		{"tokenize", req, true},
		{"tokenize TR id 10", func() wire.TokenizeRequest { r := req; r.TokenRequestorID = "5011003027"; return r }(), false},
		{"tokenize device 9 bytes", func() wire.TokenizeRequest { r := req; r.DeviceID = "010203040506070809"; return r }(), false},
		{"tokenize device not hex", func() wire.TokenizeRequest { r := req; r.DeviceID = "xyz"; return r }(), false},
		{"tokenize score 6", func() wire.TokenizeRequest { r := req; r.DecisioningData.DeviceScore = 6; return r }(), false},
		{"tokenize score 0", func() wire.TokenizeRequest { r := req; r.DecisioningData.AccountScore = 0; return r }(), false},
		{"tokenize card in clear", func() wire.TokenizeRequest { r := req; r.FundingAccountInfo.EncryptedPayload = testPAN; return r }(), false},
		{"tokenize no device keys", func() wire.TokenizeRequest { r := req; r.DevicePublicKeys = wire.PartyKeys{}; return r }(), false},
		{"tokenize language", func() wire.TokenizeRequest { r := req; r.ConsumerLanguage = "ZH"; return r }(), false},
		{"tokenize no task", func() wire.TokenizeRequest { r := req; r.TaskID = ""; return r }(), false},
		{"response approved", approved("t-1"), true},
		{"response declined", wire.TokenizeResponse{TaskID: "t-1", Decision: wire.DecisionDeclined, Reason: "CARD_NOT_ELIGIBLE"}, true},
		{"response yellow without methods", func() wire.TokenizeResponse { r := approved("t-1"); r.Decision = wire.DecisionRequireAuthN; return r }(), false},
		{"response yellow", func() wire.TokenizeResponse {
			r := approved("t-1")
			r.Decision = wire.DecisionRequireAuthN
			r.TokenInfo.Status = wire.StatusInactive
			r.AuthenticationMethods = []wire.AuthenticationMethod{{ID: "1", Type: wire.AuthTextToCardholder, Value: "*******1234"}}
			return r
		}(), true},
		{"response bad method", func() wire.TokenizeResponse {
			r := approved("t-1")
			r.AuthenticationMethods = []wire.AuthenticationMethod{{ID: "1", Type: "CARRIER_PIGEON"}}
			return r
		}(), false},
		{"response expiry YYMM", func() wire.TokenizeResponse {
			r := approved("t-1")
			r.TokenInfo = &wire.TokenInfo{TokenPanSuffix: "0011", AccountPanSuffix: "0010", TokenExpiry: "2813", Status: wire.StatusActive}
			return r
		}(), false},
		{"request OTP", wire.RequestOTP{TaskID: "t", TokenUniqueReference: "TUR-1", AuthenticationMethodID: "1"}, true},
		{"request OTP no method", wire.RequestOTP{TaskID: "t", TokenUniqueReference: "TUR-1"}, false},
		{"request OTP result", wire.RequestOTPResult{Result: wire.ResultSuccess, ExpiresAt: epoch}, true},
		{"submit OTP", wire.SubmitOTP{TaskID: "t", TokenUniqueReference: "TUR-1", OTP: "123456"}, true},
		{"submit OTP letters", wire.SubmitOTP{TaskID: "t", TokenUniqueReference: "TUR-1", OTP: "12345a"}, false},
		{"submit OTP result", wire.SubmitOTPResult{Result: wire.ResultIncorrectCode, RetriesRemaining: 2}, true},
		{"submit OTP result unknown", wire.SubmitOTPResult{Result: "MAYBE"}, false},
		{"token data", tokenData(), true},
		{"token data short key", func() wire.TokenData { d := tokenData(); d.WrappedICCMasterKey = wrappedKey[:40]; return d }(), false},
		{"token data no key", func() wire.TokenData { d := tokenData(); d.WrappedICCMasterKey = nil; return d }(), false},
		{"token data key version", func() wire.TokenData {
			d := tokenData()
			d.WrappedICCMasterKey = append([]byte{2}, wrappedKey[1:]...)
			return d
		}(), false},
		{"token data bad KCV", func() wire.TokenData { d := tokenData(); d.ICCMasterKeyKCV = "08D7"; return d }(), false},
		{"token data bad pan", func() wire.TokenData { d := tokenData(); d.TokenPAN = "4895370012345679"; return d }(), false},
		{"token data no device", func() wire.TokenData { d := tokenData(); d.DomainControls.DeviceID = ""; return d }(), false},
		{"token data suspended", func() wire.TokenData { d := tokenData(); d.Status = wire.StatusSuspended; return d }(), false},
		{"ack", wire.TokenDataAck{TokenUniqueReference: "TUR-1", DeviceID: "0102", Result: wire.AckInstalled}, true},
		{"ack result", wire.TokenDataAck{TokenUniqueReference: "TUR-1", DeviceID: "0102", Result: "OK"}, false},
		{"notification", notif, true},
		{"notification event", func() wire.Notification { n := notif; n.Event = "exploded"; return n }(), false},
		{"notification no time", func() wire.Notification { n := notif; n.OccurredAt = time.Time{}; return n }(), false},
		{"notification ack", wire.NotificationAck{CorrelationID: "c-1", Duplicate: true}, true},
		{"lifecycle", life, true},
		{"lifecycle 11 tokens", func() wire.LifecycleRequest {
			l := life
			l.TokenUniqueReferences = nil
			for i := range 11 {
				l.TokenUniqueReferences = append(l.TokenUniqueReferences, fmt.Sprint("TUR-", i))
			}
			return l
		}(), false},
		{"lifecycle actor", func() wire.LifecycleRequest { l := life; l.Actor = "BYSTANDER"; return l }(), false},
		{"lifecycle reason", func() wire.LifecycleRequest { l := life; l.Reason = "lost it"; return l }(), false},
		{"lifecycle no token", func() wire.LifecycleRequest { l := life; l.TokenUniqueReferences = nil; return l }(), false},
		{"lifecycle device", func() wire.LifecycleRequest {
			l := life
			l.TokenUniqueReferences, l.DeviceID = nil, "0102030405060708"
			return l
		}(), true},
		{"lifecycle device not hex", func() wire.LifecycleRequest {
			l := life
			l.TokenUniqueReferences, l.DeviceID = nil, "phone"
			return l
		}(), false},
		{"lifecycle response", wire.LifecycleResponse{TaskID: "t-1", Tokens: []wire.TokenStatus{{TokenUniqueReference: "TUR-1", Status: wire.StatusSuspended, SuspendedBy: []string{wire.ActorCardholder}}}}, true},
		{"lifecycle response empty", wire.LifecycleResponse{TaskID: "t-1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.Validate()
			if tc.ok {
				require.NoError(t, err)
				return
			}
			requireRefused(t, err, wire.ErrInvalid)
			require.NotContains(t, err.Error(), "0123456789ABCDEF")
			require.NotContains(t, err.Error(), "4895370012345679")
		})
	}
}

// The JSON member names are the documented ones (MDES names where public).
func TestMessagesJSONNames(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		msg  any
		keys []string
	}{
		{cardData(), []string{"accountNumber", "expiry", "securityCode"}},
		{w.tokenizeRequest(t), []string{"taskId", "tokenRequestorId", "walletAccountId", "deviceId", "devicePublicKeys", "fundingAccountInfo", "decisioningData", "consumerLanguage"}},
		{approved("t"), []string{"taskId", "decision", "tokenUniqueReference", "panUniqueReference", "tokenInfo"}},
		{tokenData(), []string{"tokenUniqueReference", "tokenPan", "tokenExpiry", "psn", "cvn", "wrappedIccMasterKey", "iccMasterKeyKcv", "dki", "tokenRequestorId", "domainControls", "status"}},
		{wire.SubmitOTP{OTP: "1"}, []string{"taskId", "tokenUniqueReference", "authenticationCode"}},
		{wire.Refusal{Code: 400}, []string{"code", "reason", "message"}},
	} {
		b, err := json.Marshal(tc.msg)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		require.ElementsMatch(t, tc.keys, keys, "%T", tc.msg)
	}
}

// Messages with card data, keys or codes print masked.
func TestMessagesPrintMasked(t *testing.T) {
	for _, s := range []string{
		fmt.Sprint(cardData()), fmt.Sprintf("%v %+v %#v", cardData(), cardData(), cardData()),
		fmt.Sprintf("%v %#v", tokenData(), tokenData()),
		fmt.Sprintf("%v %#v", wire.SubmitOTP{TokenUniqueReference: "TUR-1", OTP: "987654"}, wire.SubmitOTP{OTP: "987654"}),
	} {
		for _, secret := range []string{testPAN, testCode, "4895370012345671", "0123456789ABCDEF", "987654"} {
			require.NotContains(t, s, secret)
		}
	}
	require.Equal(t, "card 476173******0010", cardData().String())
}

// Every sentinel has its refusal; a Refusal is recognised by its reason.
func TestRefusalFor(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		reason string
	}{
		{wire.ErrTooLarge, 413, wire.ReasonTooLarge},
		{wire.ErrMalformed, 400, wire.ReasonMalformed},
		{wire.ErrAlgorithm, 400, wire.ReasonAlgorithm},
		{wire.ErrUnknownKey, 403, wire.ReasonUnknownKey},
		{wire.ErrDecrypt, 400, wire.ReasonDecrypt},
		{wire.ErrSignature, 403, wire.ReasonSignature},
		{wire.ErrIssuer, 403, wire.ReasonIssuer},
		{wire.ErrAudience, 403, wire.ReasonAudience},
		{wire.ErrType, 400, wire.ReasonType},
		{wire.ErrExpired, 403, wire.ReasonExpired},
		{wire.ErrReplay, 409, wire.ReasonReplay},
		{wire.ErrCapacity, 503, wire.ReasonCapacity},
		{wire.ErrInvalid, 422, wire.ReasonInvalid},
		{wire.ErrUnavailable, 503, wire.ReasonUnavailable},
		{fmt.Errorf("something %s", testPAN), 500, wire.ReasonInternal},
	} {
		wrapped := fmt.Errorf("open: %w", tc.err)
		r := wire.RefusalFor(wrapped)
		require.Equal(t, tc.code, r.Code)
		require.Equal(t, tc.reason, r.Reason)
		require.NotContains(t, r.Message, testPAN)
		require.ErrorIs(t, r, wire.ErrRefused)
		if tc.code != 500 {
			require.ErrorIs(t, r, tc.err, "the client side recognises %s", tc.reason)
		}
	}
	own := wire.Refuse(409, "task_id_reused", "taskId reused")
	require.Same(t, own, wire.RefusalFor(fmt.Errorf("x: %w", own)))
}

// R-S2a, R-G1: an activation carries a format 1 PIN block only, never
// shown by String, %v or %#v, nor quoted by Validate; the device CVM
// claims are the three methods or none.
func TestActivatePasscodeMessage(t *testing.T) {
	ok := wire.ActivatePasscode{TaskID: "t-1", TokenUniqueReference: "TUR-1", PINBlock: "141234ABCDEF0123"}
	require.NoError(t, ok.Validate())
	for _, s := range []string{ok.String(), fmt.Sprintf("%v", ok), fmt.Sprintf("%#v", ok)} {
		require.NotContains(t, s, "141234")
	}
	for _, block := range []string{"041234FFFFFFFFFF", "141234", "1412 34FFFFFFFFF", "zz1234FFFFFFFFFF", ""} {
		bad := ok
		bad.PINBlock = block
		err := bad.Validate()
		require.ErrorIs(t, err, wire.ErrInvalid, block)
		if block != "" {
			require.NotContains(t, err.Error(), block)
		}
	}
	bad := ok
	bad.TokenUniqueReference = ""
	require.ErrorIs(t, bad.Validate(), wire.ErrInvalid)

	for _, m := range []string{"", wire.DeviceCVMPasscode, wire.DeviceCVMBiometric, wire.DeviceCVMPattern} {
		require.True(t, wire.ValidDeviceCVM(m), m)
	}
	require.False(t, wire.ValidDeviceCVM("NONE"))
	c := wire.CardData{PAN: "4761739001010010", Expiry: "2812", DeviceCVM: "IRIS"}
	require.ErrorIs(t, c.Validate(), wire.ErrInvalid)
	r := wire.RiskData{Recommendation: wire.DecisionApproved, DeviceScore: 4, AccountScore: 4, DeviceCVM: "IRIS"}
	require.ErrorIs(t, r.Validate(), wire.ErrInvalid)
}
