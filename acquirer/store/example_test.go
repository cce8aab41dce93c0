package store_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tapsim/tapsim/acquirer/store"
)

// A reversal advice is queued when the issuer stays silent, and survives a
// restart of the acquirer until the issuer acknowledges it.
func ExampleSQL_Enqueue() {
	dir, _ := os.MkdirTemp("", "acq")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

	s, _ := store.Open(dir)
	jid, _ := s.Record(ctx, store.Entry{At: at, MTI: "0100", TID: "T0000001", TermSTAN: "000123",
		TermDE7: "0314092653", MaskedPAN: "476173******0010", BIN: "476173", Amount: 150000, Currency: "901"})
	_, _ = s.Enqueue(ctx, store.Advice{JournalID: jid, CreatedAt: at, BIN: "476173",
		DE90: "010000000103140926540000012345600000000000", STAN: "000002", ProcessingCode: "000000", Amount: 150000, Currency: "901",
		MaskedPAN: "476173******0010", ReasonCode: "91"},
		store.Result{ResponseCode: "91", Reason: "issuer-timeout", State: store.StateTimedOut})
	s.Close()

	s, _ = store.Open(dir) // after a restart
	defer s.Close()
	due, _ := s.Due(ctx, at, 0, 10)
	fmt.Println(len(due), due[0].MaskedPAN, due[0].Attempts)
	e, _ := s.Entry(ctx, jid)
	fmt.Println(e.ResponseCode, e.State)
	// Output:
	// 1 476173******0010 0
	// 91 timed-out
}
