package trace_test

import (
	"io"
	"testing"

	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/trace"
)

// FuzzExchange feeds any command and response pair after a PPSE answer:
// printing, kernel following and bit decoding must never panic.
func FuzzExchange(f *testing.F) {
	f.Add(h("00A404000E325041592E5359532E444446303100"), h("6F23840E325041592E5359532E4444463031A511BF0C0E610C4F07A00000000410109F2A01029000"))
	f.Add(h("00A4040007A000000004101000"), h("9000"))
	f.Add(h("80AE800000"), h("770D9F100A0110A04000000000AB129000"))
	f.Add(h("00A4"), h("6986"))
	f.Fuzz(func(t *testing.T, c, r []byte) {
		p := trace.Printer{W: io.Discard}
		p.Exchange(kernel.Exchange{C: c, R: r})
		p.Exchange(kernel.Exchange{C: h("00A4040007A000000004101000"), R: h("9000")})
		p.Exchange(kernel.Exchange{C: c, R: r})
	})
}
