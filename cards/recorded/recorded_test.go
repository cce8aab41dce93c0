package recorded

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/chip"
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/tlv"
)

var update = flag.Bool("update", false, "rewrite testdata/visa-qvsdc.trace from a live virtual card")

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

const sample = `# a short session
atr 3B8880015441505349 4D5643 5A   # spaces inside hex are fine
> 00A404000E325041592E5359532E444446303100
< 6F23840E325041592E5359532E4444463031A511BF0C0E610C4F07A0000000031010870101 9000

> 00A4040007A000000003101000
< 6F108407A0000000031010A5055003564953 9000
> 80A8000002830000
< 770A820200009404100101009000
> 00B2011400
< 70035A01 00 9000
`

func TestParse(t *testing.T) {
	tr, err := Parse(strings.NewReader(sample))
	require.NoError(t, err)
	require.Equal(t, h("3B88800154415053494D56435A"), tr.ATR)
	require.Len(t, tr.Exchanges, 4)
	require.Equal(t, h("80A8000002830000"), tr.Exchanges[2].Command)
	require.Equal(t, h("770A820200009404100101009000"), tr.Exchanges[2].Response)

	var out bytes.Buffer
	_, err = tr.WriteTo(&out)
	require.NoError(t, err)
	again, err := Parse(&out)
	require.NoError(t, err)
	require.Equal(t, tr, again, "WriteTo writes what Parse reads")
}

// testdata/format.trace documents the format by example; it must parse.
func TestFormatExample(t *testing.T) {
	tr, err := ParseFile(filepath.Join("testdata", "format.trace"))
	require.NoError(t, err)
	require.Equal(t, chipATR(), tr.ATR)
	require.Len(t, tr.Exchanges, 2)
	require.Equal(t, h("6A82"), tr.Exchanges[1].Response)
	c := New(tr)
	require.Equal(t, h("6A82"), c.Process(h("00A4040005F00000000100")))
}

func chipATR() []byte { return chip.DefaultATR() }

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		line int
		err  error
	}{
		{"response first", "< 9000\n", 1, ErrOrder},
		{"two commands", "> 00A4040000\n> 00A4040000\n", 2, ErrOrder},
		{"command at the end", "# c\n> 00A4040000\n", 2, ErrOrder},
		{"odd hex", "> 00A404000\n", 1, ErrHex},
		{"not hex", "> 00A40400ZZ\n", 1, ErrHex},
		{"short command", "> 00A4\n", 1, ErrShort},
		{"short response", "> 00A40400\n< 90\n", 2, ErrShort},
		{"bad ATR", "atr XYZ\n", 1, ErrHex},
		{"unknown line", "hello\n", 1, ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in))
			require.ErrorIs(t, err, tc.err)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tc.line, pe.Line)
		})
	}
	_, err := ParseFile(filepath.Join("testdata", "missing.trace"))
	require.Error(t, err)
	_, err = Load(filepath.Join("testdata", "missing.trace"))
	require.Error(t, err)
}

func TestReplay(t *testing.T) {
	tr, err := Parse(strings.NewReader(sample))
	require.NoError(t, err)
	c := New(tr)
	require.Equal(t, tr.ATR, c.ATR())
	ex := tr.Exchanges
	// In order.
	for _, e := range ex {
		require.Equal(t, e.Response, c.Process(e.Command))
	}
	// Out of order: looked up by command.
	require.Equal(t, ex[1].Response, c.Process(ex[1].Command))
	// Same header, other data (a new unpredictable number): same response.
	require.Equal(t, ex[2].Response, c.Process(h("80A8000004830211 2200")))
	// Unknown commands.
	require.Equal(t, h("6A82"), c.Process(h("00A4040007A000000004101000")))
	require.Equal(t, h("6D00"), c.Process(h("80AE8000")))
	require.Equal(t, h("6D00"), c.Process(nil))
	c.Reset()
	require.Equal(t, ex[0].Response, c.Process(ex[0].Command))
	require.Contains(t, c.String(), "4 exchanges")

	// Responses are copies.
	r := c.Process(ex[1].Command)
	r[0] = 0
	require.Equal(t, ex[1].Response, c.Process(ex[1].Command))

	// Without an ATR line the generic contactless ATR is used.
	require.Equal(t, chip.DefaultATR(), New(&Trace{}).ATR())
}

// A live virtual card's session, saved and replayed, gives the same answers
// command for command: the trace under testdata was made this way (-update
// rewrites it).
func TestRecordedSessionReplays(t *testing.T) {
	path := filepath.Join("testdata", "visa-qvsdc.trace")
	if *update {
		tr := liveSession(t)
		var b bytes.Buffer
		b.WriteString("# Visa-like qVSDC session with a virtual plastic card (tapsim test keys).\n")
		b.WriteString("# PPSE, SELECT, GET PROCESSING OPTIONS (online, no CVM), READ RECORD.\n")
		_, err := tr.WriteTo(&b)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	}
	c, err := Load(path)
	require.NoError(t, err)
	tr, err := ParseFile(path)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(tr.Exchanges), 4)
	for _, e := range tr.Exchanges {
		require.Equal(t, e.Response, c.Process(e.Command))
	}
	r, err := apdu.ParseResponse(tr.Exchanges[2].Response)
	require.NoError(t, err)
	l, err := tlv.Decode(r.Data)
	require.NoError(t, err)
	require.Equal(t, []byte{0x80}, l.Map()[0x9F27], "the recorded GPO returned an ARQC")
}

// liveSession runs a short qVSDC session against a virtual card.
func liveSession(t *testing.T) *Trace {
	t.Helper()
	cvn, err := cryptogram.Lookup("visa18")
	require.NoError(t, err)
	mk, err := cvn.DeriveMK(keys.MustHex(keys.TDES, "0123456789ABCDEF0123456789ABCDEF"), "4761739001010010", "01")
	require.NoError(t, err)
	app, err := emvapp.New(emvapp.Config{
		Scheme: emvapp.Visa, AID: h("A0000000031010"), Label: "VISA CREDIT", Priority: 1,
		PAN: "4761739001010010", PSN: "01", Expiry: emvapp.Date{Year: 2029, Month: 12},
		CVN: cvn, DKI: 1, Keys: emvapp.MasterKey{MK: mk}, Rand: bytes.NewReader(make([]byte, 64)),
	})
	require.NoError(t, err)
	card := chip.New([]chip.Application{app})
	tr := &Trace{ATR: card.ATR()}
	send := func(c apdu.Command) {
		b, err := c.Bytes()
		require.NoError(t, err)
		tr.Exchanges = append(tr.Exchanges, Exchange{Command: b, Response: card.Process(b)})
	}
	send(apdu.SelectPPSE())
	send(apdu.Select(h("A0000000031010"), true))
	send(apdu.GPO(h("36804000" + "000000012500" + "000000000000" + "0158" + "0000000000" + "0901" + "261124" + "00" + "A1B2C3D4")))
	send(apdu.ReadRecord(2, 1))
	return tr
}

// twoTaps is a See Phone session: the first presentation's GET PROCESSING
// OPTIONS is refused (6986), the phone is presented again and answers.
const twoTaps = `> 00A4040007A000000004101000
< 6F0E8407A0000000041010A503 8C 01 00 9000
> 80A8000002830000
< 6986
reset
> 00A4040007A000000004101000
< 6F0E8407A0000000041010A503 8C 01 00 9000
> 80A8000002830000
< 7706820219809400 9000
`

func TestParseReset(t *testing.T) {
	tr, err := Parse(strings.NewReader(twoTaps))
	require.NoError(t, err)
	require.Len(t, tr.Exchanges, 4)
	require.Equal(t, []bool{false, false, true, false},
		[]bool{tr.Exchanges[0].Reset, tr.Exchanges[1].Reset, tr.Exchanges[2].Reset, tr.Exchanges[3].Reset})
	var b bytes.Buffer
	_, err = tr.WriteTo(&b)
	require.NoError(t, err)
	require.Contains(t, b.String(), "\nreset\n> ")
	again, err := Parse(&b)
	require.NoError(t, err)
	require.Equal(t, tr, again)

	for name, in := range map[string]string{
		"reset at the end":   "> 00A4040000\n< 9000\nreset\n",
		"reset in a pair":    "> 00A4040000\nreset\n< 9000\n",
		"reset with data":    "reset 00\n",
		"reset then nothing": "> 00A4040000\n< 9000\nRESET\n# done\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(in))
			require.Error(t, err)
		})
	}
	// A reset before the first command marks nothing.
	tr, err = Parse(strings.NewReader("reset\n> 00A4040000\n< 9000\n"))
	require.NoError(t, err)
	require.False(t, tr.Exchanges[0].Reset)
}

// A card presented again replays the next presentation, as the phone did
// (See Phone, then the unlocked second tap); from the last it starts over.
func TestReplayPresentations(t *testing.T) {
	tr, err := Parse(strings.NewReader(twoTaps))
	require.NoError(t, err)
	ex := tr.Exchanges
	c := New(tr)
	c.Reset() // presented: nothing answered yet, still the first presentation
	require.Equal(t, ex[0].Response, c.Process(ex[0].Command))
	require.Equal(t, h("6986"), c.Process(ex[1].Command))
	c.Reset()
	require.Equal(t, ex[2].Response, c.Process(ex[2].Command))
	require.Equal(t, ex[3].Response, c.Process(ex[3].Command), "the second tap is answered")
	c.Reset()
	c.Reset()
	require.Equal(t, ex[0].Response, c.Process(ex[0].Command))
	require.Equal(t, h("6986"), c.Process(h("80A8000002830000")), "from the last presentation back to the first")
}

func TestTerminalValues(t *testing.T) {
	// The recorded qVSDC session: the PDOL places the amount and the
	// unpredictable number in GET PROCESSING OPTIONS.
	tr, err := ParseFile(filepath.Join("testdata", "visa-qvsdc.trace"))
	require.NoError(t, err)
	require.Equal(t, [][]byte{h("A1B2C3D4")}, tr.TerminalValues(0x9F37))
	require.Equal(t, [][]byte{h("000000012500")}, tr.TerminalValues(0x9F02))
	require.Equal(t, [][]byte{h("0901")}, tr.TerminalValues(0x5F2A))
	require.Empty(t, tr.TerminalValues(0x9F4C), "not asked for")

	// CDOL1 and CDOL2 from a record, DDOL too; two presentations.
	const cdol = `> 00A4040007A000000004101000
< 6F098407A0000000041010 9000
> 80A8000002830000
< 770A820219809404080101009000
> 00B2010C00
< 7018 8C09 9F0206 9F3704 9F3501 8D05 8A02 9F3704 9F4903 9F3704 9000
> 80AE80000B 000000001500 11223344 22 00
< 9000
> 80AE400006 3030 11223344
< 9000
> 0088000004 55667788 00
< 9000
reset
> 00A4040007A000000004101000
< 6F098407A0000000041010 9000
> 80AE80000B 000000001500 99AABBCC 22 00
< 9000
`
	tr, err = Parse(strings.NewReader(cdol))
	require.NoError(t, err)
	require.Equal(t, [][]byte{h("11223344"), h("55667788")}, tr.TerminalValues(0x9F37),
		"CDOL1, CDOL2 (the same value once) and DDOL; the second presentation has no CDOL1 yet")
	require.Equal(t, [][]byte{h("000000001500")}, tr.TerminalValues(0x9F02))
	require.Equal(t, [][]byte{h("3030")}, tr.TerminalValues(0x8A))

	// A C-2 data storage write: the DSDOL related data follow the CDOL1
	// data in GENERATE AC, the DS ODS Term (last entry) at its own length.
	const dsWrite = `> 00A4040007A000000004101000
< 6F098407A0000000041010 9000
> 00B2010C00
< 7017 8C06 9F0206 9F3704 9F5B0C DF6008 DF6108 DF6201 DF63A0 9000
> 80AE900021 000000001500 11223344 0000000000000000 1111111111111111 80 504F494E5453 00
< 9000
`
	tr, err = Parse(strings.NewReader(dsWrite))
	require.NoError(t, err)
	require.Equal(t, [][]byte{h("11223344")}, tr.TerminalValues(0x9F37))
	require.Equal(t, [][]byte{h("80")}, tr.TerminalValues(0xDF62), "DS ODS Info")
	require.Equal(t, [][]byte{h("504F494E5453")}, tr.TerminalValues(0xDF63), "DS ODS Term")
	require.Equal(t, [][]byte{h("1111111111111111")}, tr.TerminalValues(0xDF61), "DS Digest H")

	// Data that does not fit its DOL, or malformed answers, are skipped.
	const bad = `> 00A4040007A000000004101000
< 6F0C8407A0000000041010 A501 FF 9000
> 80A8000004830211 2200
< 6985
> 00B2010C00
< 7003 8C01 9000
> 80AE80000300000000
< 9000
`
	tr, err = Parse(strings.NewReader(bad))
	require.NoError(t, err)
	require.Empty(t, tr.TerminalValues(0x9F37))
}
