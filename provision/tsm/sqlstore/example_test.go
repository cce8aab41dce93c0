package sqlstore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/tsm/sqlstore"
)

// A TSM's state and transaction log in a database of its own.
func Example() {
	dir, err := os.MkdirTemp("", "tsm-store-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	s, err := sqlstore.Open(filepath.Join(dir, "se-tsm.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	_ = s.Put("status", "order-1", []byte(`"personalised"`))
	_ = s.AppendLog(tsm.Entry{At: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC), Order: "order-1", Step: "download", Outcome: "personalised"})
	d, _ := tsm.Dump(s, tsm.StoreKinds...)
	log, _ := s.Log()
	fmt.Println(d[0])
	fmt.Println(log[0].Step, log[0].Outcome)
	// Output:
	// status order-1 "personalised"
	// download personalised
}
