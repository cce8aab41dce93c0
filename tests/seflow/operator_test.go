package seflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// R-S4c: TSM operators log in with a hashed password; a default password
// must be changed first, wrong passwords lock the account after
// tsm.MaxWrong, and logins are allowed only in the account's hours.
func TestOperatorAccounts(t *testing.T) {
	clock := wiretest.NewClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	a := &tsm.Accounts{Now: clock.Now, Rand: wiretest.NewSeeded(20), Iter: 1000}
	require.NoError(t, a.Create("ops-1", "changeme", tsm.Hours{From: 8, To: 18}))
	require.NotContains(t, a.Stored("ops-1"), "changeme")
	require.ErrorIs(t, a.Login("ops-1", "changeme"), tsm.ErrChangePassword)
	require.ErrorIs(t, a.ChangePassword("ops-1", "changeme", "short"), tsm.ErrWeakPassword)
	require.NoError(t, a.ChangePassword("ops-1", "changeme", "a long passphrase 42"))
	require.NoError(t, a.Login("ops-1", "a long passphrase 42"))
	require.ErrorIs(t, a.Login("nobody", "x"), tsm.ErrUnknownOperator)

	clock.Advance(12 * time.Hour)
	require.ErrorIs(t, a.Login("ops-1", "a long passphrase 42"), tsm.ErrOutsideHours)
	clock.Advance(12 * time.Hour)

	for i := 0; i < tsm.MaxWrong-1; i++ {
		require.ErrorIs(t, a.Login("ops-1", "guess"), tsm.ErrWrongPassword)
	}
	require.ErrorIs(t, a.Login("ops-1", "guess"), tsm.ErrLockedOut)
	require.ErrorIs(t, a.Login("ops-1", "a long passphrase 42"), tsm.ErrLockedOut, "locked even with the right password")
}

// R-S4d: every personalisation leaves its steps in both TSMs' logs, from
// the order to the download's outcome.
func TestTransactionLog(t *testing.T) {
	r := newRig(t)
	d, o := issuerOwned(t, r, "mia-phone", 21)
	require.Equal(t, tsm.ReasonPersonalised, r.download(t, d, o))
	steps := func(es []tsm.Entry) []string {
		var out []string
		for _, e := range es {
			require.Equal(t, o.OrderID, e.Order)
			out = append(out, e.Step+": "+e.Outcome)
		}
		return out
	}
	sp := steps(r.sp.Log())
	require.Equal(t, []string{"order: received", "check with SE operator: designated", "handover: accepted",
		"cardholder verification by the issuer: verified", "download: started"}, sp[:5])
	require.Contains(t, sp, "PUT KEY (new key set) (70 bytes of data): 9000", "the SP TSM secures each command itself")
	require.Equal(t, "download: personalised", sp[len(sp)-1])
	se := steps(r.se.Log())
	require.Equal(t, "handover: waiting for device", se[0])
	require.Equal(t, "cardholder verification: verified", se[1])
	require.Contains(t, se, "relay PUT KEY (new key set) (88 bytes of data, secure messaging): 9000", "the SE TSM relays it, secured")
	require.Equal(t, "download: personalised", se[len(se)-1])
}

// R-S4c, R-S4d, R-S3a: only a logged-in TSM operator registers an SE for a
// device; a default password or a wrong one registers nothing, and every
// attempt is in the log by the operator's name.
func TestOperatorRegistersSE(t *testing.T) {
	r := newRig(t)
	a := &tsm.Accounts{Now: r.clock.Now, Rand: wiretest.NewSeeded(21), Iter: 1000}
	require.NoError(t, a.Create("ops-2", "changeme", tsm.Hours{From: 0, To: 24}))
	d := r.device("rita-phone", 18, false)
	b := tsm.Binding{SEID: d.seid, DeviceID: d.id, PhoneNumber: phoneNo}
	require.ErrorIs(t, r.se.RegisterBy(a, "ops-2", "changeme", b), tsm.ErrChangePassword)
	require.ErrorIs(t, r.se.RegisterBy(a, "ops-2", "guess", b), tsm.ErrWrongPassword)
	p := perso(t, "visa-se-phone")
	sc, err := tsm.IssuerOwned(phone.ISDAID, d.isdKeys, tsm.Keys{KVN: 0x30, Keys: keySet(0x60)}, p)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonNotDesignated, reason(t, r.submit(r.order(d, p, sc, false))))

	require.NoError(t, a.ChangePassword("ops-2", "changeme", "a long passphrase 43"))
	require.NoError(t, r.se.RegisterBy(a, "ops-2", "a long passphrase 43", b))
	require.NoError(t, r.submit(r.order(d, p, sc, false)))
	var outcomes []string
	for _, e := range r.se.Log() {
		if e.Step == "register by ops-2" {
			outcomes = append(outcomes, e.Outcome)
		}
	}
	require.Equal(t, []string{"default_password_must_change", "wrong_password", "registered"}, outcomes)
}
