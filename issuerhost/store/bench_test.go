package store_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tapsim/tapsim/issuerhost/store"
)

// benchDB opens handles stores on one fresh database of engine e, with
// an account of a large limit.
func benchDB(b *testing.B, e engine, handles int) []*store.DB {
	b.Helper()
	target := e.fresh(b)
	dbs := make([]*store.DB, handles)
	for i := range dbs {
		dbs[i] = e.mustOpen(b, target)
	}
	err := dbs[0].Update(ctx, func(tx *store.Tx) error {
		return tx.PutAccount(ctx, store.Account{ID: "a1", Currency: 901, CreditLimit: 1 << 40})
	})
	if err != nil {
		b.Fatal(err)
	}
	return dbs
}

// BenchmarkAuthorise is one authorisation's read-modify-write (ATC
// high-water mark, used cryptogram, hold on the account, authorisation
// log, audit entry) committed durably, on each engine; "2 handles" runs
// it from two handles on one database at once, as two issuer host
// processes sharing PostgreSQL would.
func BenchmarkAuthorise(b *testing.B) {
	for _, e := range engines {
		for _, handles := range []int{1, 2} {
			name := e.name
			if handles > 1 {
				name += "/2 handles"
			}
			b.Run(name, func(b *testing.B) {
				dbs := benchDB(b, e, handles)
				var next atomic.Uint32
				b.ResetTimer()
				b.SetParallelism(1)
				if handles == 1 {
					for range b.N {
						benchTap(b, dbs[0], &next)
					}
					return
				}
				var which atomic.Uint32
				b.RunParallel(func(pb *testing.PB) {
					db := dbs[which.Add(1)%uint32(len(dbs))]
					for pb.Next() {
						benchTap(b, db, &next)
					}
				})
			})
		}
	}
}

func benchTap(b *testing.B, db *store.DB, next *atomic.Uint32) {
	n := next.Add(1)
	if n > 0xFFFF {
		b.Fatal("ATCs exhausted")
	}
	if _, err := authorise(db, uint16(n), 1); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAuthoriseRows is the authorisation of tap (card, account,
// cryptogram, ATC, hold, log, audit, in UpdateRows) on PostgreSQL, from
// two workers that each tap a card of their own: "1 instance" runs both on
// one store handle (whose writers take turns), "2 instances" each on a
// handle of its own, as two issuer processes sharing the database. The
// ratio of their ns/op is what a second issuer instance adds. "whole
// database" runs the same in Update, which serialises every writer of
// every instance, for comparison.
func BenchmarkAuthoriseRows(b *testing.B) {
	const workers = 2
	for _, c := range []struct {
		handles int
		whole   bool
	}{{1, false}, {2, false}, {2, true}} {
		name := fmt.Sprintf("postgres/%d instances", c.handles)
		if c.whole {
			name += "/whole database"
		}
		handles := c.handles
		b.Run(name, func(b *testing.B) {
			target := postgresEngine.fresh(b)
			dbs := make([]*store.DB, handles)
			for i := range dbs {
				dbs[i] = postgresEngine.mustOpen(b, target)
			}
			seedCards(b, dbs[0], workers)
			var wg sync.WaitGroup
			errs := make([]error, workers)
			b.ResetTimer()
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					db := dbs[w%handles]
					for i := w; i < b.N; i += workers {
						update := db.UpdateRows
						if c.whole {
							update = db.Update
						}
						reason, err := tapIn(update, rowsPAN(w+1), uint16(i/workers+1), fmt.Sprint(i), 1)
						if err == nil && reason != "" {
							err = fmt.Errorf("tap %d declined: %s", i, reason)
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
		})
	}
}
