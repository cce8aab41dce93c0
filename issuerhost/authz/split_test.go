package authz_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// The attacker's side of the two phases of an authorisation: requests
// whose read phases all ran before any write phase, and state that
// changes between a request's read and write phases. A hook between the
// phases orders them; nothing waits on time.

// gate holds the first want authorisations between their phases until
// all of them got there; then it lets them write one after the other,
// in the order run is given them, each once the one before has returned.
// Later rounds of a request (whose state changed) pass.
type gate struct {
	mu      sync.Mutex
	want    int
	arrived map[string]chan struct{}
	all     chan struct{}
}

func newGate(e *authz.Engine, want int) *gate {
	g := &gate{want: want, arrived: map[string]chan struct{}{}, all: make(chan struct{})}
	authz.SetBetweenPhases(e, g.between)
	return g
}

func (g *gate) between(r authz.Request) {
	g.mu.Lock()
	if _, ok := g.arrived[gateKey(r)]; ok || len(g.arrived) == g.want {
		g.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	g.arrived[gateKey(r)] = ch
	if len(g.arrived) == g.want {
		close(g.all)
	}
	g.mu.Unlock()
	<-ch
}

// run authorises reqs concurrently, the write phases in the order of reqs
// once every read phase ran, and returns the decisions in that order.
func (g *gate) run(t *testing.T, e *authz.Engine, reqs []authz.Request) []authz.Decision {
	t.Helper()
	es := make([]*authz.Engine, len(reqs))
	for i := range es {
		es[i] = e
	}
	return g.runOn(t, es, reqs, false)
}

// runOn is run with request i on engine es[i]; together lets every write
// phase go at once instead of one after the other.
func (g *gate) runOn(t *testing.T, es []*authz.Engine, reqs []authz.Request, together bool) []authz.Decision {
	t.Helper()
	out := make([]authz.Decision, len(reqs))
	done := make([]chan error, len(reqs))
	for i, r := range reqs {
		done[i] = make(chan error, 1)
		go func() {
			d, err := es[i].Authorize(ctx, r)
			out[i] = d
			done[i] <- err
		}()
	}
	<-g.all
	for i, r := range reqs {
		g.mu.Lock()
		ch := g.arrived[gateKey(r)]
		g.mu.Unlock()
		close(ch)
		if !together {
			require.NoError(t, <-done[i])
		}
	}
	if together {
		for i := range reqs {
			require.NoError(t, <-done[i])
		}
	}
	return out
}

// gateKey tells the requests of a test apart (a duplicate transmission
// has the STAN of its original).
func gateKey(r authz.Request) string { return r.STAN + string(r.ICC) }

func reasons(ds []authz.Decision) []authz.Reason {
	out := make([]authz.Reason, len(ds))
	for i, d := range ds {
		out[i] = d.Reason
	}
	return out
}

// R-G4: the same cryptogram in two messages read before either is
// written: the first is approved, the second is a replay.
func TestSplitSameCryptogram(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	first := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 5})
	second := first
	second.STAN, second.RRN = n.NextSTAN(), "606810999999"
	got := newGate(e, 2).run(t, e, []authz.Request{first, second})
	require.Equal(t, []authz.Reason{authz.Approved, authz.ARQCReplayed}, reasons(got))
	require.NotEmpty(t, got[1].IssuerAuthData, "the ARPC of the decline, made after the write phase")
	checkARPC(t, n.Cards[issuertest.VisaPlastic], second, got[1])
	checkARPC(t, n.Cards[issuertest.VisaPlastic], first, got[0])
	require.Equal(t, int64(1000), account(t, n, "acct-1").Held, "one hold")
}

// R-G4: the same message twice (a duplicate transmission) read before
// either is written.
func TestSplitDuplicateTransmission(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 5})
	again := r
	again.ICC = n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 6}).ICC
	got := newGate(e, 2).run(t, e, []authz.Request{r, again})
	require.Equal(t, []authz.Reason{authz.Approved, authz.DuplicateTransmission}, reasons(got))
	require.Equal(t, int64(1000), account(t, n, "acct-1").Held)
}

// R-G4: two cryptograms of one ATC read before either is written: the
// second is not ahead of the mark the first raised.
func TestSplitSameATC(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	a := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 7})
	b := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 2000, ATC: 7, UN: 0x12345678})
	got := newGate(e, 2).run(t, e, []authz.Request{a, b})
	require.Equal(t, []authz.Reason{authz.Approved, authz.ATCNotAhead}, reasons(got))
	require.Equal(t, int64(1000), account(t, n, "acct-1").Held)
}

// Concurrent purchases of three cards on one account, all read while the
// open-to-buy covers each of them, never take more than it.
func TestSplitOpenToBuy(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.PutAccount(ctx, store.Account{ID: "acct-1", Currency: 901, CreditLimit: 250_000})
	}))
	var reqs []authz.Request
	for _, c := range []string{issuertest.VisaPlastic, issuertest.Visa22, issuertest.Visa10} {
		reqs = append(reqs, n.Request(c, issuertest.Tap{Amount: 100_000}))
	}
	got := newGate(e, 3).run(t, e, reqs)
	require.Equal(t, []authz.Reason{authz.Approved, authz.Approved, authz.InsufficientFunds}, reasons(got))
	require.Equal(t, int64(200_000), account(t, n, "acct-1").Held)
}

// R-G3c: wrong PINs read concurrently (each read phase saw no wrong PIN
// yet) are counted one by one, and the fifth locks the PIN.
func TestSplitPINTries(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	var reqs []authz.Request
	for range 6 {
		r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000})
		r.PINBlock = issuertest.PINBlock(t, "0000", r.PAN)
		reqs = append(reqs, r)
	}
	got := newGate(e, 6).run(t, e, reqs)
	require.Equal(t, []authz.Reason{authz.PINIncorrect, authz.PINIncorrect, authz.PINIncorrect, authz.PINIncorrect,
		authz.PINTriesExceeded, authz.PINLocked}, reasons(got))
	c := card(t, n, issuertest.VisaPlastic)
	require.Equal(t, 5, c.PINFailures)
	require.True(t, c.PINLocked)
}

// A right PIN read while the counter was at zero still resets the wrong
// PINs counted before its write phase.
func TestSplitRightPINAfterWrongOnes(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	var reqs []authz.Request
	for _, p := range []string{"0000", "0000", issuertest.PIN, "0000"} {
		r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000})
		r.PINBlock = issuertest.PINBlock(t, p, r.PAN)
		reqs = append(reqs, r)
	}
	got := newGate(e, 4).run(t, e, reqs)
	require.Equal(t, []authz.Reason{authz.PINIncorrect, authz.PINIncorrect, authz.Approved, authz.PINIncorrect}, reasons(got))
	require.Equal(t, 1, card(t, n, issuertest.VisaPlastic).PINFailures)
}

// hookOnce runs change once, between the phases of the first
// authorisation.
func hookOnce(e *authz.Engine, change func()) {
	var once sync.Once
	authz.SetBetweenPhases(e, func(authz.Request) { once.Do(change) })
}

// What changes between a request's phases is what the write phase
// decides on: a card blocked, a token suspended, a phone reported lost,
// a key or a PIN changed.
func TestSplitChangedBetweenPhases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		card   string
		tap    issuertest.Tap
		pin    string
		change func(t *testing.T, n *issuertest.Net)
		want   authz.Reason
	}{
		{name: "card blocked", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			change: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.SetCardStatus(ctx, issuertest.VisaPlastic, store.CardBlocked)
				}))
			}, want: authz.CardBlocked},
		{name: "card reported lost", card: issuertest.MCPlastic, tap: issuertest.Tap{Amount: 100},
			change: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.SetCardStatus(ctx, issuertest.MCPlastic, store.CardLost)
				}))
			}, want: authz.CardLost},
		{name: "account closed", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			change: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.PutAccount(ctx, store.Account{ID: "acct-1", Currency: 901, CreditLimit: 5_000_000, Status: store.AccountClosed})
				}))
			}, want: authz.CardBlocked},
		{name: "wallet token suspended", card: issuertest.Wallet, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			change: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.SetTokenStatus(ctx, issuertest.Wallet, store.TokenSuspended, issuertest.Start)
				}))
			}, want: authz.TokenSuspended},
		{name: "wallet funding card blocked", card: issuertest.Wallet, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			change: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.SetCardStatus(ctx, "wallet-funding", store.CardBlocked)
				}))
			}, want: authz.CardBlocked},
		{name: "HCE phone reported lost", card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, CDCVM: true},
			change: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.Ledger.SuspendDevice(issuertest.HCE, "3520990017614823"))
			}, want: authz.DeviceLost},
		{name: "issuer master key changed", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100},
			change: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					c, err := tx.Card(ctx, issuertest.VisaPlastic)
					require.NoError(t, err)
					c.IMKRef = "issuer/imk/mc"
					return tx.PutCard(ctx, c)
				}))
			}, want: authz.ARQCInvalid},
		{name: "PIN changed", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100}, pin: issuertest.PIN,
			change: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					c, err := tx.Card(ctx, issuertest.VisaPlastic)
					require.NoError(t, err)
					c.PVV = "0000"
					return tx.PutCard(ctx, c)
				}))
			}, want: authz.PINIncorrect},
		{name: "PIN locked", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100}, pin: issuertest.PIN,
			change: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.SetPINState(ctx, issuertest.VisaPlastic, 5, true)
				}))
			}, want: authz.PINLocked},
		{name: "ATC mark raised by another request", card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100, ATC: 3},
			change: func(t *testing.T, n *issuertest.Net) {
				require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
					return tx.RaiseATC(ctx, "card:"+issuertest.VisaPlastic, 3, issuertest.Start)
				}))
			}, want: authz.ATCNotAhead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := issuertest.New(t)
			e := engine(t, n, authz.Policy{})
			r := n.Request(tc.card, tc.tap)
			if tc.pin != "" {
				r.PINBlock = issuertest.PINBlock(t, tc.pin, r.PAN)
			}
			hookOnce(e, func() { tc.change(t, n) })
			d := decide(t, e, r)
			require.Equal(t, tc.want, d.Reason, d.String())
			require.Equal(t, tc.want.Code(), d.Code)
			require.Empty(t, d.AuthCode)
			for _, h := range []string{"acct-1", "acct-2", "acct-3", "acct-4"} {
				require.Zero(t, account(t, n, h).Held, "no hold")
			}
		})
	}
}

// A single-use mc-cloud key presented by two requests read before either
// is written serves the first only.
func TestSplitCloudKeyTwice(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	a := n.Request(issuertest.HCEMC, issuertest.Tap{Amount: 100, CDCVM: true, ATC: 1})
	b := n.Request(issuertest.HCEMC, issuertest.Tap{Amount: 200, CDCVM: true, ATC: 1, UN: 0x0BADCAFE})
	got := newGate(e, 2).run(t, e, []authz.Request{a, b})
	require.Equal(t, []authz.Reason{authz.Approved, authz.KeyUsed}, reasons(got))
}

// The write phase of an approval of a card runs 8 statements: the card's
// state, the account, the cryptogram's use, the ATC mark, the hold and
// the account's held amount, the log line and the audit entry. A
// decline runs fewer writes; a token adds its own state.
func TestWriteStatements(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	// The writer knows the audit trail's last entry once it wrote one.
	decide(t, e, n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100}))
	before := n.DB.Statements()
	d := decide(t, e, n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100}))
	require.Equal(t, authz.Approved, d.Reason)
	after := n.DB.Statements()
	require.Equal(t, int64(8), after.Write-before.Write)
}

// spyHSM counts the security module's operations made after the first
// phase of an authorisation (after is set between the phases).
type spyHSM struct {
	authz.HSM
	cloud cloud.VerifierHSM
	after atomic.Bool
	calls atomic.Int32
}

func (s *spyHSM) count() {
	if s.after.Load() {
		s.calls.Add(1)
	}
}

func (s *spyHSM) Lookup(label string) (hsm.Handle, error) { s.count(); return s.HSM.Lookup(label) }

func (s *spyHSM) VerifyARQC(imk hsm.Handle, cvn, pan, psn string, tags cryptogram.Source, ac []byte) error {
	s.count()
	return s.HSM.VerifyARQC(imk, cvn, pan, psn, tags, ac)
}

func (s *spyHSM) GenerateARPC(imk hsm.Handle, cvn, pan, psn string, tags cryptogram.Source, arqc, resp, pad []byte) ([]byte, error) {
	s.count()
	return s.HSM.GenerateARPC(imk, cvn, pan, psn, tags, arqc, resp, pad)
}

func (s *spyHSM) VerifyPIN(zpk hsm.Handle, block []byte, pan string, pvk hsm.Handle, pvki int, pvv string) error {
	s.count()
	return s.HSM.VerifyPIN(zpk, block, pan, pvk, pvki, pvv)
}

func (s *spyHSM) VerifyLUKCryptogram(imk hsm.Handle, pan, psn string, api uint16, ki emvcloud.KeyIndex, tags cryptogram.Source, ac []byte) error {
	s.count()
	return s.cloud.VerifyLUKCryptogram(imk, pan, psn, api, ki, tags, ac)
}

func (s *spyHSM) VerifyMCCryptograms(mkMD, mkUMD hsm.Handle, pan, psn string, tags cryptogram.Source, ac []byte) (emvcloud.Verdict, error) {
	s.count()
	return s.cloud.VerifyMCCryptograms(mkMD, mkUMD, pan, psn, tags, ac)
}

// The write phase asks nothing of the security module: the cryptogram,
// cloud cryptograms and PIN are checked, and the ARPC made, beside other
// requests.
func TestWritePhaseWithoutSecurityModule(t *testing.T) {
	for _, tc := range []struct {
		card string
		tap  issuertest.Tap
		pin  bool
	}{
		{card: issuertest.VisaPlastic, tap: issuertest.Tap{Amount: 100}},
		{card: issuertest.MCPlastic, tap: issuertest.Tap{Amount: 400_000}, pin: true},
		{card: issuertest.Wallet, tap: issuertest.Tap{Amount: 100, CDCVM: true}},
		{card: issuertest.HCE, tap: issuertest.Tap{Amount: 100, CDCVM: true}},
		{card: issuertest.HCEMC, tap: issuertest.Tap{Amount: 100, CDCVM: true}},
		{card: issuertest.HCE, tap: issuertest.Tap{Amount: 100}, pin: true},
	} {
		name := tc.card
		if tc.pin {
			name += " with an online PIN"
		}
		t.Run(name, func(t *testing.T) {
			n := issuertest.New(t)
			spy := &spyHSM{HSM: n.HSM, cloud: n.Cloud.HSM}
			n.Cloud.HSM = spy
			e, err := authz.New(n.DB, spy, authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Now: n.Clock.Now, Rand: fixedRand{}, Cloud: n.Cloud})
			require.NoError(t, err)
			authz.SetBetweenPhases(e, func(authz.Request) { spy.after.Store(true) })
			r := n.Request(tc.card, tc.tap)
			if tc.pin {
				r.PINBlock = issuertest.PINBlock(t, issuertest.PIN, r.PAN)
			}
			d := decide(t, e, r)
			require.Equal(t, authz.Approved, d.Reason, d.String())
			require.Zero(t, spy.calls.Load(), "security module operations after the read phase")
		})
	}
}
