package chip

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/apdu"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// fakeApp answers Process with 9000 and the instruction byte, and records
// selections.
type fakeApp struct {
	aid      []byte
	label    string
	selects  int
	deselect int
	selectSW []byte
}

func (f *fakeApp) AID() []byte { return f.aid }
func (f *fakeApp) DirectoryEntry() []byte {
	return append(append([]byte{0x4F, byte(len(f.aid))}, f.aid...), 0x9F, 0x2A, 0x01, 0x03)
}
func (f *fakeApp) Select() []byte {
	f.selects++
	if f.selectSW != nil {
		return f.selectSW
	}
	return []byte{0x6F, 0x00, 0x90, 0x00}
}
func (f *fakeApp) Process(cmd apdu.Command) []byte { return []byte{cmd.INS, 0x90, 0x00} }
func (f *fakeApp) Deselect()                       { f.deselect++ }

func cmd(t *testing.T, c apdu.Command) []byte {
	t.Helper()
	b, err := c.Bytes()
	require.NoError(t, err)
	return b
}

func TestPPSE(t *testing.T) {
	visa := &fakeApp{aid: h("A0000000031010")}
	mc := &fakeApp{aid: h("A0000000041010")}
	c := New([]Application{visa, mc})
	got := c.Process(cmd(t, apdu.SelectPPSE()))
	// 6F { 84 name, A5 { BF0C { 61 {4F AID, 9F2A 03} 61 {...} } } } 9000
	want := h("6F33840E325041592E5359532E4444463031A521BF0C1E" +
		"610D4F07A00000000310109F2A0103" + "610D4F07A00000000410109F2A0103" + "9000")
	require.Equal(t, want, got)

	c.Filter = func(a Application) bool { return a != visa }
	got = c.Process(cmd(t, apdu.SelectPPSE()))
	require.Equal(t, h("6F24840E325041592E5359532E4444463031A512BF0C0F"+"610D4F07A00000000410109F2A0103"+"9000"), got)
	require.Equal(t, apdu.SW6A82, swOf(c.Process(cmd(t, apdu.Select(visa.aid, true)))), "a hidden application is not selectable")

	c.Filter = func(Application) bool { return false }
	require.Equal(t, apdu.SW6A82, swOf(c.Process(cmd(t, apdu.SelectPPSE()))), "nothing visible: no PPSE")

	c = New([]Application{visa}, WithoutPPSE())
	require.Equal(t, apdu.SW6A82, swOf(c.Process(cmd(t, apdu.SelectPPSE()))))
	require.Equal(t, apdu.SW9000, swOf(c.Process(cmd(t, apdu.Select(visa.aid, true)))), "direct selection still works")
}

func swOf(r []byte) uint16 { return uint16(r[len(r)-2])<<8 | uint16(r[len(r)-1]) }

func TestSelectAndRoute(t *testing.T) {
	visa := &fakeApp{aid: h("A0000000031010")}
	visa2 := &fakeApp{aid: h("A0000000032010")}
	mc := &fakeApp{aid: h("A0000000041010")}
	c := New([]Application{visa, visa2, mc})

	require.Equal(t, apdu.SW6985, swOf(c.Process(cmd(t, apdu.GPO(nil)))), "nothing selected")
	require.Equal(t, apdu.SW9000, swOf(c.Process(cmd(t, apdu.Select(mc.aid, true)))))
	require.Equal(t, Application(mc), c.Selected())
	require.Equal(t, []byte{0xA8, 0x90, 0x00}, c.Process(cmd(t, apdu.GPO(nil))))

	// Partial selection: A000000003 matches the first Visa AID, then the next.
	require.Equal(t, apdu.SW9000, swOf(c.Process(cmd(t, apdu.Select(h("A000000003"), true)))))
	require.Equal(t, Application(visa), c.Selected())
	require.Equal(t, 1, mc.deselect, "selecting another application deselects the current one")
	require.Equal(t, apdu.SW9000, swOf(c.Process(cmd(t, apdu.Select(h("A000000003"), false)))))
	require.Equal(t, Application(visa2), c.Selected())
	require.Equal(t, apdu.SW6A82, swOf(c.Process(cmd(t, apdu.Select(h("A000000003"), false)))), "no further occurrence")

	require.Equal(t, apdu.SW6A82, swOf(c.Process(cmd(t, apdu.Select(h("A0000000051010"), true)))))
	c.Reset()
	require.Nil(t, c.Selected())
	require.Equal(t, apdu.SW6985, swOf(c.Process(cmd(t, apdu.ReadRecord(1, 1)))))

	// An application that refuses selection is not selected.
	blocked := &fakeApp{aid: h("A0000000031010"), selectSW: []byte{0x6A, 0x81}}
	c = New([]Application{blocked})
	require.Equal(t, apdu.SW6A81, swOf(c.Process(cmd(t, apdu.Select(blocked.aid, true)))))
	require.Nil(t, c.Selected())
}

// Bad APDUs get the right status word.
func TestStatusWords(t *testing.T) {
	visa := &fakeApp{aid: h("A0000000031010")}
	c := New([]Application{visa})
	for _, tc := range []struct {
		name string
		in   string
		sw   uint16
	}{
		{"empty", "", apdu.SW6700},
		{"3 bytes", "00A404", apdu.SW6700},
		{"Lc longer than data", "00A404000E325041", apdu.SW6700},
		{"class FF", "FFA4040000", apdu.SW6E00},
		{"secure messaging class", "0CA4040000", apdu.SW6E00},
		{"SELECT under class 80", "80A404000E325041592E5359532E4444463031", apdu.SW6E00},
		{"GPO under class 00", "00A8000002830000", apdu.SW6E00},
		{"unknown instruction", "0012000000", apdu.SW6D00},
		{"GET RESPONSE (not T=0)", "00C0000000", apdu.SW6D00},
		{"unknown proprietary instruction", "80EE000000", apdu.SW6D00},
		{"SELECT P1 00", "00A4000002A00000", apdu.SW6A86},
		{"SELECT P2 04", "00A4040402A00000", apdu.SW6A86},
		{"SELECT without data", "00A4040000", apdu.SW6700},
		{"SELECT name of 17 bytes", "00A4040011A0000000031010000000000000000000000000", apdu.SW6700},
		{"SELECT next PPSE", "00A404020E325041592E5359532E4444463031", apdu.SW6A82},
		{"READ RECORD nothing selected", "00B2010C00", apdu.SW6985},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Process(h(tc.in))
			require.Len(t, r, 2)
			require.Equal(t, tc.sw, swOf(r))
		})
	}
}

func TestATR(t *testing.T) {
	atr := DefaultATR()
	require.Equal(t, h("3B888001"), atr[:4])
	require.Equal(t, []byte("TAPSIMVC"), atr[4:12])
	var x byte
	for _, b := range atr[1:] {
		x ^= b
	}
	require.Zero(t, x, "TCK makes the XOR of T0..TCK zero")
	require.Len(t, ContactlessATR(make([]byte, 20)), 4+15+1)
	c := New(nil, WithATR([]byte{0x3B, 0x00}))
	require.Equal(t, []byte{0x3B, 0x00}, c.ATR())
	require.Empty(t, c.Applications())
}
