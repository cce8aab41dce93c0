package pos_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/pos"
)

// uiSequence is the customer display's messages of the rig's events, in
// order, with their status.
func (r *rig) uiSequence() []string {
	r.emu.Lock()
	defer r.emu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Kind == pos.EventUI && e.UI != nil {
			out = append(out, e.UI.Message.Name()+"/"+e.UI.Status.Name())
		}
	}
	return out
}

// The customer display gets Book A's User Interface Requests only, each at
// its moment: the Entry Point's and kernel's, then the terminal's for the
// online result. The host's reason never reaches it.
func TestCustomerDisplaySequence(t *testing.T) {
	decline51 := func(req *iso8583.Message) *iso8583.Message {
		return answer(req, isospec.RCInsufficientFunds, isospec.ReasonInsufficientFunds)
	}
	silent := func(req *iso8583.Message) *iso8583.Message {
		if mti, _ := req.GetMTI(); mti == "0100" {
			return nil
		}
		return approveAll(req)
	}
	for _, tc := range []struct {
		name   string
		decide func(*iso8583.Message) *iso8583.Message
		card   string
		amount int64
		o      pos.Options
		want   []string
	}{
		{"online approved", approveAll, "visa-plastic", 150000, pos.Options{},
			[]string{"present_card/ready_to_read", "card_read_ok/card_read_successfully", "authorising/not_ready", "approved/not_ready"}},
		{"online declined", decline51, "visa-plastic", 150000, pos.Options{},
			[]string{"present_card/ready_to_read", "card_read_ok/card_read_successfully", "authorising/not_ready", "not_authorised/not_ready"}},
		{"no answer, reversed", silent, "visa-plastic", 150000, pos.Options{},
			[]string{"present_card/ready_to_read", "card_read_ok/card_read_successfully", "authorising/not_ready", "not_authorised/not_ready"}},
		{"online PIN", approveAll, "visa-plastic", 350000, pos.Options{Keypad: pinpad.Always("1234")},
			[]string{"present_card/ready_to_read", "card_read_ok/card_read_successfully", "enter_pin/not_ready", "authorising/not_ready", "approved/not_ready"}},
		{"PIN cancelled", approveAll, "visa-plastic", 350000, pos.Options{Keypad: pinpad.NewScript(pinpad.Cancel)},
			[]string{"present_card/ready_to_read", "card_read_ok/card_read_successfully", "enter_pin/not_ready", "welcome/idle"}},
		{"see phone, not presented again", approveAll, "hce-phone", 150000, pos.Options{},
			[]string{"present_card/ready_to_read", "see_phone/not_ready", "welcome/idle"}},
		{"no application allowed at this amount", approveAll, "visa-plastic", 999_999_999, pos.Options{},
			[]string{"present_card/ready_to_read", "try_another_card/ready_to_read"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.decide, tc.o)
			res, err := r.term.Sale(context.Background(), tc.amount, inproc.New(newCard(t, tc.card)))
			require.NoError(t, err)
			require.Equal(t, tc.want, r.uiSequence(), res.String())
		})
	}
}

// A host that cannot be reached: Processing Error, with the message hold
// time of the application's combination.
func TestCustomerDisplayHostUnavailable(t *testing.T) {
	r := newRig(t, approveAll, pos.Options{})
	require.NoError(t, r.link.Close())
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "mc-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusHostUnavailable, res.Status, res.String())
	r.emu.Lock()
	last := r.events[len(r.events)-1]
	r.emu.Unlock()
	require.Equal(t, pos.EventUI, last.Kind)
	require.Equal(t, kernel.MsgProcessingError, last.UI.Message)
	require.Equal(t, kernel.StatusProcessingError, last.UI.Status)
	require.Positive(t, last.UI.Hold)
}

// The operator's view of the ISO 8583 exchange shows the cryptograms, the
// logs' view does not; neither shows the PAN, track 2 or the PIN block.
func TestHostExchangeScreenShowsCryptograms(t *testing.T) {
	r := newRig(t, approveAll, pos.Options{Keypad: pinpad.Always("1234")})
	res, err := r.term.Sale(context.Background(), 350000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.True(t, res.PINEntered)
	x := res.Exchanges[0]
	ac := strings.ToUpper(hex.EncodeToString(res.Outcome.Record(0x9F26)))
	iad := strings.ToUpper(hex.EncodeToString(res.Outcome.Record(0x9F10)))
	require.Len(t, ac, 16)
	screen, logs := strings.ToUpper(x.Screen()), strings.ToUpper(x.Describe())
	require.Contains(t, screen, ac)
	require.Contains(t, screen, iad)
	require.NotContains(t, logs, ac)
	require.NotContains(t, logs, iad)
	ar := decodeAuth(t, x.Request)
	for _, secret := range []string{ar.PAN, ar.Track2, strings.ToUpper(hex.EncodeToString(ar.PINBlock))} {
		require.NotEmpty(t, secret)
		require.NotContains(t, screen, secret)
		require.NotContains(t, logs, secret)
	}
	require.Contains(t, screen, "476173******0010")
}
