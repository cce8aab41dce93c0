package cards

import (
	"testing"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/tlv"
)

// BenchmarkProcessGPO is the Visa-like card's side of a tap: SELECT and GET
// PROCESSING OPTIONS, online (ARQC) and offline with an fDDA signature (TC).
func BenchmarkProcessGPO(b *testing.B) {
	for _, tc := range []struct{ name, ttq, amount string }{
		{"online", "36C04000", "000000350000"},
		{"offline-fDDA", "36004000", "000000000100"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := Builtin("visa-plastic")
			if err != nil {
				b.Fatal(err)
			}
			p.App.Offline.MaxConsecutive = 0
			p.App.Offline.Limit = 1 << 40
			c, err := FromProfile(p, opts())
			if err != nil {
				b.Fatal(err)
			}
			app := Applications(c)[0]
			sel := mustBytes(apdu.Select(h("A0000000031010"), true))
			gpo := mustBytes(apdu.GPO(h(tc.ttq + tc.amount + "000000000000" + "0158" + "0000000000" + "0901" + "261124" + "00" + "0BADCAFE")))
			b.ReportAllocs()
			for b.Loop() {
				c.Reset()
				c.Process(sel)
				if r := c.Process(gpo); len(r) < 50 || r[len(r)-2] != 0x90 {
					b.Fatalf("GPO answered %X", r)
				}
				// Keep the ATC from running out on long runs.
				if a := app; a.State().ATC > 60000 {
					a.SetState(emvapp.State{})
				}
			}
		})
	}
}

// BenchmarkMChipGenerateAC is the Mastercard-like card's side of a tap:
// SELECT, GPO, 6 READ RECORDs and GENERATE AC with a CDA signature.
func BenchmarkMChipGenerateAC(b *testing.B) {
	p, err := Builtin("mc-plastic")
	if err != nil {
		b.Fatal(err)
	}
	c, err := FromProfile(p, opts())
	if err != nil {
		b.Fatal(err)
	}
	x := defaultTerminal("000000350000")
	cdol, _ := tlv.ParseDOL(h("9F02069F03069F1A0295055F2A029A039C019F37049F35019F3403"))
	cmds := [][]byte{mustBytes(apdu.Select(h("A0000000041010"), true)), mustBytes(apdu.GPO(nil))}
	for _, r := range [][2]byte{{1, 1}, {2, 1}, {3, 1}, {3, 2}, {3, 3}, {3, 4}} {
		cmds = append(cmds, mustBytes(apdu.ReadRecord(r[0], r[1])))
	}
	genAC := mustBytes(apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, tlv.BuildDOL(cdol, x.source)))
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		for _, cmd := range cmds {
			c.Process(cmd)
		}
		if r := c.Process(genAC); len(r) < 100 || r[len(r)-2] != 0x90 {
			b.Fatalf("GENERATE AC answered %X", r)
		}
		a := Applications(c)[0]
		if st := a.State(); st.ATC > 60000 {
			st.ATC = 0
			a.SetState(st)
		}
	}
}

// BenchmarkFromProfile is building a card: key derivation and the issuer
// and ICC certificates (two RSA signatures).
func BenchmarkFromProfile(b *testing.B) {
	for _, name := range []string{"visa-plastic", "mc-se-phone", "hce-phone"} {
		b.Run(name, func(b *testing.B) {
			p, err := Builtin(name)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := FromProfile(p, opts()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
