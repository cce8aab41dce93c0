package authz_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

func account(t *testing.T, n *issuertest.Net, id string) store.Account {
	t.Helper()
	var a store.Account
	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		a, err = tx.Account(ctx, id)
		return err
	}))
	return a
}

func card(t *testing.T, n *issuertest.Net, id string) store.Card {
	t.Helper()
	var c store.Card
	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.Card(ctx, id)
		return err
	}))
	return c
}

// R-G4: an approved message replayed with a new STAN is refused, and so is
// an older ATC.
func TestReplay(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	first := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 5})
	require.Equal(t, authz.Approved, decide(t, e, first).Reason)

	replayed := first
	replayed.STAN = n.NextSTAN()
	d := decide(t, e, replayed)
	require.Equal(t, authz.ARQCReplayed, d.Reason)
	require.Equal(t, "82", d.Code)

	resent := first // the same message again: same STAN, time and acquirer
	require.Equal(t, authz.DuplicateTransmission, decide(t, e, resent).Reason)
	require.Equal(t, "94", authz.DuplicateTransmission.Code())

	older := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 4})
	require.Equal(t, authz.ATCNotAhead, decide(t, e, older).Reason)
	same := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 2000, ATC: 5, UN: 0x11111111})
	require.Equal(t, authz.ATCNotAhead, decide(t, e, same).Reason)

	next := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000})
	require.Equal(t, authz.Approved, decide(t, e, next).Reason)

	// A declined cryptogram is spent too: presenting it again is a replay.
	big := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 400000})
	require.Equal(t, authz.CVMRequired, decide(t, e, big).Reason)
	big.STAN = n.NextSTAN()
	require.Equal(t, authz.ARQCReplayed, decide(t, e, big).Reason)
}

// R-S5b: an HCE key serves one transaction.
func TestHCEKeyUsedTwice(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	r := n.Request(issuertest.HCE, issuertest.Tap{Amount: 5000, CDCVM: true, ATC: 1})
	d := decide(t, e, r)
	require.Equal(t, authz.Approved, d.Reason, d.String())
	require.Equal(t, "3520990017614823", d.DeviceID)

	// The phone uses the key of ATC 1 again for another purchase.
	again := n.Request(issuertest.HCE, issuertest.Tap{Amount: 7000, CDCVM: true, ATC: 1, UN: 0x0BADCAFE})
	d = decide(t, e, again)
	require.Equal(t, authz.KeyUsed, d.Reason)
	require.Equal(t, "82", d.Code)
	require.Equal(t, "R-S5b", d.Reason.Rule())

	// The cloud key ledger has the key of ATC 1 used once, ATC 2's unused.
	require.Equal(t, 1, ledgerUses(t, n.Ledger, issuertest.HCE, 1))
	require.Equal(t, 0, ledgerUses(t, n.Ledger, issuertest.HCE, 2))
}

// ledgerUses is how many transactions the visa-cloud key of the HCE
// phone's ATC atc has served, by ledger l.
func ledgerUses(tb testing.TB, l *cloud.Ledger, token string, atc uint16) int {
	tb.Helper()
	ki := issuertest.KeyIndex(tb, atc)
	for _, k := range l.Keys(token) {
		if k.KeyIndex == ki {
			return k.Used
		}
	}
	tb.Fatalf("no key %v of %s in the ledger", ki, token)
	return 0
}

// R-S5b, R-S5d: a key issued to one phone does not serve another phone of
// the same account.
func TestHCEKeyOfAnotherPhone(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	second := "0102030405060708"
	for atc := uint16(6); atc <= 8; atc++ {
		require.NoError(t, n.Ledger.IssueLUK(issuertest.HCE, second, issuertest.KeyIndex(t, atc), 1))
	}

	// The first phone forges a tap with the key of ATC 6, naming itself
	// in the private field: the key was issued to the second phone only,
	// so the device the cryptogram authenticates is the second phone
	// (R-S5b, R-S5d).
	r := n.Request(issuertest.HCE, issuertest.Tap{Amount: 100, CDCVM: true, ATC: 6})
	r.DeviceID = "3520990017614823"
	d := decide(t, e, r)
	require.Equal(t, authz.DeviceMismatch, d.Reason)

	// The second phone pays with the key of ATC 7; the decision names it.
	d = decide(t, e, n.Request(issuertest.HCE, issuertest.Tap{Amount: 100, CDCVM: true, ATC: 7}))
	require.Equal(t, authz.Approved, d.Reason, d.String())
	require.Equal(t, second, d.DeviceID)
}

// R-G3c: five wrong PINs in a row lock the PIN until the issuer resets it.
func TestPINLock(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	tap := func(pinDigits string) authz.Decision {
		r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 500000})
		r.PINBlock = issuertest.PINBlock(t, pinDigits, r.PAN)
		return decide(t, e, r)
	}
	// Two wrong, then right: the counter starts again.
	require.Equal(t, authz.PINIncorrect, tap("1111").Reason)
	require.Equal(t, authz.PINIncorrect, tap("2222").Reason)
	require.Equal(t, 2, card(t, n, issuertest.VisaPlastic).PINFailures)
	require.Equal(t, authz.Approved, tap(issuertest.PIN).Reason)
	require.Equal(t, 0, card(t, n, issuertest.VisaPlastic).PINFailures)

	for i := 1; i <= 4; i++ {
		d := tap("9999")
		require.Equal(t, authz.PINIncorrect, d.Reason, "try %d", i)
		require.Equal(t, "55", d.Code)
	}
	d := tap("9999")
	require.Equal(t, authz.PINTriesExceeded, d.Reason)
	require.Equal(t, "75", d.Code)
	c := card(t, n, issuertest.VisaPlastic)
	require.True(t, c.PINLocked)
	require.Equal(t, 5, c.PINFailures)

	// Locked: even the right PIN is refused.
	d = tap(issuertest.PIN)
	require.Equal(t, authz.PINLocked, d.Reason)
	require.Equal(t, "75", d.Code)

	require.Error(t, e.ResetPIN(ctx, issuertest.VisaPlastic, ""))
	require.NoError(t, e.ResetPIN(ctx, issuertest.VisaPlastic, "agent 7"))
	require.Equal(t, authz.Approved, tap(issuertest.PIN).Reason)
}

// The PIN try counter is the funding card's: wrong PINs through its HCE
// token count against the card.
func TestPINCounterSharedWithToken(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	r := n.Request(issuertest.HCE, issuertest.Tap{Amount: 100})
	r.PINBlock = issuertest.PINBlock(t, "0000", r.PAN)
	require.Equal(t, authz.PINIncorrect, decide(t, e, r).Reason)
	require.Equal(t, 1, card(t, n, issuertest.VisaSE).PINFailures)
}

// Reversals release a hold exactly once, whatever the number of repeats.
func TestReversalIdempotent(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	before := account(t, n, "acct-1").OpenToBuy()
	r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 120000})
	d := decide(t, e, r)
	require.Equal(t, authz.Approved, d.Reason)
	require.Equal(t, before-120000, account(t, n, "acct-1").OpenToBuy())

	rev := authz.Reversal{MTI: "0400", Original: r.Key(), PAN: r.PAN, Amount: r.Amount, Currency: 901, STAN: n.NextSTAN(),
		TransmissionTime: "0315100100", AcquirerID: "12345", TerminalID: "T0000001"}
	d, err := e.Reverse(ctx, rev)
	require.NoError(t, err)
	require.Equal(t, authz.Reversed, d.Reason)
	require.Equal(t, "00", d.Code)
	require.Equal(t, before, account(t, n, "acct-1").OpenToBuy())

	for _, mti := range []string{"0400", "0420", "0421", "0421"} {
		rev.MTI, rev.STAN = mti, n.NextSTAN()
		d, err := e.Reverse(ctx, rev)
		require.NoError(t, err)
		require.Equal(t, authz.AlreadyReversed, d.Reason, mti)
		require.Equal(t, "00", d.Code)
		require.Equal(t, before, account(t, n, "acct-1").OpenToBuy(), "released once only")
	}

	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		h, err := tx.Hold(ctx, r.Key())
		require.NoError(t, err)
		require.Equal(t, store.HoldReleased, h.Status)
		holds, err := tx.ActiveHolds(ctx, "acct-1")
		require.NoError(t, err)
		require.Empty(t, holds)
		return nil
	}))
}

// A reversal that arrives before (or instead of) its original is kept, and
// the late original is refused.
func TestReversalBeforeOriginal(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 5000})
	d, err := e.Reverse(ctx, authz.Reversal{MTI: "0420", Original: r.Key(), PAN: r.PAN, Amount: r.Amount, Currency: 901,
		STAN: n.NextSTAN(), TransmissionTime: "0315100500", AcquirerID: "12345"})
	require.NoError(t, err)
	require.Equal(t, authz.OriginalNotFound, d.Reason)
	require.Equal(t, "00", d.Code)

	late := decide(t, e, r)
	require.Equal(t, authz.DuplicateTransmission, late.Reason)
	before := account(t, n, "acct-1")
	require.Zero(t, before.Held)
}

// Two copies of one request at once: exactly one is approved.
func TestConcurrentDuplicates(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 5000})
	var wg sync.WaitGroup
	out := make([]authz.Decision, 8)
	errs := make([]error, len(out))
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := r
			rr.STAN = []string{"900001", "900002", "900003", "900004", "900005", "900006", "900007", "900008"}[i]
			out[i], errs[i] = e.Authorize(ctx, rr)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	approved := 0
	for _, d := range out {
		if d.Approved() {
			approved++
		} else {
			require.Equal(t, authz.ARQCReplayed, d.Reason)
		}
	}
	require.Equal(t, 1, approved)
	require.Equal(t, int64(5000), account(t, n, "acct-1").Held)
}

// The state a decision depends on is committed before Authorize returns:
// a store opened afresh on the same file (the old handle abandoned, as a
// crashed process leaves it) has the ATC high-water mark, the used
// cryptograms and the HCE phone's used cloud key, and the new engine
// refuses replays.
func TestCrashSafety(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	plastic := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 9})
	require.Equal(t, authz.Approved, decide(t, e, plastic).Reason)
	hce := n.Request(issuertest.HCE, issuertest.Tap{Amount: 1000, CDCVM: true, ATC: 2})
	require.Equal(t, authz.Approved, decide(t, e, hce).Reason)

	db2, err := store.OpenSQLite(n.DB.Path(), storetest.Options())
	require.NoError(t, err)
	defer db2.Close()
	require.NoError(t, db2.View(ctx, func(tx *store.Tx) error {
		hw, ok, err := tx.ATC(ctx, "card:"+issuertest.VisaPlastic)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, uint16(9), hw)
		used, err := tx.CryptogramUsed(ctx, "card:"+issuertest.VisaPlastic, 9, issuertest.ICCValue(t, plastic.ICC, 0x9F26))
		require.NoError(t, err)
		require.True(t, used)
		return nil
	}))

	ledger2, err := cloud.OpenLedger(cloud.DBStore{DB: db2, Clock: n.Clock.Now}, n.Clock.Now)
	require.NoError(t, err)
	require.Equal(t, 1, ledgerUses(t, ledger2, issuertest.HCE, 2))
	e2, err := authz.New(db2, n.HSM, authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Now: n.Clock.Now,
		Cloud: &cloud.Verifier{HSM: n.HSM, Ledger: ledger2, Now: n.Clock.Now}})
	require.NoError(t, err)
	plastic.STAN = n.NextSTAN()
	d, err := e2.Authorize(ctx, plastic)
	require.NoError(t, err)
	require.Equal(t, authz.ARQCReplayed, d.Reason)
	d, err = e2.Authorize(ctx, n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 8}))
	require.NoError(t, err)
	require.Equal(t, authz.ATCNotAhead, d.Reason)
	d, err = e2.Authorize(ctx, n.Request(issuertest.HCE, issuertest.Tap{Amount: 1000, CDCVM: true, ATC: 2, UN: 7}))
	require.NoError(t, err)
	require.Equal(t, authz.KeyUsed, d.Reason)
}

// When the host cannot decide (here: the card's master key is missing
// from the security module), the answer is 96, nothing of the request is
// kept, and the 96 is logged.
func TestSystemError(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		c, err := tx.Card(ctx, issuertest.VisaPlastic)
		if err != nil {
			return err
		}
		c.IMKRef = "issuer/imk/missing"
		return tx.PutCard(ctx, c)
	}))
	r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100})
	d, err := e.Authorize(ctx, r)
	require.Error(t, err)
	require.Equal(t, authz.SystemError, d.Reason)
	require.Equal(t, "96", d.Code)
	require.NotContains(t, err.Error(), r.PAN)
	require.NoError(t, n.DB.View(ctx, func(tx *store.Tx) error {
		_, seen, err := tx.ATC(ctx, "card:"+issuertest.VisaPlastic)
		require.NoError(t, err)
		require.False(t, seen)
		log, err := tx.AuthLog(ctx, 0)
		require.NoError(t, err)
		require.Len(t, log, 1)
		require.Equal(t, "96", log[0].ResponseCode)
		return nil
	}))
}

// R-G4 with the issuer's test setting: a replayed cryptogram armed with
// TestSettingTolerateReplay goes through once, the decision says so, and
// the same cryptogram is refused again afterwards.
func TestReplayToleratedOnceByTestSetting(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	first := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1000, ATC: 5})
	d := decide(t, e, first)
	require.Equal(t, authz.Approved, d.Reason)
	require.False(t, d.ReplayTolerated)

	icc, err := tlv.Decode(first.ICC)
	require.NoError(t, err)
	ac, ok := icc.Find(0x9F26)
	require.True(t, ok)
	require.Error(t, e.TestSettingTolerateReplay(ac.Value[:4]))
	require.NoError(t, e.TestSettingTolerateReplay(ac.Value))

	replayed := first
	replayed.STAN = n.NextSTAN()
	d = decide(t, e, replayed)
	require.Equal(t, authz.Approved, d.Reason, d.String())
	require.True(t, d.ReplayTolerated)

	again := first
	again.STAN = n.NextSTAN()
	d = decide(t, e, again)
	require.Equal(t, authz.ARQCReplayed, d.Reason, "once only")
	require.False(t, d.ReplayTolerated)
}
