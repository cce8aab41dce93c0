package lab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// R-S3d, R-G3a, R-G3c, R-S2a: a phone registers with the issuer-set
// passcode instead of an OTP: the right one binds the phone at once and no
// OTP is sent; the card downloads and pays. A wrong passcode is refused
// passcode_wrong and counts toward the lock of the card's provisioning,
// with the wrong OTPs and security codes: the fifth locks it (idv_locked),
// and then not even the right passcode goes through until the service
// centre resets it.
func TestHCERegistrationByPasscode(t *testing.T) {
	ctx := context.Background()
	clk := wiretest.NewClock(time.Now())
	n, err := Start(ctx, Options{Dir: t.TempDir(), Rand: newSeededRand(31), Clock: clk.Now})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	cl := n.Cloud()
	p, err := HCEProfile("visa-plastic")
	require.NoError(t, err)
	ref, cloudPAN, err := cloudAccount(p.Name, p.App.PAN)
	require.NoError(t, err)
	fc, err := cl.AddCardAccount(ctx, ref, p.App.PAN, cloudPAN, yymm(p.App.Expiry), "00")
	require.NoError(t, err)
	inboxBefore, err := n.Provisioning().Inbox(ctx, fc.Phone)
	require.NoError(t, err)

	app, err := cl.NewApp("35209900AABB0061")
	require.NoError(t, err)
	res, err := app.RegisterWithPasscode(ctx, cl.RequestID(), ref, fc.Card.SecurityCode, SamplePIN, "")
	require.NoError(t, err)
	require.Equal(t, wire.HCEMethodPasscode, res.Method)
	require.NotNil(t, res.Binding, "bound at once")
	require.Equal(t, wire.HCEBindingActive, res.Binding.Status)
	inboxAfter, err := n.Provisioning().Inbox(ctx, fc.Phone)
	require.NoError(t, err)
	for _, m := range inboxAfter[len(inboxBefore):] {
		require.NotEqual(t, "otp", m.Kind, "no OTP for a passcode registration")
	}
	card, err := app.Download(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, 5, card.KeysLeft())
	holder, err := cards.Builtin(SampleHCEProfile) // passcode, CDCVM rules
	require.NoError(t, err)
	phone, err := HCEPhone(holder, card, clk.Now, newSeededRand(32))
	require.NoError(t, err)
	code, why, err := cl.Tap(ctx, phone, SampleHCEPasscode, 150000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, code, why)

	// Wrong passcodes on other phones of the same card: each refused with
	// its reason and the tries left, the fifth locks the provisioning.
	for i := 1; i <= 5; i++ {
		other, err := cl.NewApp("35209900AABB007" + string(rune('0'+i)))
		require.NoError(t, err)
		_, err = other.RegisterWithPasscode(ctx, cl.RequestID(), ref, fc.Card.SecurityCode, "9753", "")
		require.ErrorIs(t, err, wire.ErrRefused, "try %d", i)
		want := string(idv.ReasonPasscodeWrong)
		if i == 5 {
			want = string(idv.ReasonIDVLocked)
		}
		require.Equal(t, want, wire.RefusalFor(err).Reason, "try %d", i)
	}
	locked, err := cl.NewApp("35209900AABB0079")
	require.NoError(t, err)
	_, err = locked.RegisterWithPasscode(ctx, cl.RequestID(), ref, fc.Card.SecurityCode, SamplePIN, "")
	require.ErrorIs(t, err, wire.ErrRefused)
	require.Equal(t, string(idv.ReasonIDVLocked), wire.RefusalFor(err).Reason, "locked until the service centre resets it")
}
