package store_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/store"
)

// rowsPAN is the PAN of card c<i> (account a<i>) of seedCards.
func rowsPAN(i int) string { return fmt.Sprintf("47617390020100%02d", i) }

// seedCards adds n cards c1..cn, each on its own account a1..an (limit
// 100000), and a token k1 of card c1 on an HCE phone with single-use keys
// for ATCs 1 to 3.
func seedCards(t testing.TB, db *store.DB, n int) {
	t.Helper()
	require.NoError(t, db.Update(ctx, func(tx *store.Tx) error {
		for i := 1; i <= n; i++ {
			if err := tx.PutAccount(ctx, store.Account{ID: fmt.Sprintf("a%d", i), Currency: 901, CreditLimit: 100000}); err != nil {
				return err
			}
			if err := tx.PutCard(ctx, store.Card{ID: fmt.Sprintf("c%d", i), PAN: rowsPAN(i), PSN: "01",
				AccountID: fmt.Sprintf("a%d", i), Expiry: "2912", CVN: "visa18", IMKRef: "imk", PVKI: 1, PVV: "1234",
				FormFactor: "plastic", CreatedAt: t0}); err != nil {
				return err
			}
		}
		if err := tx.PutToken(ctx, store.Token{ID: "k1", Number: "4895370012340029", CardID: "c1", Expiry: "2812",
			Domain: "mobile", CVN: "visa18", IMKRef: "imk", FormFactor: "hce-phone", DeviceBound: true,
			CreatedAt: t0, StatusAt: t0}); err != nil {
			return err
		}
		return tx.IssueKeys(ctx, "k1", "dev1", 1, 3, t0, t0.Add(24*time.Hour))
	}))
}

// tap is one authorisation as the issuer's pipeline makes it inside
// UpdateRows, cut down: the card (or the token, its single-use key, then
// its card) and the account are read first, which locks their rows; then
// the cryptogram must be fresh, the ATC ahead of the high-water mark and
// the amount within the open-to-buy. Every attempt is logged, audited and
// counted on the account (Posted + 1, read then written back whole), so
// that a lost update shows. It returns "" for an approval, or the reason.
func tap(db *store.DB, number string, atc uint16, ac string, amount int64) (string, error) {
	return tapIn(db.UpdateRows, number, atc, ac, amount)
}

// tapIn is tap in a transaction of update (db.UpdateRows or db.Update).
func tapIn(update func(context.Context, func(*store.Tx) error) error, number string, atc uint16, ac string, amount int64) (string, error) {
	var reason string
	err := update(ctx, func(tx *store.Tx) error {
		reason = ""
		cr, err := tx.CredentialByNumber(ctx, number)
		if err != nil {
			return err
		}
		var k store.Token
		cred := "card:" + cr.Card.ID
		if cr.Token != nil {
			k = *cr.Token
			cred = "token:" + k.ID
		}
		acct := cr.Account
		fresh, err := tx.UseCryptogram(ctx, cred, atc, []byte(ac), t0)
		if err != nil {
			return err
		}
		hw, seen, err := tx.ATC(ctx, cred)
		if err != nil {
			return err
		}
		switch {
		case !fresh:
			reason = "cryptogram_replayed"
		case seen && atc <= hw:
			reason = "atc_not_ahead"
			if k.ID != "" {
				if key, err := tx.HCEKey(ctx, k.ID, atc); err == nil && key.Status == store.KeyUsed {
					reason = "key_used"
				}
			}
		case acct.OpenToBuy() < amount:
			reason = "insufficient_funds"
		}
		if reason == "" && k.ID != "" {
			key, err := tx.HCEKey(ctx, k.ID, atc)
			if err != nil {
				return err
			}
			if key.Status != store.KeyIssued {
				reason = "key_used"
			} else if err := tx.UseKey(ctx, k.ID, atc, t0); err != nil {
				return err
			}
		}
		if reason == "" {
			if err := tx.RaiseATC(ctx, cred, atc, t0); err != nil {
				return err
			}
			if err := tx.AddHold(ctx, store.Hold{Key: fmt.Sprintf("0100/%s/%06d/%s", cred, atc, ac), AccountID: acct.ID,
				Cred: cred, Amount: amount, Currency: 901, CreatedAt: t0}); err != nil {
				return err
			}
		}
		if acct, err = tx.Account(ctx, acct.ID); err != nil {
			return err
		}
		acct.Posted++
		if err := tx.PutAccount(ctx, acct); err != nil {
			return err
		}
		code := "00"
		if reason != "" {
			code = "05"
		}
		if _, err := tx.LogAuth(ctx, store.AuthRecord{At: t0, MTI: "0100", Cred: cred, Amount: amount, Currency: 901,
			ATC: int(atc), ResponseCode: code, Reason: reason}); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: t0, Actor: "test", Action: "authorisation." + code, Subject: cred})
	})
	return reason, err
}

// instancesOf lists the instances whose streams hold the audit trail.
func instancesOf(t *testing.T, db *store.DB) []string {
	t.Helper()
	seen := map[string]bool{}
	require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
		trail, err := tx.AuditTrail(ctx)
		for _, e := range trail {
			seen[e.Instance] = true
		}
		return err
	}))
	var out []string
	for i := range seen {
		out = append(out, i)
	}
	sort.Strings(out)
	return out
}

// Two store handles on one database, as two issuer processes: what one
// approved the other refuses (replayed ATC, reused cryptogram, used
// single-use key), also when both race on one card and after one
// restarts; each handle's audit stream verifies on its own.
func TestRowsRefusedAcrossInstances(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		h1, h2 := e.mustOpen(t, target), e.mustOpen(t, target)
		if e.name == "postgres" {
			require.NotEmpty(t, h1.Instance())
			require.NotEqual(t, h1.Instance(), h2.Instance())
		} else {
			require.Empty(t, h1.Instance())
		}
		seedCards(t, h1, 2)

		steps := []struct {
			db     *store.DB
			number string
			atc    uint16
			ac     string
			want   string
		}{
			{h1, rowsPAN(1), 5, "AC05", ""},
			{h2, rowsPAN(1), 5, "AC05", "cryptogram_replayed"},
			{h2, rowsPAN(1), 5, "AC05bis", "atc_not_ahead"},
			{h2, rowsPAN(1), 4, "AC04", "atc_not_ahead"},
			{h2, rowsPAN(1), 6, "AC06", ""},
			{h1, rowsPAN(2), 1, "AC01", ""}, // another card: its own ATC
			{h1, "4895370012340029", 1, "K01", ""},
			{h2, "4895370012340029", 1, "K01bis", "key_used"},
			{h2, "4895370012340029", 1, "K01", "cryptogram_replayed"},
			{h2, "4895370012340029", 2, "K02", ""},
		}
		for i, s := range steps {
			got, err := tap(s.db, s.number, s.atc, s.ac, 100)
			require.NoError(t, err, "step %d", i)
			require.Equal(t, s.want, got, "step %d", i)
		}

		// Both handles race on card c1, every ATC presented twice with one
		// cryptogram, and on card c2 with two.
		const atcs, workers = 40, 3
		type job struct {
			card int
			atc  uint16
			ac   string
		}
		jobs := make(chan job)
		go func() {
			for a := uint16(10); a < 10+atcs; a++ {
				ac := fmt.Sprintf("AC%04d", a)
				jobs <- job{1, a, ac}
				jobs <- job{1, a, ac}
				jobs <- job{2, a, ac}
				jobs <- job{2, a, ac + "x"}
			}
			close(jobs)
		}()
		var (
			mu       sync.Mutex
			approved = map[job]int{}
			errs     []error
			wg       sync.WaitGroup
		)
		for w := range 2 * workers {
			db := []*store.DB{h1, h2}[w%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					reason, err := tap(db, rowsPAN(j.card), j.atc, j.ac, 100)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					if err == nil && reason == "" {
						approved[job{j.card, j.atc, ""}]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		require.Empty(t, errs)
		for j, n := range approved {
			require.Equal(t, 1, n, "card %d ATC %d approved %d times", j.card, j.atc, n)
		}
		require.NoError(t, h1.View(ctx, func(tx *store.Tx) error {
			for card, before := range map[int]int64{1: 9, 2: 1} {
				a, err := tx.Account(ctx, fmt.Sprintf("a%d", card))
				require.NoError(t, err)
				require.Equal(t, before+2*atcs, a.Posted, "card %d: every attempt counted", card)
				holds, err := tx.ActiveHolds(ctx, a.ID)
				require.NoError(t, err)
				require.Equal(t, int64(len(holds))*100, a.Held, "card %d", card)
			}
			log, err := tx.AuthLog(ctx, 0)
			require.NoError(t, err)
			require.Len(t, log, len(steps)+4*atcs)
			n, err := tx.VerifyAudit(ctx)
			require.NoError(t, err)
			require.Equal(t, len(steps)+4*atcs, n)
			return nil
		}))
		if e.name == "postgres" {
			want := []string{h1.Instance(), h2.Instance()}
			sort.Strings(want)
			require.Equal(t, want, instancesOf(t, h1), "one audit stream per instance")
		}

		// A restarted instance keeps refusing, and writes a stream of its own.
		require.NoError(t, h1.Close())
		h3 := e.mustOpen(t, target)
		for _, s := range []struct {
			number string
			atc    uint16
			ac     string
			want   string
		}{
			{rowsPAN(1), 6, "AC06", "cryptogram_replayed"},
			{rowsPAN(1), 6, "AC06bis", "atc_not_ahead"},
			{"4895370012340029", 2, "K02bis", "key_used"},
			{"4895370012340029", 3, "K03", ""},
			{rowsPAN(1), 10 + atcs, "ACnext", ""},
		} {
			got, err := tap(h3, s.number, s.atc, s.ac, 100)
			require.NoError(t, err)
			require.Equal(t, s.want, got, "after restart: %s ATC %d", s.ac, s.atc)
		}
		require.NoError(t, h3.View(ctx, func(tx *store.Tx) error {
			_, err := tx.VerifyAudit(ctx)
			return err
		}))
		if e.name == "postgres" {
			require.Len(t, instancesOf(t, h3), 3)
		}
	})
}

// On PostgreSQL, an UpdateRows on one card does not wait for another
// instance's UpdateRows on another card; it waits for one on the same
// card, and then sees what that one committed. An Update waits for both.
func TestRowsLockPerCard(t *testing.T) {
	e := postgresEngine
	target := e.fresh(t)
	h1, h2 := e.mustOpen(t, target), e.mustOpen(t, target)
	seedCards(t, h1, 2)
	// Card c9 draws on c1's account a1: what locks a1 holds c9's look-up.
	require.NoError(t, h1.Update(ctx, func(tx *store.Tx) error {
		return tx.PutCard(ctx, store.Card{ID: "c9", PAN: rowsPAN(9), PSN: "01", AccountID: "a1", Expiry: "2912",
			CVN: "visa18", IMKRef: "imk", PVKI: 1, PVV: "1234", FormFactor: "plastic", CreatedAt: t0})
	}))

	inside, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	let := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(let) // a failed check must not leave h1 waiting (Close would wait)
	first := make(chan error, 1)
	go func() {
		first <- h1.UpdateRows(ctx, func(tx *store.Tx) error {
			c, err := tx.CardByPAN(ctx, rowsPAN(1))
			if err != nil {
				return err
			}
			if _, err := tx.Account(ctx, c.AccountID); err != nil {
				return err
			}
			if err := tx.SetPINState(ctx, c.ID, 1, false); err != nil {
				return err
			}
			close(inside)
			<-release
			return tx.AddHeld(ctx, c.AccountID, 100)
		})
	}()
	<-inside

	// Another card goes through while card c1 is held (a deadline so that
	// a wrong answer fails instead of hanging).
	bounded, cancel := context.WithTimeout(ctx, time.Minute)
	reason, err := tapCtx(bounded, h2, 2)
	cancel()
	require.NoError(t, err)
	require.Empty(t, reason)

	// The same card, and a whole-database writer, wait: with a short
	// deadline they give up.
	for name, fn := range map[string]func(context.Context) error{
		"same card": func(c context.Context) error {
			return h2.UpdateRows(c, func(tx *store.Tx) error {
				_, err := tx.CardByPAN(c, rowsPAN(1))
				return err
			})
		},
		"same card, as a credential": func(c context.Context) error {
			return h2.UpdateRows(c, func(tx *store.Tx) error {
				_, err := tx.CredentialByNumber(c, rowsPAN(1))
				return err
			})
		},
		"another card on the same account, as a credential": func(c context.Context) error {
			return h2.UpdateRows(c, func(tx *store.Tx) error {
				_, err := tx.CredentialByNumber(c, rowsPAN(9))
				return err
			})
		},
		"the card's token": func(c context.Context) error {
			return h2.UpdateRows(c, func(tx *store.Tx) error {
				_, err := tx.CredentialByNumber(c, "4895370012340029")
				return err
			})
		},
		"same account": func(c context.Context) error {
			return h2.UpdateRows(c, func(tx *store.Tx) error {
				_, err := tx.Account(c, "a1")
				return err
			})
		},
		"update": func(c context.Context) error {
			return h2.Update(c, func(tx *store.Tx) error { return errors.New("must not run") })
		},
	} {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := fn(short)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, name)
	}

	entered := make(chan store.Credential, 1)
	second := make(chan error, 1)
	go func() {
		second <- h2.UpdateRows(ctx, func(tx *store.Tx) error {
			cr, err := tx.CredentialByNumber(ctx, rowsPAN(1))
			if err != nil {
				return err
			}
			entered <- cr
			return nil
		})
	}()
	let()
	require.NoError(t, <-first)
	cr := <-entered
	require.Equal(t, 1, cr.Card.PINFailures, "the second sees the first's commit")
	require.Equal(t, int64(100), cr.Account.Held, "and its account's")
	require.NoError(t, <-second)
}

// tapCtx approves ATC 1 of card c<card> on db within ctx, inside
// UpdateRows; it returns the reason of a refusal.
func tapCtx(c context.Context, db *store.DB, card int) (string, error) {
	reason := ""
	err := db.UpdateRows(c, func(tx *store.Tx) error {
		cr, err := tx.CredentialByNumber(c, rowsPAN(card))
		if err != nil {
			return err
		}
		k := cr.Card
		fresh, err := tx.UseCryptogram(c, "card:"+k.ID, 1, []byte("AC"), t0)
		if err != nil {
			return err
		}
		if !fresh {
			reason = "cryptogram_replayed"
			return nil
		}
		if err := tx.RaiseATC(c, "card:"+k.ID, 1, t0); err != nil {
			return err
		}
		if _, err := tx.LogAuth(c, store.AuthRecord{At: t0, MTI: "0100", Cred: "card:" + k.ID, ResponseCode: "00"}); err != nil {
			return err
		}
		return tx.Audit(c, store.AuditEvent{At: t0, Actor: "test", Action: "authorisation.00", Subject: k.ID})
	})
	return reason, err
}

// A database of schema 5 (no per-instance columns) is brought to 7: its
// log and audit rows stay, as the stream "", and new ones follow them.
func TestUpgradeToInstanceStreams(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		target := e.fresh(t)
		db := e.mustOpen(t, target)
		update(t, db, func(tx *store.Tx) error {
			for i := range 3 {
				if _, err := tx.LogAuth(ctx, store.AuthRecord{At: t0, MTI: "0100", ResponseCode: "00"}); err != nil {
					return err
				}
				if e.name == "sqlite" { // on SQLite a row of today is a row of schema 5
					if err := tx.Audit(ctx, store.AuditEvent{At: t0, Actor: "test", Action: fmt.Sprint(i)}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		require.NoError(t, db.Close())
		raw := e.raw(t, target)
		for _, q := range []string{
			`DROP INDEX IF EXISTS auth_log_instance`, `DROP INDEX IF EXISTS audit_instance`,
			`ALTER TABLE auth_log DROP COLUMN instance`, `ALTER TABLE auth_log DROP COLUMN instance_seq`,
			`ALTER TABLE audit DROP COLUMN instance`, `ALTER TABLE audit DROP COLUMN instance_seq`,
			`UPDATE meta SET v = '5' WHERE k = 'schema_version'`,
		} {
			_, err := raw.Exec(q)
			require.NoError(t, err, q)
		}
		require.NoError(t, raw.Close())

		db = e.mustOpen(t, target)
		update(t, db, func(tx *store.Tx) error {
			seq, err := tx.LogAuth(ctx, store.AuthRecord{At: t0, MTI: "0100", ResponseCode: "05"})
			require.NoError(t, err)
			require.Equal(t, int64(4), seq, "numbered after the older rows")
			return tx.Audit(ctx, store.AuditEvent{At: t0, Actor: "test", Action: "after"})
		})
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			v, _, err := tx.Meta(ctx, "schema_version")
			require.NoError(t, err)
			require.Equal(t, "7", v)
			log, err := tx.AuthLog(ctx, 2)
			require.NoError(t, err)
			require.Len(t, log, 2)
			require.Equal(t, "", log[0].Instance)
			require.Equal(t, db.Instance(), log[1].Instance)
			n, err := tx.VerifyAudit(ctx)
			require.NoError(t, err)
			if e.name == "sqlite" {
				require.Equal(t, 4, n)
			} else {
				require.Equal(t, 1, n)
			}
			return nil
		}))
	})
}
