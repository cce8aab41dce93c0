package authz_test

import (
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
		})
	}
}
