package recorded

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any text either parses into a trace that writes back to the
// same trace, or gives an error; never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(twoTaps))
	if b, err := os.ReadFile(filepath.Join("testdata", "visa-qvsdc.trace")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("atr 3B00\n> 00A4040000\n< 6A82\n"))
	f.Add([]byte("> 00A4\n"))
	f.Add([]byte("<9000"))
	f.Fuzz(func(t *testing.T, in []byte) {
		tr, err := Parse(bytes.NewReader(in))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if _, err := tr.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		again, err := Parse(&b)
		if err != nil {
			t.Fatalf("written trace does not parse: %v", err)
		}
		if len(again.Exchanges) != len(tr.Exchanges) || !bytes.Equal(again.ATR, tr.ATR) {
			t.Fatal("round trip changed the trace")
		}
		_ = tr.TerminalValues(0x9F37)
		c := New(tr)
		for i, e := range tr.Exchanges {
			if r := c.Process(e.Command); len(r) < 2 {
				t.Fatal("short answer")
			}
			if i%3 == 2 {
				c.Reset()
			}
		}
	})
}
