package trace_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/trace"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestCommandName(t *testing.T) {
	tests := []struct{ capdu, want string }{
		{"00A404000E325041592E5359532E444446303100", "SELECT PPSE"},
		{"00A4040007A000000003101000", "SELECT"},
		{"80A8000002830000", "GET PROCESSING OPTIONS"},
		{"00B2010C00", "READ RECORD 1 SFI 1"},
		{"80AE900000", "GENERATE AC ARQC + CDA"},
		{"80AE400000", "GENERATE AC TC"},
		{"80CA9F3600", "GET DATA 9F36"},
		{"80EA00000401020304", "EXCHANGE RELAY RESISTANCE DATA"},
		{"802A8E800400012345", "COMPUTE CRYPTOGRAPHIC CHECKSUM"},
		{"0082000008A3B89B0800820000", "EXTERNAL AUTHENTICATE"},
		{"841E000004AABBCCDD", "APPLICATION BLOCK"},
		{"8418000004AABBCCDD", "APPLICATION UNBLOCK"},
		{"04DA9F230505AABBCCDD", "PUT DATA"},
		{"00FF0000", "INS FF"},
		{"00", "malformed command"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, trace.CommandName(h(tc.capdu)), tc.capdu)
	}
}

// A response is printed as its TLV tree with the PAN masked, never as raw
// hex.
func TestExchangeMasksResponse(t *testing.T) {
	var out bytes.Buffer
	p := trace.Printer{W: &out, Kernel: tlv.Kernel3, Timing: true}
	// 70 { 5A 4761739001010010, 5F24 291231 } 9000
	p.Exchange(kernel.Exchange{C: h("00B2010C00"), R: h("70105A0847617390010100105F24032912319000"), Dur: 42 * time.Microsecond})
	p.Exchange(kernel.Exchange{C: h("80A8000002830000"), Err: errors.New("card removed")})
	s := out.String()
	require.Contains(t, s, "1. > READ RECORD 1 SFI 1  00B2010C00")
	require.Contains(t, s, "9000")
	require.Contains(t, s, "(42µs)")
	require.Contains(t, s, "error: card removed")
	require.Contains(t, s, "476173")
	require.NotContains(t, s, "4761739001010010")
	require.NotContains(t, s, "70105A08", "no raw response hex")
	require.Contains(t, s, "2. > GET PROCESSING OPTIONS")
	require.Contains(t, s, "error: card removed")
}

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{420 * time.Nanosecond, "420ns"},
		{999 * time.Nanosecond, "999ns"},
		{4*time.Microsecond + 160*time.Nanosecond, "4.2µs"},
		{12*time.Millisecond + 345678*time.Nanosecond, "12.35ms"},
		{2*time.Second + 5*time.Millisecond, "2.005s"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, trace.Duration(tc.d))
	}
}

// Tags that C-2 and C-3 define differently are named by the printer's
// kernel: a Mastercard record's 2-byte 9F66 is PUNATC(Track2), its 9F68 the
// Mag-stripe CVM List.
func TestExchangeNamesTagsByKernel(t *testing.T) {
	// 70 { 9F66 0038, 9F68 0E bytes }
	r := h("70169F660200389F680E000000000000000042031E031F009000")
	tests := []struct {
		kernel tlv.Kernel
		want   []string
	}{
		{tlv.Kernel2, []string{"9F66 [2] PUNATC (Track2): 0038", "9F68 [14] Mag-stripe CVM List"}},
		{tlv.Kernel3, []string{"9F66 [2] Terminal Transaction Qualifiers (TTQ)", "9F68 [14] Card Additional Processes"}},
	}
	for _, tc := range tests {
		t.Run(tc.kernel.String(), func(t *testing.T) {
			var out bytes.Buffer
			p := trace.Printer{W: &out, Kernel: tc.kernel}
			p.Exchange(kernel.Exchange{C: h("00B2010C00"), R: r})
			for _, w := range tc.want {
				require.Contains(t, out.String(), w)
			}
		})
	}
}

// A Printer left on KernelAny (the terminal UI's) follows the card: after
// the SELECT of an application it names the kernel the PPSE gave it and
// uses that kernel's tag names.
func TestExchangeFollowsSelectedKernel(t *testing.T) {
	// PPSE: 6F { 84 2PAY.SYS.DDF01, A5 { BF0C { 61 { 4F A0000000041010, 9F2A 02 } } } }
	ppse := h("6F23840E325041592E5359532E4444463031A511BF0C0E610C4F07A00000000410109F2A01029000")
	record := h("70059F660200389000")
	tests := []struct {
		name    string
		steps   []kernel.Exchange
		want    []string
		notWant []string
	}{
		{"kernel from the ppse", []kernel.Exchange{
			{C: h("00A404000E325041592E5359532E444446303100"), R: ppse},
			{C: h("00A4040007A000000004101000"), R: h("9000")},
			{C: h("00B2010C00"), R: record},
		}, []string{"   kernel C-2 (kernel ID 2)\n", "9F66 [2] PUNATC (Track2): 0038"}, nil},
		{"kernel by the rid", []kernel.Exchange{
			{C: h("00A4040007A000000003101000"), R: h("9000")},
			{C: h("00B2010C00"), R: h("70069F6C0280009000")},
		}, []string{"   kernel C-3 (kernel ID 3)\n", "9F6C [2] Card Transaction Qualifiers (CTQ): 8000", "byte 1 bit 8: Online PIN Required"}, nil},
		{"a new ppse forgets the kernel", []kernel.Exchange{
			{C: h("00A4040007A000000004101000"), R: h("9000")},
			{C: h("00A404000E325041592E5359532E444446303100"), R: h("6A82")},
			{C: h("00B2010C00"), R: record},
		}, []string{"9F66 [2] Terminal Transaction Qualifiers (TTQ)"}, []string{"PUNATC"}},
		{"failed select", []kernel.Exchange{
			{C: h("00A4040007A000000004101000"), R: h("6A82")},
		}, nil, []string{"kernel C-2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := trace.Printer{W: &out}
			for _, ex := range tc.steps {
				p.Exchange(ex)
			}
			for _, w := range tc.want {
				require.Contains(t, out.String(), w)
			}
			for _, w := range tc.notWant {
				require.NotContains(t, out.String(), w)
			}
		})
	}
}

// A phone answers 6986 to a command asking it to transact when the
// cardholder must look at it; elsewhere 6986 keeps its ISO 7816 name.
func TestExchangeSeePhone(t *testing.T) {
	tests := []struct{ capdu, want string }{
		{"80A8000002830000", "< 6986: see phone (conditions of use not satisfied: see phone for instructions)"},
		{"80AE800000", "< 6986: see phone"},
		{"00B2010C00", "< 6986: command not allowed (no current EF)"},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		p := trace.Printer{W: &out}
		p.Exchange(kernel.Exchange{C: h(tc.capdu), R: h("6986")})
		require.Contains(t, out.String(), tc.want, tc.capdu)
	}
}
