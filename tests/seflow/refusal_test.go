package seflow_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire"
)

// issuerOwned is a ready order for a fresh registered device.
func issuerOwned(t *testing.T, r *rig, id string, serial byte) (*device, order) {
	t.Helper()
	d := r.device(id, serial, true)
	p := perso(t, "visa-se-phone")
	sc, err := tsm.IssuerOwned(phone.ISDAID, d.isdKeys, tsm.Keys{KVN: 0x30, Keys: keySet(0x60)}, p)
	require.NoError(t, err)
	return d, r.order(d, p, sc, false)
}

// R-S3a: an order for an SE the SE operator did not register for the
// device and phone number is refused by the SP TSM before any hand-over.
func TestNotDesignatedSE(t *testing.T) {
	r := newRig(t)
	d := r.device("carol-phone", 3, false)
	p := perso(t, "visa-se-phone")
	sc, err := tsm.IssuerOwned(phone.ISDAID, d.isdKeys, tsm.Keys{KVN: 0x30, Keys: keySet(0x60)}, p)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonNotDesignated, reason(t, r.submit(r.order(d, p, sc, false))))
	require.Empty(t, r.se.Dump())
	require.Empty(t, r.sp.Dump())
}

// R-S3a: at download the SE TSM reads the CPLC of the SE behind the agent;
// another SE than the designated one gets nothing.
func TestOtherSEBehindAgent(t *testing.T) {
	r := newRig(t)
	d, o := issuerOwned(t, r, "dave-phone", 4)
	require.NoError(t, r.submit(o))
	other := r.device("mallory-phone", 5, false)
	a := r.agent(d)
	a.SE = other.ph.SE().Process
	res, err := a.Run(ctx, o.OrderID, o.otp)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonNotDesignated, res.Outcome)
	n, err := other.ph.SyncSE()
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, r.se.Dump(), "R-G5g: the script is erased")
}

// R-S3c: a wrong one-time code is refused by the issuer's ID&V; the third
// locks and cancels the order.
func TestWrongOTP(t *testing.T) {
	r := newRig(t)
	d, o := issuerOwned(t, r, "erin-phone", 6)
	require.NoError(t, r.submit(o))
	a := r.agent(d)
	for i := 0; i < rigTries-1; i++ {
		_, err := a.Run(ctx, o.OrderID, "000000")
		require.Equal(t, tsm.ReasonOTPWrong, reason(t, err))
	}
	_, err := a.Run(ctx, o.OrderID, "000000")
	require.Equal(t, tsm.ReasonIDVLocked, reason(t, err))
	_, err = a.Run(ctx, o.OrderID, o.otp)
	require.Equal(t, tsm.ReasonNoOrder, reason(t, err))
	require.Empty(t, r.se.Dump())
}

// R-G5e, R-G2: an SCP03 card cryptogram that does not verify (the
// script's keys are not the SE's) ends the download with its reason.
func TestCardCryptogramFails(t *testing.T) {
	r := newRig(t)
	d := r.device("frank-phone", 7, true)
	p := perso(t, "visa-se-phone")
	sc, err := tsm.IssuerOwned(phone.ISDAID, tsm.Keys{KVN: 1, Keys: keySet(0x99)}, tsm.Keys{KVN: 0x30, Keys: keySet(0x60)}, p)
	require.NoError(t, err)
	o := r.order(d, p, sc, false)
	require.Equal(t, tsm.ReasonCardCryptogram, r.download(t, d, o))
}

// R-S3b, R-G2: a command whose C-MAC the SE does not verify (altered on
// the way through the agent) is refused by the SE and ends the session.
func TestBadCMAC(t *testing.T) {
	r := newRig(t)
	d, o := issuerOwned(t, r, "grace-phone", 8)
	require.NoError(t, r.submit(o))
	a := r.agent(d)
	done := false
	a.Tamper = func(_ int, c []byte) []byte {
		if !done && c[1] == 0xE6 {
			done = true
			c[5] ^= 1
		}
		return c
	}
	res, err := a.Run(ctx, o.OrderID, o.otp)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonBadMAC, res.Outcome)
}

// R-S3b: STORE DATA blocks out of order are refused by the SE, and the
// download ends with its reason.
func TestStoreDataOutOfOrder(t *testing.T) {
	r := newRig(t)
	d := r.device("heidi-phone", 9, true)
	p := perso(t, "visa-se-phone")
	sc, err := tsm.IssuerOwned(phone.ISDAID, d.isdKeys, tsm.Keys{KVN: 0x30, Keys: keySet(0x60)}, p)
	require.NoError(t, err)
	cmds := sc.Sessions[1].Commands
	var stores []int
	for i, c := range cmds {
		if b, _ := hex.DecodeString(c.APDU); b[1] == 0xE2 {
			stores = append(stores, i)
		}
	}
	require.GreaterOrEqual(t, len(stores), 2)
	cmds[stores[0]], cmds[stores[1]] = cmds[stores[1]], cmds[stores[0]]
	o := r.order(d, p, sc, false)
	require.Equal(t, tsm.ReasonOutOfOrder, r.download(t, d, o))
}

// R-G4: an OTA step sent twice is refused, and so is any step of a
// session that is over; a step from another certificate than the one
// that opened the session is refused too.
func TestReplayedOTA(t *testing.T) {
	r := newRig(t)
	d, o := issuerOwned(t, r, "ivan-phone", 10)
	require.NoError(t, r.submit(o))
	var first tsm.OTANext
	require.NoError(t, r.phoneCl.PostJSON(ctx, r.otaURL+"/open", tsm.OTAOpen{DeviceID: d.id, OrderID: o.OrderID, OTP: o.otp}, &first))
	c, err := hex.DecodeString(first.Command)
	require.NoError(t, err)
	step := tsm.OTAStep{Session: first.Session, Step: first.Step, Response: hex.EncodeToString(d.ph.SE().Process(c))}
	var next tsm.OTANext
	require.Equal(t, tsm.ReasonPeer, reason(t, r.phone2Cl.PostJSON(ctx, r.otaURL+"/step", step, &next)),
		"a step comes from the certificate that opened the session")
	require.NoError(t, r.phoneCl.PostJSON(ctx, r.otaURL+"/step", step, &next))
	require.Equal(t, tsm.ReasonOTAReplay, reason(t, r.phoneCl.PostJSON(ctx, r.otaURL+"/step", step, &next)))

	d2, o2 := issuerOwned(t, r, "judy-phone", 11)
	require.NoError(t, r.submit(o2))
	a := r.agent(d2)
	res, err := a.Run(ctx, o2.OrderID, o2.otp)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonPersonalised, res.Outcome)
	require.Equal(t, tsm.ReasonOTAClosed, reason(t, a.Replay(ctx, res.Last)))
}

// R-S4e: one phone gets one personalisation set: a second order for the
// same SE and SSD is refused.
func TestSecondPersonalisation(t *testing.T) {
	r := newRig(t)
	d, o := issuerOwned(t, r, "ken-phone", 12)
	require.Equal(t, tsm.ReasonPersonalised, r.download(t, d, o))
	again := r.order(d, perso(t, "visa-se-phone"), o.script, false)
	require.Equal(t, tsm.ReasonAlreadyDone, reason(t, r.submit(again)))
}

// R-S4b: the OTA listener serves no back-office path, and the back office
// refuses a phone's certificate; an order not signed by a trusted issuer
// is refused (R-G1, R-G2).
func TestListenersApart(t *testing.T) {
	r := newRig(t)
	err := r.phoneCl.PostJSON(ctx, r.otaURL+"/handover", tsm.Check{}, nil)
	require.Error(t, err)
	var ref *wire.Refusal
	require.False(t, errors.As(err, &ref) && ref.Reason == "", "answered, not served")

	d, o := issuerOwned(t, r, "leo-phone", 13)
	tok, err := tsm.OrderFor(r.issuer, r.spParty.Public(), o.Order, o.script, wire.Header{Clock: r.clock.Now})
	require.NoError(t, err)
	_, _, err = r.phoneCl.Post(ctx, r.spURL+"/order", wire.MediaJOSE, []byte(tok))
	require.Equal(t, tsm.ReasonPeer, reason(t, err), "a phone's certificate cannot place orders")
	_ = d
	// A phone reaching the back office with a sealed check is refused by
	// its certificate.
	chk, err := wire.Seal(tsm.Check{SEID: d.seid, DeviceID: d.id, PhoneNumber: phoneNo}, r.spParty, r.seParty.Public(), wire.Header{Type: tsm.TypeCheck, Clock: r.clock.Now})
	require.NoError(t, err)
	_, _, err = r.phoneCl.Post(ctx, r.boURL+"/check", wire.MediaJOSE, []byte(chk))
	require.Equal(t, tsm.ReasonPeer, reason(t, err), "R-S4b")
	tok, err = tsm.OrderFor(r.spParty, r.spParty.Public(), o.Order, o.script, wire.Header{Clock: r.clock.Now})
	require.NoError(t, err)
	_, _, err = r.issuerCl.Post(ctx, r.spURL+"/order", wire.MediaJOSE, []byte(tok))
	require.ErrorIs(t, err, wire.ErrRefused)
}

// An OTA session whose agent falls silent ends, and its script is erased
// (R-G5g); an order no device opens is erased too.
func TestSilentOTASessionEnds(t *testing.T) {
	r := newRig(t)
	d, o := issuerOwned(t, r, "nina-phone", 14)
	require.NoError(t, r.submit(o))
	var first tsm.OTANext
	require.NoError(t, r.phoneCl.PostJSON(ctx, r.otaURL+"/open", tsm.OTAOpen{DeviceID: d.id, OrderID: o.OrderID, OTP: o.otp}, &first))
	require.NotEmpty(t, r.se.Dump())
	r.clock.Advance(6 * time.Minute)
	c, err := hex.DecodeString(first.Command)
	require.NoError(t, err)
	step := tsm.OTAStep{Session: first.Session, Step: first.Step, Response: hex.EncodeToString(d.ph.SE().Process(c))}
	require.Equal(t, tsm.ReasonOTAClosed, reason(t, r.phoneCl.PostJSON(ctx, r.otaURL+"/step", step, &tsm.OTANext{})))
	require.Empty(t, r.se.Dump())

	d2, o2 := issuerOwned(t, r, "olga-phone", 15)
	require.NoError(t, r.submit(o2))
	r.clock.Advance(25 * time.Hour)
	_, err = r.agent(d2).Run(ctx, o2.OrderID, o2.otp)
	require.Equal(t, tsm.ReasonNoOrder, reason(t, err))
	require.Empty(t, r.se.Dump())
}

// R-S4e: a second order while the first still waits is refused as in
// progress; after a failed download the issuer may order again, and the
// SE, once personalised, takes no further set.
func TestRetryAfterFailedDownload(t *testing.T) {
	r := newRig(t)
	d := r.device("pat-phone", 16, true)
	p := perso(t, "visa-se-phone")
	bad, err := tsm.IssuerOwned(phone.ISDAID, tsm.Keys{KVN: 1, Keys: keySet(0x99)}, tsm.Keys{KVN: 0x30, Keys: keySet(0x60)}, p)
	require.NoError(t, err)
	o1 := r.order(d, p, bad, false)
	require.NoError(t, r.submit(o1))
	good, err := tsm.IssuerOwned(phone.ISDAID, d.isdKeys, tsm.Keys{KVN: 0x30, Keys: keySet(0x60)}, p)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonInProgress, reason(t, r.submit(r.order(d, p, good, false))))

	res, err := r.agent(d).Run(ctx, o1.OrderID, o1.otp)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonCardCryptogram, res.Outcome)

	o2 := r.order(d, p, good, false)
	require.NoError(t, r.submit(o2), "the failed order no longer holds the SE")
	res, err = r.agent(d).Run(ctx, o2.OrderID, o2.otp)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonPersonalised, res.Outcome)
	require.Equal(t, tsm.ReasonAlreadyDone, reason(t, r.submit(r.order(d, p, good, false))))
}

// R-G2: a host decides only on what is authenticated: responses carry an R-MAC,
// so an agent that answers "done" for the SE is caught, and the download
// does not count as personalised.
func TestForgedResponse(t *testing.T) {
	r := newRig(t)
	d, o := issuerOwned(t, r, "quinn-phone", 17)
	require.NoError(t, r.submit(o))
	a := r.agent(d)
	se := a.SE
	a.SE = func(c []byte) []byte {
		if c[1] == 0xE2 {
			return []byte{0x90, 0x00}
		}
		return se(c)
	}
	res, err := a.Run(ctx, o.OrderID, o.otp)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonBadRMAC, res.Outcome)
}

// R-G2: a host decides only on what is authenticated: a script not sealed by a
// trusted issuer (here by the SE TSM, a party the SP TSM knows) is refused
// with the order.
func TestScriptNotFromIssuer(t *testing.T) {
	r := newRig(t)
	d, o := issuerOwned(t, r, "sam-phone", 19)
	forged, err := wire.Seal(o.script, r.seParty, r.spParty.Public(), wire.Header{Type: tsm.TypeScript, Clock: r.clock.Now})
	require.NoError(t, err)
	o.Order.Script = forged
	tok, err := wire.Seal(o.Order, r.issuer, r.spParty.Public(), wire.Header{Type: tsm.TypeOrder, Clock: r.clock.Now})
	require.NoError(t, err)
	_, _, err = r.issuerCl.Post(ctx, r.spURL+"/order", wire.MediaJOSE, []byte(tok))
	require.Equal(t, wire.ReasonIssuer, reason(t, err))
	_, err = r.agent(d).Run(ctx, o.OrderID, o.otp)
	require.Equal(t, tsm.ReasonNoOrder, reason(t, err))
	require.Empty(t, r.sp.Dump())
}

// R-G2, R-S3a: a script is bound to its order and its SE by the issuer's
// signature: moved into another order (for another SE) it is refused with
// the order.
func TestScriptMovedToAnotherOrder(t *testing.T) {
	r := newRig(t)
	_, o1 := issuerOwned(t, r, "tom-phone", 20)
	_, o2 := issuerOwned(t, r, "uma-phone", 21)
	bound := func(o order) tsm.Script {
		s := o.script
		s.OrderID, s.SEID = o.OrderID, o.SEID
		return s
	}
	for name, c := range map[string]struct {
		o  order
		sc tsm.Script
	}{"moved": {o2, bound(o1)}} {
		sealed, err := wire.Seal(c.sc, r.issuer, r.spParty.Public(), wire.Header{Type: tsm.TypeScript, Clock: r.clock.Now})
		require.NoError(t, err)
		c.o.Order.Script = sealed
		tok, err := wire.Seal(c.o.Order, r.issuer, r.spParty.Public(), wire.Header{Type: tsm.TypeOrder, Clock: r.clock.Now})
		require.NoError(t, err)
		_, _, err = r.issuerCl.Post(ctx, r.spURL+"/order", wire.MediaJOSE, []byte(tok))
		require.Equal(t, tsm.ReasonScriptMismatch, reason(t, err), name)
	}
}

// R-G3c: the one-time code follows the issuer's ID&V rules for a code's
// life: it is good for 5 minutes after the order reached the SE TSM (then
// the order is cancelled as expired), and once a download opened with it,
// it opens nothing more.
func TestOTPExpiresAndIsSingleUse(t *testing.T) {
	r := newRig(t)
	d, o := issuerOwned(t, r, "quinn-phone", 17)
	require.NoError(t, r.submit(o))
	r.clock.Advance(5*time.Minute + time.Second)
	_, err := r.agent(d).Run(ctx, o.OrderID, o.otp)
	require.Equal(t, tsm.ReasonOTPExpired, reason(t, err))
	_, err = r.agent(d).Run(ctx, o.OrderID, o.otp)
	require.Equal(t, tsm.ReasonNoOrder, reason(t, err), "the expired order is cancelled")
	require.Empty(t, r.se.Dump())

	d2, o2 := issuerOwned(t, r, "rita-phone", 18)
	require.NoError(t, r.submit(o2))
	r.clock.Advance(time.Minute)
	res, err := r.agent(d2).Run(ctx, o2.OrderID, o2.otp)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonPersonalised, res.Outcome)
	_, err = r.agent(d2).Run(ctx, o2.OrderID, o2.otp)
	require.Equal(t, tsm.ReasonNoOrder, reason(t, err), "the code is spent")
}

// R-G5g: a download whose phone falls silent ends by the TSMs' own clock
// even when no request comes any more: the SE TSM's session and the SP
// TSM's side of it are gone, and so are the orders no phone opened.
func TestSilentSessionsSweptWithoutRequests(t *testing.T) {
	r := newRigSweeping(t, 5*time.Millisecond)
	d, o := issuerOwned(t, r, "wes-phone", 25)
	require.NoError(t, r.submit(o))
	var first tsm.OTANext
	require.NoError(t, r.phoneCl.PostJSON(ctx, r.otaURL+"/open", tsm.OTAOpen{DeviceID: d.id, OrderID: o.OrderID, OTP: o.otp}, &first))
	_, o2 := issuerOwned(t, r, "xia-phone", 26)
	require.NoError(t, r.submit(o2))
	require.NotEmpty(t, r.se.Dump())
	require.NotEmpty(t, r.sp.Dump())
	r.clock.Advance(25 * time.Hour)
	require.Eventually(t, func() bool {
		if len(r.se.Dump()) != 0 {
			return false
		}
		for _, l := range r.sp.Dump() {
			if strings.HasPrefix(l, "script ") || strings.HasPrefix(l, "download ") {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond)
}

// R-S3c, R-S4a: whoever reads the SE TSM's store while an order waits for
// its download finds nothing of the cardholder's code: neither the code
// nor a hash of it to try the million 6-digit codes against offline; the
// issuer's ID&V alone checks it, through the SP TSM.
func TestSEStoreHoldsNothingOfTheCode(t *testing.T) {
	r := newRig(t)
	_, o := issuerOwned(t, r, "noa-phone", 30)
	require.NoError(t, r.submit(o))
	d, err := tsm.Dump(r.seStore, tsm.StoreKinds...)
	require.NoError(t, err)
	all := strings.Join(d, "\n")
	require.Contains(t, all, o.OrderID, "the order waits in the store")
	sum := sha256.Sum256([]byte(o.OrderID + "|" + o.otp))
	for _, v := range []string{o.otp, hex.EncodeToString(sum[:]), "otp"} {
		require.NotContains(t, all, v)
	}
}
