package authz_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
)

// BenchmarkAuthorize is the decision pipeline alone, from request to
// committed decision, for an approved Visa CVN 18 purchase with no CVM and
// an HCE purchase with CDCVM (a cloud limited-use key). Cryptograms are computed
// outside the timer.
func BenchmarkAuthorize(b *testing.B) {
	for _, card := range []string{issuertest.VisaPlastic, issuertest.HCE} {
		b.Run(card, func(b *testing.B) {
			n := issuertest.New(b)
			e, err := authz.New(n.DB, n.HSM, authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Now: n.Clock.Now, Cloud: n.Cloud})
			if err != nil {
				b.Fatal(err)
			}
			next := uint16(6) // after the phone's first 5 keys
			before := n.DB.Statements()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				tap := issuertest.Tap{Amount: 100, CDCVM: true}
				if card == issuertest.HCE {
					// keep the phone supplied with keys, and the clock
					// in the hour of the key it uses
					for int(next)-int(n.Cards[card].ATC) <= 1 {
						n.IssueKey(card, next)
						next++
					}
					n.Clock.Set(issuertest.KeyHour(n.Cards[card].ATC + 1))
				}
				if n.Cards[card].ATC >= 0xFFF0 {
					b.Fatal("ATCs exhausted")
				}
				r := n.Request(card, tap)
				b.StartTimer()
				d, err := e.Authorize(ctx, r)
				if err != nil || d.Reason != authz.Approved {
					b.Fatalf("%v %v", d, err)
				}
			}
			b.StopTimer()
			after := n.DB.Statements()
			b.ReportMetric(float64(after.Write-before.Write)/float64(b.N), "write-stmts/op")
			b.ReportMetric(float64(after.Read-before.Read)/float64(b.N), "read-stmts/op")
		})
	}
}

// BenchmarkAuthorizeParallel is the decision pipeline under concurrent
// requests: one worker per plastic or SE card, each authorising its own
// card's approved purchases in ATC order, all on one issuer. It reports
// the statements the store ran per authorisation, in read-write
// transactions (write-stmts/op) and read-only ones (read-stmts/op).
func BenchmarkAuthorizeParallel(b *testing.B) {
	n := issuertest.New(b)
	e, err := authz.New(n.DB, n.HSM, authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Now: n.Clock.Now, Cloud: n.Cloud})
	if err != nil {
		b.Fatal(err)
	}
	cards := []string{issuertest.VisaPlastic, issuertest.Visa22, issuertest.MCPlastic, issuertest.MC21, issuertest.VisaSE, issuertest.Visa10}
	reqs := make([][]authz.Request, len(cards))
	for i := 0; i < b.N; i++ {
		w := i % len(cards)
		if n.Cards[cards[w]].ATC >= 0xFFF0 {
			b.Fatal("ATCs exhausted")
		}
		reqs[w] = append(reqs[w], n.Request(cards[w], issuertest.Tap{Amount: 100}))
	}
	before := n.DB.Statements()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make([]error, len(cards))
	for w := range cards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range reqs[w] {
				d, err := e.Authorize(ctx, r)
				if err == nil && d.Reason != authz.Approved {
					err = fmt.Errorf("%s declined: %v", cards[w], d)
				}
				if err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	after := n.DB.Statements()
	b.ReportMetric(float64(after.Write-before.Write)/float64(b.N), "write-stmts/op")
	b.ReportMetric(float64(after.Read-before.Read)/float64(b.N), "read-stmts/op")
}
