package model

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		cur  string
		exp  int
		v    int64
		want string
	}{
		{"NT$", 2, 0, "NT$0.00"},
		{"NT$", 2, 5, "NT$0.05"},
		{"NT$", 2, 150000, "NT$1,500.00"},
		{"NT$", 2, 123456789, "NT$1,234,567.89"},
		{"NT$", 2, -150, "-NT$1.50"},
		{"JPY ", 0, 1500, "JPY 1,500"},
		{"X", 3, 1234, "X1.234"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			m := New(tt.cur, tt.exp, nil)
			require.Equal(t, tt.want, m.FormatAmount(tt.v))
		})
	}
}

func TestAmountEntry(t *testing.T) {
	m := New("NT$", 2, nil)
	for _, d := range "0015" {
		require.NoError(t, m.TypeDigit(d))
	}
	require.Equal(t, int64(15), m.Amount(), "leading zeros are dropped")
	require.ErrorIs(t, m.TypeDigit('x'), ErrAmount)
	m.Backspace()
	require.Equal(t, int64(1), m.Amount())
	m.Backspace()
	m.Backspace()
	require.Equal(t, int64(0), m.Amount())
	for range MaxAmountDigits {
		require.NoError(t, m.TypeDigit('9'))
	}
	require.ErrorIs(t, m.TypeDigit('9'), ErrAmount)
	require.Equal(t, int64(999999999999), m.Amount())
	require.NoError(t, m.SetAmount(350000))
	require.Equal(t, int64(350000), m.Amount())
	require.ErrorIs(t, m.SetAmount(-1), ErrAmount)
	require.ErrorIs(t, m.SetAmount(1_000_000_000_000), ErrAmount)
	m.ClearAmount()
	require.Zero(t, m.Amount())
}

func TestWalletAndTap(t *testing.T) {
	m := New("NT$", 2, []string{"a", "b", "c"})
	require.Equal(t, "a", m.SelectedCard())
	m.Move(-1)
	require.Equal(t, "a", m.SelectedCard())
	m.Move(5)
	require.Equal(t, "c", m.SelectedCard())
	require.True(t, m.Select("b"))
	require.False(t, m.Select("z"))
	require.Equal(t, "b", m.SelectedCard())

	require.ErrorIs(t, m.CanTap(), ErrAmount)
	require.NoError(t, m.SetAmount(100))
	require.NoError(t, m.CanTap())
	m.Begin()
	require.Error(t, m.CanTap())
	require.Equal(t, "Present Card", m.Display)
	m.AddTrace(PaneAPDU, "1. > SELECT PPSE")
	m.AddTrace(PaneISO, "send 0100")
	m.Finish(Entry{Kind: "sale", Card: "b", Amount: 100, Message: "Approved", Approved: true, DE39: "00"})
	require.False(t, m.Busy)
	require.Equal(t, "Present Card", m.Display, "the display shows the UI Requests, not the result's text")
	require.Len(t, m.History, 1)
	require.Equal(t, []string{"1. > SELECT PPSE"}, m.Last.APDU)
	require.Equal(t, []string{"send 0100"}, m.Last.ISO)
	require.NoError(t, m.CanTap())

	empty := New("NT$", 2, nil)
	require.NoError(t, empty.SetAmount(1))
	require.Error(t, empty.CanTap())
	require.Equal(t, "", empty.SelectedCard())
}

func TestTypeToggleAndPanes(t *testing.T) {
	m := New("NT$", 2, nil)
	require.Equal(t, "sale", m.Type.String())
	m.ToggleType()
	require.Equal(t, "refund", m.Type.String())
	m.ToggleType()
	require.Equal(t, Sale, m.Type)
	seen := []string{}
	for range 5 {
		seen = append(seen, m.Pane.String())
		m.NextPane()
	}
	require.Equal(t, []string{"APDU", "ISO 8583", "host log", "provisioning", "ISO 8583 raw hex"}, seen)
	for _, s := range []Screen{ScreenMain, ScreenPIN, ScreenPhone, ScreenHistory, ScreenHelp} {
		require.NotEmpty(t, s.String())
	}
}

func TestPINAndPasscodeMasked(t *testing.T) {
	m := New("NT$", 2, nil)
	for _, d := range "12a34567890123" {
		m.TypePIN(d)
		m.TypePasscode(d)
	}
	require.Equal(t, "123456789012", m.PIN, "12 digits at most, digits only")
	require.Equal(t, "************", m.MaskedPIN())
	require.Equal(t, "123456789012", m.Passcode)
}

func TestHistoryCursorAndReport(t *testing.T) {
	m := New("NT$", 2, nil)
	require.Nil(t, m.Current())
	m.MoveCursor(1)
	for i, code := range []string{"00", "55", "91"} {
		m.Begin()
		m.AddTrace(PaneHost, "issuer decided "+code)
		m.Finish(Entry{Kind: "sale", Card: "visa-plastic", STAN: "00000" + string(rune('1'+i)), DE39: code,
			PAN: "476173******0010", Receipt: "TAPSIM STORE\nPAN 476173******0010\n"})
	}
	require.Equal(t, "91", m.Current().DE39)
	m.MoveCursor(-5)
	require.Equal(t, "00", m.Current().DE39)
	m.MoveCursor(1)
	r := m.Current().Report()
	for _, want := range []string{"# tapsim transaction sale 000002 on visa-plastic", "de39: 55", "## receipt",
		"TAPSIM STORE", "## apdu", "## iso8583", "## host", "issuer decided 55"} {
		require.Contains(t, r, want)
	}
	require.NotContains(t, r, "issuer decided 00", "each entry keeps its own traces")
	require.False(t, strings.Contains(r, "error:"))
}

func TestVoidable(t *testing.T) {
	m := New("NT$", 2, nil)
	require.Nil(t, m.LastVoidable())
	require.ErrorIs(t, m.CanVoid(nil), ErrNotVoidable)
	m.Finish(Entry{Kind: "sale", Approved: true, STAN: "000001"})
	m.Finish(Entry{Kind: "sale", Approved: true})                   // offline
	m.Finish(Entry{Kind: "sale", STAN: "000003"})                   // declined
	m.Finish(Entry{Kind: "refund", Approved: true, STAN: "000004"}) // a refund
	m.Finish(Entry{Kind: "sale", Approved: true, STAN: "000005"})
	require.Equal(t, "000005", m.LastVoidable().STAN)
	for i, want := range []string{"", "approved offline", "only an approved sale", "only an approved sale", ""} {
		err := m.CanVoid(&m.History[i])
		if want == "" {
			require.NoError(t, err)
			continue
		}
		require.ErrorIs(t, err, ErrNotVoidable)
		require.ErrorContains(t, err, want)
	}
	// A declined void leaves the sale voidable; an approved one does not.
	m.Finish(Entry{Kind: "void", Voids: "000005", STAN: "000006"})
	require.False(t, m.Voided("000005"))
	m.Finish(Entry{Kind: "void", Approved: true, Voids: "000005", STAN: "000007"})
	require.True(t, m.Voided("000005"))
	require.ErrorContains(t, m.CanVoid(&m.History[4]), "voided already")
	require.Equal(t, "000001", m.LastVoidable().STAN)
}

func TestAddCardForm(t *testing.T) {
	f := AddCardForm{Cards: []string{"visa-plastic", "mc-plastic"}, DeviceID: "0A"}
	require.NoError(t, f.Check())
	f.Change(-1)
	require.Equal(t, "mc-plastic", f.SelectedCard())
	f.MoveField(1)
	f.TypeHex('b')
	f.TypeHex('x')
	require.Equal(t, "0AB", f.DeviceID)
	require.Error(t, f.Check(), "odd number of hex digits")
	f.Backspace()
	f.MoveField(1)
	f.Change(1)
	require.True(t, f.StepUp)
	f.MoveField(1)
	require.Equal(t, FieldCard, f.Field)
	f.TypeHex('1')
	require.Equal(t, "0A", f.DeviceID, "only the device field takes digits")
	m := New("NT$", 2, nil)
	for _, d := range "12345678" {
		m.TypeOTP(d)
	}
	require.Equal(t, "123456", m.OTP)
}

// The "Enrol HCE phone" form always verifies the cardholder: its step-up
// does not change.
func TestAddCardFormHCE(t *testing.T) {
	f := AddCardForm{Cards: []string{"visa-plastic"}, DeviceID: "01", StepUp: true, HCE: true}
	f.MoveField(2)
	f.Change(1)
	require.True(t, f.StepUp)
	require.NoError(t, f.Check())
}

// A card that needs a mobile PIN adds the PIN field: digits go to it, the
// form is not sent without 4 of them; another card has no such field.
func TestAddCardFormMobilePIN(t *testing.T) {
	f := AddCardForm{Cards: []string{"visa-plastic", "mc-plastic"}, DeviceID: "01", HCE: true, PINCards: []string{"mc-plastic"}}
	f.MoveField(-1)
	require.Equal(t, FieldStepUp, f.Field, "no PIN field for visa-plastic")
	f.MoveField(-2)
	f.Change(1)
	require.True(t, f.NeedsPIN())
	f.MoveField(-1)
	require.Equal(t, FieldPIN, f.Field)
	f.TypeHex('2')
	f.TypeHex('A')
	f.TypeHex('5')
	require.Equal(t, "25", f.MobilePIN)
	require.Error(t, f.Check())
	f.TypeHex('8')
	f.TypeHex('0')
	f.Backspace()
	f.TypeHex('0')
	require.Equal(t, "2580", f.MobilePIN)
	require.NoError(t, f.Check())
}

// The "Personalise SE over the air" form: its third field chooses the
// SE's owner, the step-up stays on (the cardholder is always verified).
func TestAddCardFormSE(t *testing.T) {
	f := AddCardForm{Cards: []string{"visa-se-phone", "mc-se-phone"}, DeviceID: "01", StepUp: true, SE: true}
	f.MoveField(2)
	require.Equal(t, FieldStepUp, f.Field)
	f.Change(1)
	require.True(t, f.Shared)
	require.True(t, f.StepUp)
	f.Change(-1)
	require.False(t, f.Shared)
	require.NoError(t, f.Check())
}
