package acquirer_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/internal/fakeissuer"
	"github.com/tapsim/tapsim/acquirer/internal/testhsm"
	"github.com/tapsim/tapsim/acquirer/store"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/isospec"
)

func TestApprovedAuthorisation(t *testing.T) {
	r := newRig(t, nil)
	req := r.authReq(visaPAN, 150000)
	req.RRN = "" // the acquirer assigns one
	resp := r.authorise(req)

	require.Equal(t, isospec.MTIAuthorizationResponse, resp.MTI)
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)
	require.Equal(t, "123456", resp.AuthCode)
	require.Equal(t, req.STAN, resp.STAN, "terminal's STAN restored")
	require.Equal(t, req.TransmissionDateTime, resp.TransmissionDateTime, "terminal's DE7 restored")
	require.Equal(t, tid, resp.TerminalID)
	require.Len(t, resp.RRN, 12)
	require.Equal(t, []byte{0x91, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x30}, resp.ICCData, "issuer's ARPC passed on")

	fwd := r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest)
	require.Len(t, fwd, 1)
	var got isospec.AuthorizationRequest
	require.NoError(t, isospec.Decode(fwd[0], &got))
	require.NotEqual(t, req.STAN, got.STAN, "STAN re-stamped for the issuer link")
	require.Equal(t, resp.RRN, got.RRN, "the RRN given to the terminal is the issuer link's")
	require.Equal(t, "400001", got.AcquirerID)
	require.Equal(t, visaPAN, got.PAN)
	require.Equal(t, iccData, got.ICCData)
	require.Empty(t, got.SecurityControl)
	require.True(t, r.iss.MACOK(fwd[0]), "issuer-bound message MACed under the ZAK")

	j := r.journal()
	require.Len(t, j, 1)
	require.Equal(t, "00", j[0].Code)
	require.Equal(t, "answered", j[0].State)
	require.Equal(t, "476173******0010", j[0].Masked)
}

// One RRN names a sale at the terminal, the acquirer and the issuer: the
// terminal's own reference is replaced by the one the issuer saw.
func TestOneRRNPerSale(t *testing.T) {
	r := newRig(t, nil)
	req := r.authReq(visaPAN, 100)
	req.RRN = "TERMRRN00001"
	resp := r.authorise(req)
	var got isospec.AuthorizationRequest
	require.NoError(t, isospec.Decode(r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest)[0], &got))
	require.NotEqual(t, "TERMRRN00001", got.RRN, "RRN stamped by the acquirer for the issuer link")
	require.Equal(t, got.RRN, resp.RRN, "the terminal gets the RRN the issuer saw")
}

func TestIssuerDeclinePassedOn(t *testing.T) {
	r := newRig(t, nil)
	r.iss.SetAuthFunc(func(*isospec.AuthorizationRequest) (isospec.ResponseCode, string, isospec.PrivateData, []byte) {
		return isospec.RCCryptogramFailure, "", isospec.PrivateData{DeclineReason: isospec.ReasonARQCInvalid}, nil
	})
	resp := r.authorise(r.authReq(mcPAN, 100))
	require.Equal(t, isospec.RCCryptogramFailure, resp.ResponseCode)
	require.Equal(t, isospec.ReasonARQCInvalid, reason(t, resp.PrivateData))
	j := r.journal()
	require.Equal(t, "82", j[0].Code)
	require.Equal(t, "arqc_invalid", j[0].Reason)
}

// R-G2: a message whose MAC does not verify under the terminal's TAK is
// refused with 63 and never forwarded.
func TestMAC(t *testing.T) {
	r := newRig(t, nil)
	for _, tc := range []struct {
		name string
		mac  func(d []byte) ([]byte, error)
	}{
		{"wrong MAC", func(d []byte) ([]byte, error) {
			m, err := terminalMAC(d)
			m[7] ^= 1
			return m, err
		}},
		{"MAC under another key", func(d []byte) ([]byte, error) {
			return terminalMACWith(testhsm.ZAK, d)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := r.authReq(visaPAN, 100)
			msg, err := isospec.Encode(req)
			require.NoError(t, err)
			require.NoError(t, isospec.SetMAC(msg, tc.mac))
			resp := r.send(msg)
			require.Equal(t, "63", de(t, resp, isospec.FieldResponseCode))
			require.Equal(t, req.STAN, de(t, resp, isospec.FieldSTAN))
			r.requireTerminalMAC(resp)
			var ar isospec.AuthorizationResponse
			require.NoError(t, isospec.Decode(resp, &ar))
			require.Equal(t, isospec.ReasonMACInvalid, reason(t, ar.PrivateData))

			// The same message with a good MAC is not taken for a duplicate.
			ok := r.authorise(req)
			require.Equal(t, isospec.RCApproved, ok.ResponseCode)
		})
	}
	t.Run("no MAC", func(t *testing.T) {
		msg, err := isospec.Encode(r.authReq(visaPAN, 100))
		require.NoError(t, err)
		require.Equal(t, "63", de(t, r.send(msg), isospec.FieldResponseCode))
	})
	t.Run("tampered after MAC", func(t *testing.T) {
		req := r.authReq(visaPAN, 100)
		msg := r.encode(req)
		require.NoError(t, msg.Field(isospec.FieldAmount, "999999"))
		require.Equal(t, "63", de(t, r.send(msg), isospec.FieldResponseCode))
	})
	t.Run("unknown terminal", func(t *testing.T) {
		req := r.authReq(visaPAN, 100)
		req.TerminalID = "T9999999"
		resp := r.send(r.encode(req))
		require.Equal(t, "63", de(t, resp, isospec.FieldResponseCode))
		require.Empty(t, de(t, resp, isospec.FieldMAC), "no key to MAC the answer")
	})
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest), 2, "only the good ones forwarded")
}

// A terminal whose MAC is optional may send without one; a MAC it does
// send must still verify, and its answers are MACed.
func TestMACOptionalTerminal(t *testing.T) {
	r := newRig(t, func(c *acquirer.Config) { c.Terminals[0].MACOptional = true })
	msg, err := isospec.Encode(r.authReq(visaPAN, 100))
	require.NoError(t, err)
	resp := r.send(msg)
	require.Equal(t, "00", de(t, resp, isospec.FieldResponseCode))
	r.requireTerminalMAC(resp)

	req := r.authReq(visaPAN, 100)
	bad, err := isospec.Encode(req)
	require.NoError(t, err)
	require.NoError(t, isospec.SetMAC(bad, func(d []byte) ([]byte, error) { return terminalMACWith(testhsm.ZAK, d) }))
	require.Equal(t, "63", de(t, r.send(bad), isospec.FieldResponseCode), "a wrong MAC is refused still")
}

func terminalMACWith(hexKey string, d []byte) ([]byte, error) {
	return macAlg3(keys.MustHex(keys.TDES, hexKey), d)
}

func TestFormatError(t *testing.T) {
	r := newRig(t, nil)
	for name, mod := range map[string]func(*isospec.AuthorizationRequest){
		"no amount currency":     func(q *isospec.AuthorizationRequest) { q.Currency = "" },
		"no entry mode":          func(q *isospec.AuthorizationRequest) { q.POSEntryMode = "" },
		"chip read without DE55": func(q *isospec.AuthorizationRequest) { q.ICCData = nil },
		"no PAN nor track 2":     func(q *isospec.AuthorizationRequest) { q.PAN = "" },
		"impossible date":        func(q *isospec.AuthorizationRequest) { q.TransmissionDateTime = "1332250000" },
		"DE55 not BER-TLV":       func(q *isospec.AuthorizationRequest) { q.ICCData = []byte{0x9F, 0x26, 0x09, 1} },
		"PIN without KSN": func(q *isospec.AuthorizationRequest) {
			q.PINBlock = bytes.Repeat([]byte{1}, 8)
		},
		"KSN of 5 bytes": func(q *isospec.AuthorizationRequest) {
			q.PINBlock, q.SecurityControl = bytes.Repeat([]byte{1}, 8), []byte{1, 2, 3, 4, 5}
		},
	} {
		t.Run(name, func(t *testing.T) {
			req := r.authReq(visaPAN, 100)
			mod(req)
			resp := r.authorise(req)
			require.Equal(t, isospec.RCFormatError, resp.ResponseCode)
			require.Equal(t, isospec.ReasonFormat, reason(t, resp.PrivateData))
		})
	}
	require.Empty(t, r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest))
}

// R-G4: the same TID, STAN and DE7 within the window is refused with 94,
// even after a restart of the acquirer; never forwarded twice. With a
// memory of a few keys only, older keys are found in the journal.
func TestDuplicate(t *testing.T) {
	for _, memory := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("memory %d", memory), func(t *testing.T) { testDuplicate(t, memory) })
	}
}

func testDuplicate(t *testing.T, memory int) {
	r := newRig(t, func(c *acquirer.Config) { c.DuplicateWindow = time.Hour; c.DuplicateMemory = memory })
	req := r.authReq(visaPAN, 100)
	require.Equal(t, isospec.RCApproved, r.authorise(req).ResponseCode)

	for i := range 4 {
		r.clock.Advance(time.Second)
		other := r.authReq(visaPAN, int64(200+i))
		require.Equal(t, isospec.RCApproved, r.authorise(other).ResponseCode)
	}
	r.clock.Advance(59 * time.Minute)
	dup := r.authorise(req)
	require.Equal(t, isospec.RCDuplicateTransmission, dup.ResponseCode)
	require.Equal(t, isospec.ReasonDuplicate, reason(t, dup.PrivateData))

	// Same STAN and DE7 from another terminal is not a duplicate... but
	// that terminal is unknown here, so use another DE7 instead.
	other := *req
	other.TransmissionDateTime = isospec.TransmissionDateTime(r.clock.Now())
	require.Equal(t, isospec.RCApproved, r.authorise(&other).ResponseCode)

	r.restart()
	require.Equal(t, isospec.RCDuplicateTransmission, r.authorise(req).ResponseCode, "remembered across a restart")

	r.clock.Advance(2 * time.Minute) // window of the first sighting over
	require.Equal(t, isospec.RCApproved, r.authorise(req).ResponseCode)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest), 7)
}

// The PIN block leaves the acquirer under the zone PIN key, ISO 9564
// format 0, with the same PIN: the test deciphers it with the ZPK.
func TestPINTranslation(t *testing.T) {
	r := newRig(t, nil)
	req := r.authReq(visaPAN, 500000)
	r.withPIN(req, "1234")
	termBlock := req.PINBlock
	resp := r.authorise(req)
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)

	var got isospec.AuthorizationRequest
	require.NoError(t, isospec.Decode(r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest)[0], &got))
	require.Len(t, got.PINBlock, 8)
	require.NotEqual(t, termBlock, got.PINBlock)
	require.Empty(t, got.SecurityControl, "no KSN past the acquirer")
	zpk := keys.MustHex(keys.TDES, testhsm.ZPK)
	clearBlock, err := pin.Decrypt(zpk, got.PINBlock)
	require.NoError(t, err)
	f, err := pin.DetectFormat(clearBlock)
	require.NoError(t, err)
	require.Equal(t, pin.Format0, f)
	p, err := pin.Decode(pin.Format0, clearBlock, visaPAN)
	require.NoError(t, err)
	require.Equal(t, "1234", p)
	// And the block is exactly the format 0 block of 1234 for this PAN.
	want, err := pin.Encode(pin.Format0, "1234", visaPAN, nil)
	require.NoError(t, err)
	require.Equal(t, want, clearBlock)

	// A second transaction uses the next DUKPT key and still translates.
	req2 := r.authReq(visaPAN, 500000)
	r.withPIN(req2, "987654")
	require.Equal(t, isospec.RCApproved, r.authorise(req2).ResponseCode)
	require.NoError(t, isospec.Decode(r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest)[1], &got))
	clearBlock, err = pin.Decrypt(zpk, got.PINBlock)
	require.NoError(t, err)
	p, err = pin.Decode(pin.Format0, clearBlock, visaPAN)
	require.NoError(t, err)
	require.Equal(t, "987654", p)
}

func TestPINBlockUnderWrongKey(t *testing.T) {
	r := newRig(t, nil)
	req := r.authReq(visaPAN, 500000)
	r.withPIN(req, "1234")
	req.SecurityControl[9]++ // another transaction counter: another key
	resp := r.authorise(req)
	require.Contains(t, []isospec.ResponseCode{isospec.RCSystemMalfunction, isospec.RCFormatError}, resp.ResponseCode)
	require.Empty(t, r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest))
}

func TestRouting(t *testing.T) {
	r := newRig(t, nil)
	// A token BIN range routes to the issuer's token service.
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(tokenPAN, 100)).ResponseCode)
	// Track 2 only: routed by the PAN inside.
	req := r.authReq(mcPAN, 100)
	req.PAN, req.Track2 = "", mcPAN+"=28122011234567"
	require.Equal(t, isospec.RCApproved, r.authorise(req).ResponseCode)
	// No range: 14 with the reason, not forwarded.
	resp := r.authorise(r.authReq(otherPAN, 100))
	require.Equal(t, isospec.RCInvalidCardNumber, resp.ResponseCode)
	require.Equal(t, isospec.ReasonNoRoute, reason(t, resp.PrivateData))
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest), 2)
	j := r.journal()
	require.Equal(t, "14", j[2].Code)
	require.Equal(t, "520474******1234", j[2].Masked)
}

func TestIssuerDown(t *testing.T) {
	r := newRig(t, nil)
	r.iss.Close()
	require.Eventually(t, func() bool { return !r.acq.LinkUp("issuer") }, 5*time.Second, 5*time.Millisecond)
	resp := r.authorise(r.authReq(visaPAN, 100))
	require.Equal(t, isospec.RCIssuerInoperative, resp.ResponseCode)
	require.Equal(t, isospec.ReasonIssuerUnavailable, reason(t, resp.PrivateData))
	require.Zero(t, r.pending(), "nothing left: nothing to reverse")
}

// An advice the issuer answers 96 (it could not take it) is not done: it
// goes again, as a 0421, until the issuer takes it.
func TestAdviceAnswered96GoesAgain(t *testing.T) {
	r := newRig(t, nil)
	r.iss.SetAuth(fakeissuer.Silent)
	r.iss.SetAdvice(fakeissuer.Malfunction)
	require.Equal(t, isospec.RCIssuerInoperative, r.authorise(r.authReq(visaPAN, 150000)).ResponseCode)

	// One delivery pass at a time, and the advice is not due again before
	// the clock moves: once this pass returns, the 0420 went once (in
	// this pass or the one the 91 set off) and its 96 was handled.
	ctx := context.Background()
	n, err := r.acq.RetryAdvices(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalAdvice), 1)
	require.Equal(t, 1, r.pending(), "answered 96: still to deliver")

	// Once this pass returns, the 0421 went (in it, or in a pass it
	// waited for).
	r.iss.SetAdvice(fakeissuer.Answer)
	r.clock.Advance(2 * time.Minute)
	_, err = r.acq.RetryAdvices(ctx)
	require.NoError(t, err)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalAdviceRepeat), 1)
	require.Zero(t, r.pending())
}

// An issuer silent past the timeout: the terminal gets 91 and a reversal
// advice is stored before the 91 leaves; it is delivered as a 0420 when
// the issuer answers again, then repeated as 0421 until acknowledged.
func TestIssuerTimeoutQueuesAdvice(t *testing.T) {
	r := newRig(t, nil)
	r.iss.SetAuth(fakeissuer.Silent)
	r.iss.SetAdvice(fakeissuer.Silent)
	req := r.authReq(visaPAN, 150000)
	resp := r.authorise(req)
	require.Equal(t, isospec.RCIssuerInoperative, resp.ResponseCode)
	require.Equal(t, 1, r.pending())
	j := r.journal()
	require.Equal(t, "timed-out", j[0].State)
	require.Equal(t, "91", j[0].Code)

	var orig isospec.AuthorizationRequest
	require.NoError(t, isospec.Decode(r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest)[0], &orig))

	// First delivery: a 0420, unanswered.
	ctx := context.Background()
	_, err := r.acq.RetryAdvices(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(r.iss.ReceivedMTI(isospec.MTIReversalAdvice)) == 1 }, 5*time.Second, 5*time.Millisecond)
	// Not due again before the retry delay.
	n, err := r.acq.RetryAdvices(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalAdvice), 1)

	// Then repeats as 0421 until the issuer acknowledges.
	r.clock.Advance(time.Minute)
	_, err = r.acq.RetryAdvices(ctx)
	require.NoError(t, err)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalAdviceRepeat), 1)
	r.iss.SetAdvice(fakeissuer.Answer)
	r.clock.Advance(2 * time.Minute)
	n, err = r.acq.RetryAdvices(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Zero(t, r.pending())

	reps := r.iss.ReceivedMTI(isospec.MTIReversalAdviceRepeat)
	require.Len(t, reps, 2)
	var adv isospec.ReversalRequest
	require.NoError(t, isospec.Decode(reps[1], &adv))
	od, err := isospec.ParseOriginalData(adv.OriginalData)
	require.NoError(t, err)
	require.Equal(t, isospec.OriginalData{MTI: "0100", STAN: orig.STAN, TransmissionDateTime: orig.TransmissionDateTime, AcquirerID: "400001"}, od,
		"DE90 names the original as the issuer saw it")
	require.Equal(t, orig.RRN, adv.RRN)
	require.Equal(t, int64(150000), adv.Amount)
	require.Equal(t, "901", adv.Currency)
	require.Equal(t, isospec.RCResponseTooLate, adv.ResponseCode)
	require.Empty(t, adv.PAN, "the acquirer kept no PAN to send")
	require.True(t, r.iss.MACOK(reps[1]))
	var first isospec.ReversalRequest
	require.NoError(t, isospec.Decode(r.iss.ReceivedMTI(isospec.MTIReversalAdvice)[0], &first))
	require.Equal(t, first.STAN, adv.STAN, "a repeat keeps the advice's STAN")

	// Nothing more to send.
	r.clock.Advance(time.Hour)
	n, err = r.acq.RetryAdvices(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalAdviceRepeat), 2)
}

func TestIssuerBadMACQueuesAdvice(t *testing.T) {
	r := newRig(t, nil)
	r.iss.SetAuth(fakeissuer.BadMAC)
	// The advice is sent at once; left unanswered, it stays queued (an
	// acknowledged one would leave the queue before it could be counted).
	r.iss.SetAdvice(fakeissuer.Silent)
	resp := r.authorise(r.authReq(visaPAN, 100))
	require.Equal(t, isospec.RCIssuerInoperative, resp.ResponseCode)
	require.Equal(t, 1, r.pending(), "an answer that cannot be trusted is reversed")
}

// Nothing lost across a restart: the advice stored before the 91 is
// delivered by the next acquirer process.
func TestAdviceSurvivesRestart(t *testing.T) {
	r := newRig(t, nil)
	r.iss.SetAuth(fakeissuer.Silent)
	r.iss.SetAdvice(fakeissuer.Silent)
	require.Equal(t, isospec.RCIssuerInoperative, r.authorise(r.authReq(visaPAN, 4200)).ResponseCode)
	_, err := r.acq.RetryAdvices(context.Background())
	require.NoError(t, err)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalAdvice), 1)

	r.iss.SetAdvice(fakeissuer.Answer)
	r.restart()
	require.Equal(t, 1, r.pending())
	r.clock.Advance(time.Minute)
	// Delivered by this call or by the worker the link's sign-on woke.
	_, err = r.acq.RetryAdvices(context.Background())
	require.NoError(t, err)
	require.Zero(t, r.pending())
	reps := r.iss.ReceivedMTI(isospec.MTIReversalAdviceRepeat)
	require.Len(t, reps, 1, "sent once before the restart, so a repeat after it")
	var adv isospec.ReversalRequest
	require.NoError(t, isospec.Decode(reps[0], &adv))
	require.Equal(t, int64(4200), adv.Amount)
}

// The worker delivers on its own once the link comes back.
func TestAdviceWorker(t *testing.T) {
	r := newRig(t, func(c *acquirer.Config) {
		c.AdviceRetry = 20 * time.Millisecond
		c.AdvicePoll = 20 * time.Millisecond
	})
	r.iss.SetAuth(fakeissuer.Silent)
	r.iss.SetAdvice(fakeissuer.Silent)
	require.Equal(t, isospec.RCIssuerInoperative, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	r.iss.SetAdvice(fakeissuer.Answer)
	// The clock is fixed, so only the first send (due at once) can happen
	// without moving it; move it along while waiting.
	require.Eventually(t, func() bool {
		r.clock.Advance(time.Second)
		return r.pending() == 0
	}, 10*time.Second, 20*time.Millisecond)
}

func TestNetworkManagementFromTerminal(t *testing.T) {
	r := newRig(t, nil)
	nm := isospec.NewNetworkManagement(isospec.NetEcho, r.nextSTAN(), r.clock.Now())
	nm.TerminalID = tid
	resp := r.send(r.encode(nm))
	require.Equal(t, "0810", de(t, resp, 0))
	require.Equal(t, "00", de(t, resp, isospec.FieldResponseCode))
	r.requireTerminalMAC(resp)

	// Without a MAC is fine for network management; with a bad one is not.
	nm.STAN = r.nextSTAN()
	msg, err := isospec.Encode(nm)
	require.NoError(t, err)
	require.Equal(t, "00", de(t, r.send(msg), isospec.FieldResponseCode))
	nm.STAN = r.nextSTAN()
	msg, err = isospec.Encode(nm)
	require.NoError(t, err)
	require.NoError(t, isospec.SetMAC(msg, func(d []byte) ([]byte, error) { return make([]byte, 8), nil }))
	require.Equal(t, "63", de(t, r.send(msg), isospec.FieldResponseCode))
}

// Advices that cannot go (no route for their BIN, or their issuer's link
// down), more than a page of them, do not hold up the one that can: a
// pass goes through them all.
func TestStuckAdvicesDoNotHoldUpOthers(t *testing.T) {
	ctx := context.Background()
	var st *store.SQL
	r := newRig(t, func(c *acquirer.Config) {
		var err error
		st, err = store.Open(c.DataDir)
		require.NoError(t, err)
		c.Store = st
	})
	de90, err := isospec.OriginalData{MTI: "0100", STAN: "000001", TransmissionDateTime: "0314092653", AcquirerID: "400001"}.Encode()
	require.NoError(t, err)
	advice := func(bin string) store.Advice {
		return store.Advice{CreatedAt: t0, BIN: bin, DE90: de90, STAN: "000001", ProcessingCode: "000000",
			RRN: "607309000001", TID: tid, MID: mid, Amount: 100, Currency: "901", MaskedPAN: "476173******0010",
			ReasonCode: "68"}
	}
	for range 70 {
		_, err := st.Enqueue(ctx, advice("999999"), store.Result{})
		require.NoError(t, err)
	}
	_, err = st.Enqueue(ctx, advice("476173"), store.Result{})
	require.NoError(t, err)

	// Once this pass returns, the routed advice went (in it, or in the
	// pass the link's sign-on set off, which it waited for).
	_, err = r.acq.RetryAdvices(ctx)
	require.NoError(t, err)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalAdvice), 1, "the advice with a route went")
	require.Equal(t, 70, r.pending())
}
