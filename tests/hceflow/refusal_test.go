package hceflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
	issuercloud "github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/provision/cloudsvc"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// R-S3d: a wrong OTP binds nothing; the right one, typed next, binds.
func TestHCERegistrationWrongOTP(t *testing.T) {
	w := newWorld(t)
	phone := w.phone("alice-phone-1", 1)
	res, err := phone.Register(ctx, w.requestID(), aliceRef, w.codes[alicePAN], "", "")
	require.NoError(t, err)
	otp := w.lastOTP(alicePhoneNo)
	wrong := "000000"
	if otp == wrong {
		wrong = "111111"
	}
	_, err = phone.VerifyRegistration(ctx, res.RegistrationID, wrong)
	refused(t, err, string(idv.ReasonOTPWrong))
	require.Empty(t, w.platform.Bindings(aliceRef))
	_, err = phone.Download(ctx, aliceRef)
	refused(t, err, cloudsvc.ReasonNotBound)

	_, err = phone.VerifyRegistration(ctx, res.RegistrationID, otp)
	require.NoError(t, err)
	require.Len(t, w.platform.Bindings(aliceRef), 1)
}

// R-S3d: a wrong security code is refused by the issuer before any OTP
// is sent; a card the platform does not serve is unknown_card.
func TestHCERegistrationWrongCardData(t *testing.T) {
	w := newWorld(t)
	phone := w.phone("alice-phone-1", 1)
	code := "000"
	if w.codes[alicePAN] == code {
		code = "111"
	}
	_, err := phone.Register(ctx, w.requestID(), aliceRef, code, "", "")
	refused(t, err, string(idv.ReasonSecurityCodeWrong))
	_, err = phone.Register(ctx, w.requestID(), "card-nobody", w.codes[alicePAN], "", "")
	refused(t, err, cloudsvc.ReasonUnknownCard)
	require.Empty(t, w.platform.Bindings(aliceRef))
}

// R-S3d, R-S5d: a phone bound to Alice's card cannot be registered by
// Bob for his card, even with Bob's right card data; registering the
// same phone twice for the same card is refused too.
func TestHCESecondRegistrationByAnotherPerson(t *testing.T) {
	w := newWorld(t)
	phone := w.phone("alice-phone-1", 1)
	w.register(phone, aliceRef, alicePAN, alicePhoneNo)

	// Bob, holding the phone (the same hardware ID), with a reinstalled
	// app and so new device keys.
	thief := w.phone("alice-phone-1", 9)
	_, err := thief.Register(ctx, w.requestID(), bobRef, w.codes[bobPAN], "", "")
	refused(t, err, cloudsvc.ReasonBoundToOtherHolder)
	_, err = phone.Register(ctx, w.requestID(), aliceRef, w.codes[alicePAN], "", "")
	refused(t, err, cloudsvc.ReasonAlreadyBound)
	require.Empty(t, w.platform.Bindings(bobRef))

	// Two registrations of one phone waiting at once, by two
	// cardholders: the first verified binds, the second is refused when
	// its OTP comes.
	ap, bp := w.phone("shared-phone", 21), w.phone("shared-phone", 22)
	ra, err := ap.Register(ctx, w.requestID(), aliceRef, w.codes[alicePAN], "", "")
	require.NoError(t, err)
	otpA := w.lastOTP(alicePhoneNo)
	rb, err := bp.Register(ctx, w.requestID(), bobRef, w.codes[bobPAN], "", "")
	require.NoError(t, err)
	otpB := w.lastOTP(bobPhoneNo)
	_, err = ap.VerifyRegistration(ctx, ra.RegistrationID, otpA)
	require.NoError(t, err)
	_, err = bp.VerifyRegistration(ctx, rb.RegistrationID, otpB)
	refused(t, err, cloudsvc.ReasonBoundToOtherHolder)
	require.Empty(t, w.platform.Bindings(bobRef))

	// A registration envelope not signed by the keys it carries.
	other := wiretest.Party(t, "hce-other", 77)
	env, err := wire.Seal(wire.HCERegister{RequestID: "r-x", DeviceID: "bob-phone", CardRef: bobRef, SecurityCode: w.codes[bobPAN]},
		other, w.platform.Public(), wire.Header{Type: wire.TypeHCERegister, Clock: w.clock.Now})
	require.NoError(t, err)
	err = w.client().PostJSON(ctx, w.url+wire.PathHCERegister, wire.HCERegisterRequest{DevicePublicKeys: thief.DeviceKeys(), Envelope: env}, &wire.HCERegisterResult{})
	refused(t, err, cloudsvc.ReasonProofOfPossession)
}

// R-S3e: the download needs a fresh challenge signed by the bound device
// key with the bound device ID; a signature by another key, a used or
// expired challenge and another device ID are each refused.
func TestHCEDownloadChallenge(t *testing.T) {
	w := newWorld(t)
	phone := w.phone("alice-phone-1", 1)
	w.register(phone, aliceRef, alicePAN, alicePhoneNo)
	other := w.phone("alice-phone-1", 9) // same ID, other keys

	ch, err := phone.Challenge(ctx, aliceRef)
	require.NoError(t, err)
	badSig, err := other.SignChallenge(ch.Challenge, aliceRef)
	require.NoError(t, err)
	_, err = phone.DownloadWith(ctx, wire.HCEDownloadRequest{DeviceID: "alice-phone-1", CardRef: aliceRef, Challenge: ch.Challenge, Signature: badSig})
	refused(t, err, cloudsvc.ReasonChallengeSignature)

	// The challenge is spent by any attempt.
	sig, err := phone.SignChallenge(ch.Challenge, aliceRef)
	require.NoError(t, err)
	_, err = phone.DownloadWith(ctx, wire.HCEDownloadRequest{DeviceID: "alice-phone-1", CardRef: aliceRef, Challenge: ch.Challenge, Signature: sig})
	refused(t, err, cloudsvc.ReasonChallengeInvalid)

	// An expired challenge.
	ch, err = phone.Challenge(ctx, aliceRef)
	require.NoError(t, err)
	w.clock.Advance(cloudsvc.DefaultChallengeTTL)
	sig, err = phone.SignChallenge(ch.Challenge, aliceRef)
	require.NoError(t, err)
	_, err = phone.DownloadWith(ctx, wire.HCEDownloadRequest{DeviceID: "alice-phone-1", CardRef: aliceRef, Challenge: ch.Challenge, Signature: sig})
	refused(t, err, cloudsvc.ReasonChallengeInvalid)

	// Another device ID than the binding's.
	_, err = phone.DownloadWith(ctx, wire.HCEDownloadRequest{DeviceID: "alice-phone-2", CardRef: aliceRef, Challenge: ch.Challenge, Signature: sig})
	refused(t, err, cloudsvc.ReasonDeviceMismatch)

	// A phone that is not bound gets no challenge.
	_, err = other.Challenge(ctx, aliceRef)
	refused(t, err, cloudsvc.ReasonNotBound)

	_, err = phone.Download(ctx, aliceRef)
	require.NoError(t, err)
	_, err = phone.Download(ctx, aliceRef)
	refused(t, err, cloudsvc.ReasonAlreadyDownloaded)
}

// R-S3f, R-G1, R-G2: a batch altered in transit, or sealed to another
// phone, is refused by the app and installs nothing.
func TestHCETamperedBatch(t *testing.T) {
	w := newWorld(t)
	a := w.phone("alice-phone-1", 1)
	b := w.phone("alice-phone-2", 2)
	w.register(a, aliceRef, alicePAN, alicePhoneNo)
	w.register(b, aliceRef, alicePAN, alicePhoneNo)

	req := func(app *hceapp.App) wire.HCEDownloadRequest {
		ch, err := app.Challenge(ctx, aliceRef)
		require.NoError(t, err)
		sig, err := app.SignChallenge(ch.Challenge, aliceRef)
		require.NoError(t, err)
		return wire.HCEDownloadRequest{DeviceID: app.DeviceID(), CardRef: aliceRef, Challenge: ch.Challenge, Signature: sig}
	}
	env, err := a.RequestDownload(ctx, req(a))
	require.NoError(t, err)
	tampered := []byte(env)
	i := len(tampered) / 2
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	_, err = a.Install(aliceRef, string(tampered))
	require.ErrorIs(t, err, hceapp.ErrBatch)
	_, ok := a.Card(aliceRef)
	require.False(t, ok)

	// B's batch handed to A.
	envB, err := b.RequestDownload(ctx, req(b))
	require.NoError(t, err)
	_, err = a.Install(aliceRef, envB)
	require.ErrorIs(t, err, hceapp.ErrBatch)
	_, ok = a.Card(aliceRef)
	require.False(t, ok)

	// The genuine batch installs on A.
	_, err = a.Install(aliceRef, env)
	require.NoError(t, err)
	c, ok := a.Card(aliceRef)
	require.True(t, ok)
	require.Equal(t, 5, c.KeysLeft())
}

// Replenishment: authenticated by the device key; a phone not bound, not
// yet downloaded, asking too often or suspended is refused with its
// reason.
func TestHCEReplenish(t *testing.T) {
	w := newWorld(t)
	phone := w.phone("alice-phone-1", 1)
	w.register(phone, aliceRef, alicePAN, alicePhoneNo)

	_, err := phone.RequestReplenish(ctx, aliceRef, nil)
	refused(t, err, cloudsvc.ReasonNotDownloaded)

	card, err := phone.Download(ctx, aliceRef)
	require.NoError(t, err)
	_, err = phone.Replenish(ctx, aliceRef)
	refused(t, err, cloudsvc.ReasonTooFrequent)
	w.clock.Advance(10 * time.Minute)
	left, err := phone.Replenish(ctx, aliceRef)
	require.NoError(t, err)
	require.Equal(t, 10, left)
	_, err = w.pay(card, aliceRef, 100, true)
	require.NoError(t, err)

	// A transaction log naming a key the platform never issued to this
	// phone.
	w.clock.Advance(10 * time.Minute)
	_, err = phone.RequestReplenish(ctx, aliceRef, []string{"6816199"})
	refused(t, err, cloudsvc.ReasonTransactionLog)

	// A phone whose keys are not bound (a reinstalled app).
	stranger := w.phone("alice-phone-1", 9)
	_, err = stranger.RequestReplenish(ctx, aliceRef, nil)
	refused(t, err, cloudsvc.ReasonNotBound)
	// Bob's phone, bound to Bob's card, for Alice's card.
	bob := w.phone("bob-phone", 3)
	w.enrol(bob, bobRef, bobPAN, bobPhoneNo)
	_, err = bob.RequestReplenish(ctx, aliceRef, nil)
	refused(t, err, cloudsvc.ReasonNotBound)

	// Suspended.
	_, err = w.platform.ReportLost("call-centre", aliceRef, "alice-phone-1")
	require.NoError(t, err)
	w.clock.Advance(10 * time.Minute)
	_, err = phone.Replenish(ctx, aliceRef)
	refused(t, err, cloudsvc.ReasonDeviceSuspended)
}

// Replenishment reconciles the phone's transaction log with the issuer's
// record: a key the issuer saw serve a transaction that the phone says it
// still holds (a copy of the card paid with it) refuses the replenishment;
// a log sent again (its answer lost) is taken again; and a log sent with a
// refused request is sent again with the next one.
func TestHCEReplenishReconcilesTheLog(t *testing.T) {
	w := newWorld(t)
	phone := w.phone("alice-phone-1", 1)
	card := w.enrol(phone, aliceRef, alicePAN, alicePhoneNo)

	// Paid, then asked too early: refused, the log kept for the next
	// request, which is taken.
	paid, err := card.Pay(terminal(100, 1), hceapp.Verification{CDCVM: true})
	require.NoError(t, err)
	_, err = w.verify(aliceRef, paid, paid.DeviceID)
	require.NoError(t, err)
	_, err = phone.Replenish(ctx, aliceRef)
	refused(t, err, cloudsvc.ReasonTooFrequent)
	w.clock.Advance(10 * time.Minute)
	_, err = phone.Replenish(ctx, aliceRef)
	require.NoError(t, err, "the log of the refused request went again")

	// The same log again, as a phone whose answer was lost sends it: taken.
	w.clock.Advance(10 * time.Minute)
	_, err = phone.RequestReplenish(ctx, aliceRef, []string{paid.KeyIndex})
	require.NoError(t, err)

	// A copy of the card pays with the oldest key the phone holds: the
	// issuer counts it, the phone does not report it.
	clone := card.Copy()
	_, err = w.pay(clone, aliceRef, 100, true)
	require.NoError(t, err)
	w.clock.Advance(10 * time.Minute)
	_, err = phone.Replenish(ctx, aliceRef)
	refused(t, err, cloudsvc.ReasonTransactionLog)
	var ref *wire.Refusal
	require.ErrorAs(t, err, &ref)
	require.Contains(t, ref.Message, "does not report")
}

// Replenishment on the time threshold: a day later the phone's keys are
// past their time to live; the app forgets them, asks for a new batch and
// pays with it.
func TestHCETimeThreshold(t *testing.T) {
	w := newWorld(t)
	app := w.phone("alice-phone-1", 1)
	card := w.enrol(app, aliceRef, alicePAN, alicePhoneNo)
	old, err := card.Pay(terminal(100, 1), hceapp.Verification{CDCVM: true})
	require.NoError(t, err)
	w.clock.Advance(25 * time.Hour)
	_, err = w.verify(aliceRef, old, "")
	tapRefused(t, err, issuercloud.TapKeyExpired)
	asked, err := app.ReplenishIfLow(ctx, aliceRef, 0)
	require.NoError(t, err)
	require.True(t, asked)
	require.Equal(t, 5, card.KeysLeft())
	_, err = w.pay(card, aliceRef, 100, true)
	require.NoError(t, err)
}
