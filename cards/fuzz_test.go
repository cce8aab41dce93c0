package cards

import (
	"errors"
	"io/fs"
	"sync"
	"testing"

	"github.com/tapsim/tapsim/cards/profiles"
	"github.com/tapsim/tapsim/emv/apdu"
)

// fuzzCards are built once per process: building is slow (RSA
// certificates), processing is what is fuzzed.
var fuzzCards = sync.OnceValues(func() ([]Card, error) {
	var out []Card
	for _, name := range []string{"visa-plastic", "mc-plastic", "visa-se-phone", "mc-se-phone", "hce-phone-mc", "wallet-phone", "recorded-visa", "dual-brand"} {
		p, err := Builtin(name)
		if err != nil {
			return nil, err
		}
		c, err := FromProfile(p, opts())
		if err != nil {
			return nil, err
		}
		if ph, ok := Phone(c); ok {
			ph.SetVerified(true)
		}
		out = append(out, c)
	}
	return out, nil
})

func mustBytes(c apdu.Command) []byte {
	b, err := c.Bytes()
	if err != nil {
		panic(err)
	}
	return b
}

// prefixes bring a card into a state before the fuzzed command: nothing,
// PPSE selected, an application selected, after GET PROCESSING OPTIONS.
func prefixes(aid []byte, pdol []byte) [][][]byte {
	ppse := mustBytes(apdu.SelectPPSE())
	sel := mustBytes(apdu.Select(aid, true))
	return [][][]byte{
		nil,
		{ppse},
		{ppse, sel},
		{ppse, sel, mustBytes(apdu.GPO(pdol))},
	}
}

var visaPDOL = h("36C04000" + "000000350000" + "000000000000" + "0158" + "0000000000" + "0901" + "261124" + "00" + "0BADCAFE")

// FuzzProcess sends any command to the virtual cards in each state: the
// dispatch must never panic and must always answer at least a status word.
func FuzzProcess(f *testing.F) {
	cdol := h("000000350000" + "000000000000" + "0158" + "0000000000" + "0901" + "261124" + "00" + "0BADCAFE" + "22" + "010002")
	for _, seed := range [][]byte{
		mustBytes(apdu.SelectPPSE()),
		mustBytes(apdu.Select(h("A0000000031010"), true)),
		mustBytes(apdu.Select(h("A000000004"), false)),
		mustBytes(apdu.GPO(visaPDOL)),
		mustBytes(apdu.GPO(nil)),
		mustBytes(apdu.ReadRecord(1, 1)),
		mustBytes(apdu.ReadRecord(2, 1)),
		mustBytes(apdu.ReadRecord(3, 4)),
		mustBytes(apdu.GenerateAC(apdu.ARQC|apdu.CDARequest, cdol)),
		mustBytes(apdu.GenerateAC(apdu.TC, append(cdol, h("0000000000000000"+"03")...))),
		mustBytes(apdu.GetData(0x9F36)),
		mustBytes(apdu.GetData(0x9F13)),
		mustBytes(apdu.ComputeCryptographicChecksum(h("01020304"))),
		h("00A4040000"),
		h("80A80000"),
		h("80A8000000"),
		h("80A800000283"),
		h("00B2"),
		h("FFFFFFFF"),
		h("0000000000000000"),
		{},
	} {
		for state := range 32 { // 8 cards x 4 states
			f.Add(byte(state), seed)
		}
	}
	f.Fuzz(func(t *testing.T, state byte, cmd []byte) {
		cards, err := fuzzCards()
		if err != nil {
			t.Fatal(err)
		}
		c := cards[int(state>>2)%len(cards)]
		aid := h("A0000000031010")
		if a := Applications(c); len(a) > 0 {
			aid = a[0].AID()
		}
		c.Reset()
		for _, p := range prefixes(aid, visaPDOL)[state%4] {
			if r := c.Process(p); len(r) < 2 {
				t.Fatalf("prefix answered %d bytes", len(r))
			}
		}
		for range 2 {
			if r := c.Process(cmd); len(r) < 2 {
				t.Fatalf("answer of %d bytes to %X", len(r), cmd)
			}
		}
	})
}

// FuzzParseProfile: any YAML either parses or gives an ErrProfile error;
// never a panic. Parsed profiles may still fail to build, with ErrProfile.
func FuzzParseProfile(f *testing.F) {
	for _, n := range []string{"visa-plastic", "mc-se-phone", "hce-phone", "recorded-visa", "dual-brand"} {
		b, err := profilesFS(n)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: x\napp: {scheme: visa, imk: 00}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrProfile) {
				t.Fatalf("error not wrapping ErrProfile: %v", err)
			}
			return
		}
		p.Trace = "" // do not read files named by fuzzed input
		if _, err := FromProfile(p, opts()); err != nil && !errors.Is(err, ErrProfile) {
			t.Fatalf("build error not wrapping ErrProfile: %v", err)
		}
	})
}

func profilesFS(name string) ([]byte, error) { return fs.ReadFile(profiles.FS, name+".yaml") }
