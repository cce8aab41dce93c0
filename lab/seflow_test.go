package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/otaagent"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/terminal/pos"
)

// R-M1, R-M2, R-M6: both sample SE phones are personalised over the air
// (issuer-owned and shared SE) and approved by the embedded issuer host;
// the trace names commands, never data.
func TestSEFlowTapsApproved(t *testing.T) {
	n := startNetwork(t)
	p, err := StartSEPlatform(nil, newSeededRand(11), nil)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	p.Messages = IssuerMessages(n)
	term, link, err := n.NewTerminal(pos.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })
	to := ""
	for i, c := range []struct {
		profile string
		shared  bool
	}{{"visa-se-phone", false}, {"mc-se-phone", true}} {
		d, err := p.NewSEDevice("phone-"+c.profile, uint32(i+1), true)
		require.NoError(t, err)
		var trace []string
		res, err := p.Personalise(context.Background(), d, SERun{Profile: c.profile, Shared: c.shared, Trace: func(l string) { trace = append(trace, l) }})
		require.NoError(t, err)
		require.Equal(t, tsm.ReasonPersonalised, res.Outcome)
		require.Equal(t, 1, res.Apps)
		require.Contains(t, strings.Join(trace, "\n"), "STORE DATA")
		to = res.Recipient
		if c.shared {
			ssd, err := SSDOf(c.profile)
			require.NoError(t, err)
			require.False(t, OperatorKeysOpen(d, ssd, *res.OperatorKeys, nil))
		}
		rc, err := TapSE(context.Background(), term, d, 1500)
		require.NoError(t, err)
		require.Equal(t, isospec.ResponseCode("00"), rc, c.profile)
	}
	require.Empty(t, p.SE.Dump())
	code, ok, err := p.Messages.LastCode(context.Background(), to)
	require.NoError(t, err)
	require.True(t, ok, "R-S3c: the code went through the issuer's ID&V and message centre")
	require.Len(t, code, 6)
}

// The SE demo rows all give what they expect.
func TestSEDemoRows(t *testing.T) {
	n := startNetwork(t)
	rows := SEDemoRows(context.Background(), n)
	require.Len(t, rows, 11)
	for _, r := range rows {
		require.True(t, r.OK(), "%s: want %q got %q (%v)", r.Case, r.Want, r.Got, r.Err)
	}
}

// The se-phone samples built from their profiles and personalised over
// the air pay at the embedded network like the directly installed ones.
func TestSampleSEPhones(t *testing.T) {
	n := startNetwork(t)
	p, err := StartSEPlatform(nil, newSeededRand(12), nil)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	p.Messages = IssuerMessages(n)
	cfg, err := LoadTerminalConfig(LoadMaxTerminals-2, 0)
	require.NoError(t, err)
	term, link, err := n.NewTerminalWith(cfg, pos.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })
	for i, name := range []string{"visa-se-phone", "mc-se-phone"} {
		d, res, err := p.SampleSEPhone(context.Background(), name, fmt.Sprintf("SAMPLE%d", i), uint32(100+i), i == 1)
		require.NoError(t, err)
		require.Equal(t, 1, res.Apps)
		rc, err := TapSE(context.Background(), term, d, 900)
		require.NoError(t, err)
		require.Equal(t, isospec.ResponseCode("00"), rc, name)
	}
}

// R-S3c, R-G2, R-G4, R-S4b: the SP TSM runs a download only for an SE TSM
// that relays it, over its own certificate and JOSE key, once the issuer's
// ID&V verified the cardholder: a relay before the code was verified is
// refused cardholder_not_verified, one from a phone's certificate
// peer_not_allowed, one signed by another party wrong_issuer, the same
// envelope twice replayed, and once the download ran, its order is gone.
func TestSPTSMRelayGuarded(t *testing.T) {
	ctx := context.Background()
	n := startNetwork(t)
	p, err := StartSEPlatform(nil, newSeededRand(13), nil)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	p.Messages = IssuerMessages(n)
	d, err := p.NewSEDevice("0C01", 60, true)
	require.NoError(t, err)
	stop := errors.New("the cardholder walks away")
	res, err := p.Personalise(ctx, d, SERun{Profile: "visa-se-phone", AskOTP: func(context.Context, string, int) (string, error) { return "", stop }})
	require.ErrorIs(t, err, stop)
	require.NotEmpty(t, res.OrderID)

	relay := func(c *wire.Client, from *wire.Party, m tsm.Relay) (string, string) {
		tok, err := wire.Seal(m, from, p.spParty.Public(), wire.Header{Type: tsm.TypeRelay})
		require.NoError(t, err)
		_, _, err = c.Post(ctx, p.spURL+"/relay", wire.MediaJOSE, []byte(tok))
		if err == nil {
			return "", tok
		}
		return wire.RefusalFor(err).Reason, tok
	}
	got, tok := relay(p.seC, p.seParty, tsm.Relay{OrderID: res.OrderID})
	require.Equal(t, tsm.ReasonNotVerified, got, "R-S3c")
	_, _, err = p.seC.Post(ctx, p.spURL+"/relay", wire.MediaJOSE, []byte(tok))
	require.Equal(t, wire.ReasonReplay, wire.RefusalFor(err).Reason, "R-G4")
	got, _ = relay(p.phoneC, p.seParty, tsm.Relay{OrderID: res.OrderID})
	require.Equal(t, tsm.ReasonPeer, got, "R-S4b")
	got, _ = relay(p.seC, p.issuer, tsm.Relay{OrderID: res.OrderID})
	require.Equal(t, wire.ReasonIssuer, got, "R-G2")
	got, _ = relay(p.seC, p.seParty, tsm.Relay{OrderID: "no-such-order", Step: 3, Response: "9000"})
	require.Equal(t, tsm.ReasonNoOrder, got)

	code, ok, err := p.Messages.LastCode(ctx, res.Recipient)
	require.NoError(t, err)
	require.True(t, ok)
	a := &otaagent.Agent{Client: p.phoneC, URL: p.otaURL, DeviceID: d.ID, SE: d.Phone.SE().Process}
	out, err := a.Run(ctx, res.OrderID, code)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonPersonalised, out.Outcome)
	got, _ = relay(p.seC, p.seParty, tsm.Relay{OrderID: res.OrderID})
	require.Equal(t, tsm.ReasonNoOrder, got, "the order's script is gone with its download")
}
