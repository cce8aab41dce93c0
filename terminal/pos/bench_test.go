package pos_test

import (
	"context"
	"testing"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/pos"
)

// BenchmarkSale is one whole sale against an acquirer on loopback TCP:
// kernel run on a virtual card, 0100 built and MACed, sent, answer checked
// and applied, receipt printed. The PIN variant adds the DUKPT PIN block.
// Like the load generator's, the terminal has no event listener.
func BenchmarkSale(b *testing.B) {
	for _, bc := range []struct {
		name   string
		amount int64
		keypad pinpad.Keypad
	}{
		{"no-cvm", 150000, nil},
		{"online-pin", 350000, pinpad.Always("1234")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := newRigEvents(b, approveAll, pos.Options{Keypad: bc.keypad}, false)
			card := newCard(b, "visa-plastic")
			app := cards.Applications(card)[0]
			reader := inproc.New(card)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if app.State().ATC > 60000 {
					app.SetState(emvapp.State{})
				}
				reader.Present(card)
				res, err := r.term.Sale(ctx, bc.amount, reader)
				if err != nil {
					b.Fatal(err)
				}
				if res.Status != pos.StatusApproved {
					b.Fatalf("sale %s", res)
				}
			}
		})
	}
}
