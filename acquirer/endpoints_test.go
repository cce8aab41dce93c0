package acquirer_test

import (
	"bufio"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/internal/fakeissuer"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec"
)

// twoEndpoints starts a second fake issuer and makes it a second endpoint
// of the rig's issuer: two processes of one issuer host.
func twoEndpoints(t *testing.T, mod func(*acquirer.Config)) (*rig, *fakeissuer.Issuer) {
	t.Helper()
	var second *fakeissuer.Issuer
	r := newRig(t, func(c *acquirer.Config) {
		second = fakeissuer.Start(t, "127.0.0.1:0", c.HSM, c.Issuers[0].ZAK)
		c.Issuers[0].Endpoints = []string{second.Addr()}
		if mod != nil {
			mod(c)
		}
	})
	return r, second
}

// waitLinksUp waits until n of the issuer's endpoints are signed on.
func (r *rig) waitLinksUp(n int) {
	r.t.Helper()
	require.Eventually(r.t, func() bool { up, _ := r.acq.LinksUp("issuer"); return up == n },
		10*time.Second, 5*time.Millisecond, "%d endpoint(s) up", n)
}

// patientIssuer gives the issuer time enough for every answer on a busy
// machine, for tests whose every sale must be approved.
func patientIssuer(c *acquirer.Config) { c.IssuerTimeout = 5 * time.Second }

func auths(is *fakeissuer.Issuer) int { return len(is.ReceivedMTI(isospec.MTIAuthorizationRequest)) }

// Requests take turns between two endpoints that are up; a reversal and
// the advices go to either.
func TestEndpointsSpread(t *testing.T) {
	r, second := twoEndpoints(t, patientIssuer)
	up, all := r.acq.LinksUp("issuer")
	require.Equal(t, 2, up)
	require.Equal(t, 2, all)
	for range 10 {
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	}
	require.Equal(t, 5, auths(r.iss), "one at a time: they take turns")
	require.Equal(t, 5, auths(second))

	// Concurrent requests from several terminals: every one answered, by
	// one endpoint or the other, never both.
	const terms, each = 4, 10
	var wg sync.WaitGroup
	codes := make(chan isospec.ResponseCode, terms*each)
	var mu sync.Mutex
	for range terms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				mu.Lock()
				req := r.authReq(visaPAN, 100)
				mu.Unlock()
				resp, err := r.term.Send(r.encode(req))
				if err != nil {
					codes <- "xx"
					continue
				}
				var ar isospec.AuthorizationResponse
				if isospec.Decode(resp, &ar) != nil {
					codes <- "yy"
					continue
				}
				codes <- ar.ResponseCode
			}
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		require.Equal(t, isospec.RCApproved, c)
	}
	require.Equal(t, 10+terms*each, auths(r.iss)+auths(second))
	require.Positive(t, auths(r.iss)-5)
	require.Positive(t, auths(second)-5)
}

// One endpoint goes down: its link drops and every request goes to the
// other, none refused; a reversal of an approval the lost endpoint gave
// goes to the other too (they share one database). When it is back, it
// takes its turn again.
func TestEndpointDown(t *testing.T) {
	r, second := twoEndpoints(t, patientIssuer)
	first := r.authReq(visaPAN, 4200)
	require.Equal(t, isospec.RCApproved, r.authorise(first).ResponseCode)
	require.Equal(t, 1, auths(r.iss), "the first goes to the first endpoint")

	addr := r.iss.Addr()
	r.iss.Close()
	r.waitLinksUp(1)
	for range 6 {
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	}
	require.Equal(t, 6, auths(second))

	r.clock.Advance(time.Second)
	rev := r.reverse(r.reversalOf(first))
	require.Equal(t, isospec.RCApproved, rev.ResponseCode)
	require.Len(t, second.ReceivedMTI(isospec.MTIReversalRequest), 1, "reversed through the endpoint that is up")
	require.Zero(t, r.pending())

	back := fakeissuer.Start(t, addr, r.hsm, r.keys.ZAK)
	r.waitLinksUp(2)
	for range 4 {
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	}
	require.Equal(t, 2, auths(back))
	require.Equal(t, 8, auths(second))
}

// One endpoint answers too late: the request it had is not sent to the
// other (the terminal gets 91 and the request is reversed), and the late
// endpoint gets no new request while it rests; the reversal advice goes to
// the endpoint that answers.
func TestEndpointAnswersTooLate(t *testing.T) {
	r, second := twoEndpoints(t, nil)
	release := make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	t.Cleanup(let)
	second.SetAuthFunc(func(req *isospec.AuthorizationRequest) (isospec.ResponseCode, string, isospec.PrivateData, []byte) {
		<-release
		return fakeissuer.Approve(req)
	})
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	late := r.authReq(visaPAN, 2300)
	resp := r.authorise(late)
	require.Equal(t, isospec.RCIssuerInoperative, resp.ResponseCode)
	require.Equal(t, isospec.ReasonIssuerUnavailable, reason(t, resp.PrivateData))
	require.Equal(t, 1, auths(second))
	require.Equal(t, 1, auths(r.iss), "not sent again to the other endpoint")
	require.Equal(t, 1, r.pending(), "reversal advice queued")

	for range 5 {
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	}
	require.Equal(t, 6, auths(r.iss), "the late endpoint rests")
	require.Equal(t, 1, auths(second))
	let() // its answer comes now: too late, dropped

	// The advice worker may have sent it already.
	_, err := r.acq.RetryAdvices(context.Background())
	require.NoError(t, err)
	require.Zero(t, r.pending())
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIReversalAdvice), 1)
	require.Empty(t, second.ReceivedMTI(isospec.MTIReversalAdvice))

	// After its rest it takes requests again.
	r.clock.Advance(time.Minute)
	for range 4 {
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	}
	require.Equal(t, 3, auths(second))
}

// One endpoint answers with a bad MAC: 91 and a reversal, never a second
// try elsewhere; it rests and the other takes the requests.
func TestEndpointBadMAC(t *testing.T) {
	r, second := twoEndpoints(t, nil)
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	second.SetAuth(fakeissuer.BadMAC)
	require.Equal(t, isospec.RCIssuerInoperative, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	require.Equal(t, 1, r.pending())
	require.Equal(t, 1, auths(r.iss))
	for range 3 {
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	}
	require.Equal(t, 4, auths(r.iss))
	require.Equal(t, 1, auths(second))
}

// garbageIssuer is an issuer endpoint that signs on properly and answers
// every other request with bytes that are no ISO 8583 message.
func garbageIssuer(t *testing.T, m hsm.MAC, zak hsm.Handle) (addr string, got func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	requests := 0
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		<-done
	})
	serve := func(c net.Conn) {
		rd := bufio.NewReader(c)
		for {
			b, err := isospec.ReadFrame(rd)
			if err != nil {
				return
			}
			msg, err := isospec.Unpack(b)
			if err != nil {
				return
			}
			var out []byte
			if mti, _ := msg.GetMTI(); isospec.MTI(mti) == isospec.MTINetworkRequest {
				var nm isospec.NetworkManagement
				if isospec.Decode(msg, &nm) != nil {
					return
				}
				resp, err := nm.Response(isospec.RCApproved)
				if err != nil {
					return
				}
				rm, err := isospec.Encode(resp)
				if err != nil {
					return
				}
				if out, err = isospec.PackWithMAC(rm, func(d []byte) ([]byte, error) { return m.GenerateMAC(zak, d) }); err != nil {
					return
				}
			} else {
				mu.Lock()
				requests++
				mu.Unlock()
				out = []byte("0110\xff\x00garbage that is no message")
			}
			if _, err := c.Write(frame(out)); err != nil {
				return
			}
		}
	}
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); serve(c) }()
		}
	}()
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return requests }
}

// One endpoint answers garbage: the request it had gets 91 and is
// reversed, never sent elsewhere; it rests and the other endpoint takes
// the requests.
func TestEndpointGarbage(t *testing.T) {
	var got func() int
	r := newRig(t, func(c *acquirer.Config) {
		var addr string
		addr, got = garbageIssuer(t, c.HSM, c.Issuers[0].ZAK)
		c.Issuers[0].Endpoints = []string{addr}
	})
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	resp := r.authorise(r.authReq(visaPAN, 100))
	require.Equal(t, isospec.RCIssuerInoperative, resp.ResponseCode)
	require.Equal(t, 1, got())
	require.Equal(t, 1, auths(r.iss), "not sent again to the other endpoint")
	// The reversal advice was queued with the 91; the other endpoint may
	// take it at once: it is delivered once and leaves the queue.
	require.Eventually(t, func() bool {
		return len(r.iss.ReceivedMTI(isospec.MTIReversalAdvice)) == 1 && r.pending() == 0
	}, 5*time.Second, 5*time.Millisecond, "the reversal advice delivered")
	// Whether the link dropped the connection or not, the other endpoint
	// takes the requests now.
	for range 4 {
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	}
	require.Equal(t, 5, auths(r.iss))
	require.Equal(t, 1, got())
}

// Every endpoint down: 91 with nothing to reverse, as with one issuer
// link; with a stand-in rule, the stand-in approval.
func TestAllEndpointsDown(t *testing.T) {
	for _, standIn := range []bool{false, true} {
		t.Run(map[bool]string{false: "91", true: "stand-in"}[standIn], func(t *testing.T) {
			var second *fakeissuer.Issuer
			var r *rig
			if standIn {
				r = standInRig(t)
				// The stand-in rig has one endpoint: stop it, then
				// start one with two.
				require.NoError(t, r.acq.Close())
				second = fakeissuer.Start(t, "127.0.0.1:0", r.hsm, r.keys.ZAK)
				r.cfg.Issuers[0].Endpoints = []string{second.Addr()}
				r.start()
			} else {
				r, second = twoEndpoints(t, nil)
			}
			r.iss.Close()
			second.Close()
			r.waitLinksUp(0)
			resp := r.authorise(r.authReq(visaPAN, 1000))
			if standIn {
				requireStandIn(t, resp)
				require.Equal(t, 1, r.pending(), "the stand-in advice only: nothing left to reverse")
			} else {
				require.Equal(t, isospec.RCIssuerInoperative, resp.ResponseCode)
				require.Equal(t, isospec.ReasonIssuerUnavailable, reason(t, resp.PrivateData))
				require.Zero(t, r.pending(), "nothing left: nothing to reverse")
			}
			require.Zero(t, auths(r.iss)+auths(second), "nothing sent")
		})
	}
}
