package isospec_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

func TestMTI(t *testing.T) {
	tests := []struct {
		mti      isospec.MTI
		class    byte
		request  bool
		repeat   bool
		response isospec.MTI
	}{
		{isospec.MTIAuthorizationRequest, '1', true, false, isospec.MTIAuthorizationResponse},
		{isospec.MTIFinancialRequest, '2', true, false, isospec.MTIFinancialResponse},
		{isospec.MTIReversalRequest, '4', true, false, isospec.MTIReversalResponse},
		{isospec.MTIReversalAdvice, '4', true, false, isospec.MTIReversalAdviceResponse},
		{isospec.MTIReversalAdviceRepeat, '4', true, true, isospec.MTIReversalAdviceResponse},
		{isospec.MTINetworkRequest, '8', true, false, isospec.MTINetworkResponse},
	}
	for _, tc := range tests {
		require.True(t, tc.mti.Known())
		require.Equal(t, tc.class, tc.mti.Class())
		require.Equal(t, tc.request, tc.mti.IsRequest())
		require.False(t, tc.mti.IsResponse())
		require.Equal(t, tc.repeat, tc.mti.IsRepeat())
		got, err := tc.mti.Response()
		require.NoError(t, err)
		require.Equal(t, tc.response, got)
		require.True(t, got.IsResponse())
		require.True(t, got.Known())
		_, err = got.Response()
		require.ErrorIs(t, err, isospec.ErrValue)
	}
	rep, err := isospec.MTIReversalAdvice.Repeat()
	require.NoError(t, err)
	require.Equal(t, isospec.MTIReversalAdviceRepeat, rep)
	require.Equal(t, "reversal advice repeat", rep.Name())
	require.Equal(t, "unknown message type", isospec.MTI("0500").Name())
	for _, bad := range []isospec.MTI{"", "010", "01x0", "01000"} {
		require.False(t, bad.IsRequest())
		require.False(t, bad.IsResponse())
		require.Zero(t, bad.Class())
		_, err := bad.Response()
		require.Error(t, err)
	}
}

func TestProcessingCode(t *testing.T) {
	require.Equal(t, isospec.ProcessingCode("000000"), isospec.ProcPurchase)
	require.Equal(t, isospec.ProcessingCode("200000"), isospec.ProcRefund)
	p, err := isospec.NewProcessingCode(isospec.TxCash, isospec.AccountSavings, isospec.AccountDefault)
	require.NoError(t, err)
	require.Equal(t, isospec.ProcessingCode("011000"), p)
	require.Equal(t, "01", p.TransactionType())
	require.Equal(t, "10", p.FromAccount())
	require.Equal(t, "00", p.ToAccount())
	require.Equal(t, "cash, savings account to default account", p.Description())
	require.Equal(t, "transaction type 77, account type 99 to credit account", isospec.ProcessingCode("779930").Description())
	require.Equal(t, "malformed processing code", isospec.ProcessingCode("00").Description())
	require.Equal(t, "", isospec.ProcessingCode("0000x0").TransactionType())
	for _, parts := range [][3]string{{"0", "00", "00"}, {"00", "0a", "00"}, {"00", "00", "000"}} {
		_, err := isospec.NewProcessingCode(parts[0], parts[1], parts[2])
		require.ErrorIs(t, err, isospec.ErrValue)
	}
}

func TestPOSEntryMode(t *testing.T) {
	require.Equal(t, isospec.POSEntryMode("071"), isospec.ContactlessEntry(true))
	require.Equal(t, isospec.POSEntryMode("072"), isospec.ContactlessEntry(false))
	tests := []struct {
		mode                         isospec.POSEntryMode
		contactlessChip, contactless bool
		chip                         bool
		description                  string
	}{
		{"071", true, true, true, "contactless chip, PIN entry capability"},
		{"072", true, true, true, "contactless chip, no PIN entry capability"},
		{"911", false, true, false, "contactless magnetic stripe, PIN entry capability"},
		{"051", false, false, true, "contact chip, PIN entry capability"},
		{"908", false, false, false, "full magnetic stripe, PIN pad inoperative"},
		{"010", false, false, false, "manual key entry, PIN capability unknown"},
		{"99", false, false, false, "malformed entry mode"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.contactlessChip, tc.mode.ContactlessChip(), tc.mode)
		require.Equal(t, tc.contactless, tc.mode.Contactless(), tc.mode)
		require.Equal(t, tc.chip, tc.mode.Chip(), tc.mode)
		require.Equal(t, tc.description, tc.mode.Description())
	}
	m, err := isospec.NewPOSEntryMode(isospec.PANEntryContactless, isospec.PINNotCapable)
	require.NoError(t, err)
	require.Equal(t, isospec.POSEntryMode("072"), m)
	require.Equal(t, "07", m.PANEntry())
	require.Equal(t, byte('2'), m.PINCapability())
	_, err = isospec.NewPOSEntryMode("7", '1')
	require.ErrorIs(t, err, isospec.ErrValue)
	_, err = isospec.NewPOSEntryMode("07", 'x')
	require.ErrorIs(t, err, isospec.ErrValue)
}

func TestNetworkCodes(t *testing.T) {
	require.Equal(t, "sign-on", isospec.NetSignOn.Name())
	require.Equal(t, "sign-off", isospec.NetSignOff.Name())
	require.Equal(t, "echo test", isospec.NetEcho.Name())
	require.Equal(t, "key change", isospec.NetKeyChange.Name())
	require.Equal(t, isospec.NetworkCode("161"), isospec.NetKeyChange)
	require.False(t, isospec.NetworkCode("999").Known())
}

// The response-code table of the dialect.
func TestResponseCodes(t *testing.T) {
	want := map[string]string{
		"00": "approved",
		"05": "do not honour",
		"14": "invalid card number",
		"30": "format error",
		"51": "insufficient funds",
		"54": "expired card",
		"55": "incorrect PIN",
		"57": "transaction not permitted to cardholder",
		"61": "exceeds withdrawal amount limit",
		"62": "restricted card",
		"63": "security violation",
		"65": "exceeds withdrawal frequency limit",
		"75": "allowable PIN tries exceeded",
		"82": "cryptogram failure",
		"91": "issuer or switch inoperative",
		"94": "duplicate transmission",
		"96": "system malfunction",
	}
	for code, meaning := range want {
		rc := isospec.ResponseCode(code)
		require.True(t, rc.Known(), code)
		require.Equal(t, meaning, rc.Meaning(), code)
		require.Equal(t, code+" ("+meaning+")", rc.String())
		require.Equal(t, code == "00", rc.Approved(), code)
	}
	all := isospec.ResponseCodes()
	require.GreaterOrEqual(t, len(all), len(want))
	for i := 1; i < len(all); i++ {
		require.Less(t, all[i-1], all[i])
	}
	require.Equal(t, "99 (unknown response code)", isospec.ResponseCode("99").String())
	require.Equal(t, "?? (unknown response code)", isospec.ResponseCode("\x00\x01").String())
	require.False(t, isospec.ResponseCode("").Approved())
}

func TestDeclineReasons(t *testing.T) {
	tests := map[isospec.DeclineReason]isospec.ResponseCode{
		isospec.ReasonARQCInvalid:       isospec.RCCryptogramFailure,
		isospec.ReasonCryptogramReplay:  isospec.RCCryptogramFailure, // R-G4
		isospec.ReasonATCReplay:         isospec.RCCryptogramFailure, // R-G4
		isospec.ReasonHCEKeyUsed:        isospec.RCCryptogramFailure, // R-S5b
		isospec.ReasonDuplicate:         isospec.RCDuplicateTransmission,
		isospec.ReasonMACInvalid:        isospec.RCSecurityViolation,
		isospec.ReasonPINTriesExceeded:  isospec.RCPINTriesExceeded, // R-G3c
		isospec.ReasonPINIncorrect:      isospec.RCIncorrectPIN,
		isospec.ReasonIssuerUnavailable: isospec.RCIssuerInoperative,
		isospec.ReasonFormat:            isospec.RCFormatError,
		isospec.ReasonInsufficientFunds: isospec.RCInsufficientFunds,
		"something_new":                 isospec.RCDoNotHonour,
	}
	for r, rc := range tests {
		require.Equal(t, rc, r.ResponseCode(), r)
	}
	for _, r := range isospec.DeclineReasons() {
		require.True(t, r.ResponseCode().Known(), r)
		require.False(t, r.ResponseCode().Approved(), r)
	}
}
