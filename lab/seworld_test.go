package lab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
	"github.com/tapsim/tapsim/terminal/pos"
)

// The world's SE phones get their card over the air through the world's
// TSMs when the world is created (R-M6): visa-se-phone into an SE the
// issuer owns (R-M1), mc-se-phone into an SE shared with an operator
// (R-M2); Network.Card hands out those phones, the TSMs keep no script
// afterwards (R-G5g), and both phones pay.
func TestSampleSEPhonesInWorld(t *testing.T) {
	ctx := context.Background()
	n, err := Start(ctx, Options{Dir: t.TempDir(), Rand: newSeededRand(14), IssuerTimeout: testIssuerTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	p := n.SEPlatform()
	require.NotNil(t, p)
	require.Empty(t, p.SE.Dump(), "no personalisation script kept")
	cfg, err := LoadTerminalConfig(LoadMaxTerminals-2, 0)
	require.NoError(t, err)
	term, link, err := n.NewTerminalWith(cfg, pos.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })
	seen := map[string]bool{}
	for _, name := range SampleSEProfiles {
		d := n.SampleSE(name)
		require.NotNil(t, d, name)
		require.False(t, seen[d.SEID], "one SE per phone")
		seen[d.SEID] = true
		c, err := n.Card(name, time.Now())
		require.NoError(t, err)
		require.True(t, c == d.Phone, "the world's %s is the personalised phone", name)
		require.Len(t, d.Phone.Apps(), 1, name)
		rc, err := TapSE(ctx, term, d, 900)
		require.NoError(t, err)
		require.Equal(t, isospec.RCApproved, rc, name)
	}
	require.Nil(t, n.SampleSE("visa-plastic"))
	c, err := n.Card("visa-plastic", time.Now())
	require.NoError(t, err)
	require.NotNil(t, c)
}

// R-S3c, R-G3c: the cardholder types the code the issuer's ID&V sent by
// SMS: a wrong code is asked again with the issuer's tries left, the code
// read from the inbox personalises the SE; five wrong codes lock the
// card's provisioning and cancel the order.
func TestSEAskOTP(t *testing.T) {
	ctx := context.Background()
	n, err := Start(ctx, Options{Dir: t.TempDir(), Rand: newSeededRand(15), IssuerTimeout: testIssuerTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	p := n.SEPlatform()
	var asked []int
	d, err := p.NewSEDevice("0A0B", 40, true)
	require.NoError(t, err)
	res, err := p.Personalise(ctx, d, SERun{Profile: "visa-se-phone", AskOTP: func(ctx context.Context, to string, left int) (string, error) {
		asked = append(asked, left)
		if len(asked) < 3 {
			return "000000x", nil
		}
		code, ok, err := p.Messages.LastCode(ctx, to)
		require.True(t, ok)
		return code, err
	}})
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonPersonalised, res.Outcome)
	require.Equal(t, []int{-1, idv.DefaultMaxFailures - 1, idv.DefaultMaxFailures - 2}, asked)
	require.Equal(t, 1, res.Apps)

	d, err = p.NewSEDevice("0A0C", 41, true)
	require.NoError(t, err)
	asked = nil
	res, err = p.Personalise(ctx, d, SERun{Profile: "mc-se-phone", Shared: true, AskOTP: func(context.Context, string, int) (string, error) {
		asked = append(asked, 0)
		return "000000x", nil
	}})
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonIDVLocked, res.Outcome)
	require.Len(t, asked, idv.DefaultMaxFailures)
	require.Zero(t, res.Apps)
}

// R-G3c: the SE one-time code lives as the issuer's ID&V codes do: typed 4
// minutes after it was sent it still personalises the SE (the script
// outlives it), typed after 5 minutes it is refused and the order
// cancelled.
func TestSECodeLife(t *testing.T) {
	ctx := context.Background()
	clk := wiretest.NewClock(time.Now())
	n, err := Start(ctx, Options{Dir: t.TempDir(), Rand: newSeededRand(16), Clock: clk.Now, IssuerTimeout: testIssuerTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	p := n.SEPlatform()
	typeAfter := func(wait time.Duration) func(context.Context, string, int) (string, error) {
		return func(ctx context.Context, to string, _ int) (string, error) {
			clk.Advance(wait)
			code, _, err := p.Messages.LastCode(ctx, to)
			return code, err
		}
	}
	d, err := p.NewSEDevice("0B01", 50, true)
	require.NoError(t, err)
	res, err := p.Personalise(ctx, d, SERun{Profile: "visa-se-phone", AskOTP: typeAfter(4 * time.Minute)})
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonPersonalised, res.Outcome)

	d, err = p.NewSEDevice("0B02", 51, true)
	require.NoError(t, err)
	res, err = p.Personalise(ctx, d, SERun{Profile: "visa-se-phone", AskOTP: typeAfter(5*time.Minute + time.Second)})
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonOTPExpired, res.Outcome)
	require.Zero(t, res.Apps)
}
