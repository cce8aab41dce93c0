package tlv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

// Every tag a contactless transaction and an authorisation's DE55 use has a
// dictionary entry.
func TestLookupCoversTransactionTags(t *testing.T) {
	tags := []tlv.Tag{
		0x4F, 0x50, 0x56, 0x57, 0x5A, 0x5F20, 0x5F24, 0x5F25, 0x5F28, 0x5F2A, 0x5F2D, 0x5F34,
		0x61, 0x6F, 0x70, 0x77, 0x80, 0x82, 0x84, 0x87, 0x88, 0x8A, 0x8C, 0x8D, 0x8E, 0x8F,
		0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x9A, 0x9B, 0x9C, 0x9D,
		0x9F01, 0x9F02, 0x9F03, 0x9F06, 0x9F07, 0x9F08, 0x9F09, 0x9F0D, 0x9F0E, 0x9F0F,
		0x9F10, 0x9F12, 0x9F1A, 0x9F1B, 0x9F1E, 0x9F21, 0x9F26, 0x9F27, 0x9F32, 0x9F33,
		0x9F34, 0x9F35, 0x9F36, 0x9F37, 0x9F38, 0x9F39, 0x9F40, 0x9F41, 0x9F42, 0x9F44,
		0x9F45, 0x9F46, 0x9F47, 0x9F48, 0x9F49, 0x9F4A, 0x9F4B, 0x9F4C, 0x9F4D, 0x9F4E,
		0x9F53, 0x9F5D, 0x9F5B, 0x9F60, 0x9F61, 0x9F66, 0x9F69, 0x9F6C, 0x9F6E, 0x9F7C,
		0x9F7E, 0xA5, 0xBF0C, 0xDF4B,
		0xDF8115, 0xDF8116, 0xDF8117, 0xDF8118, 0xDF8119, 0xDF811A, 0xDF811B, 0xDF811C,
		0xDF811D, 0xDF811E, 0xDF811F, 0xDF8120, 0xDF8121, 0xDF8122, 0xDF8123, 0xDF8124,
		0xDF8125, 0xDF8126, 0xDF8129, 0xDF812A,
	}
	for _, tag := range tags {
		for _, k := range []tlv.Kernel{tlv.KernelAny, tlv.Kernel2, tlv.Kernel3} {
			in, ok := tlv.LookupFor(tag, k)
			require.True(t, ok, "%v for %v", tag, k)
			require.NotEmpty(t, in.Name)
			require.Equal(t, tag, in.Tag)
		}
	}
}

func TestLookupFormats(t *testing.T) {
	tests := []struct {
		tag      tlv.Tag
		name     string
		format   tlv.Format
		source   tlv.Source
		min, max int
	}{
		{0x9F02, "Amount, Authorised (Numeric)", tlv.FormatN, tlv.SourceTerminal, 6, 6},
		{0x5A, "Application Primary Account Number (PAN)", tlv.FormatCN, tlv.SourceICC, 1, 10},
		{0x50, "Application Label", tlv.FormatANS, tlv.SourceICC, 1, 16},
		{0x9F1C, "Terminal Identification", tlv.FormatAN, tlv.SourceTerminal, 8, 8},
		{0x57, "Track 2 Equivalent Data", tlv.FormatB, tlv.SourceICC, 1, 19},
		{0x91, "Issuer Authentication Data", tlv.FormatB, tlv.SourceIssuer, 8, 16},
		{0x8A, "Authorisation Response Code", tlv.FormatAN, tlv.SourceIssuer, 2, 2},
		{0x70, "READ RECORD Response Message Template", tlv.FormatVar, tlv.SourceICC, 0, 252},
		{0x9F37, "Unpredictable Number", tlv.FormatB, tlv.SourceTerminal, 4, 4},
		{0xDF8129, "Outcome Parameter Set", tlv.FormatB, tlv.SourceKernel, 8, 8},
		{0xDF8126, "Reader CVM Required Limit", tlv.FormatN, tlv.SourceTerminal, 6, 6},
	}
	for _, tc := range tests {
		t.Run(tc.tag.String(), func(t *testing.T) {
			in, ok := tlv.Lookup(tc.tag)
			require.True(t, ok)
			require.Equal(t, tc.name, in.Name)
			require.Equal(t, tc.format, in.Format)
			require.Equal(t, tc.source, in.Source)
			require.Equal(t, tc.min, in.MinLen)
			require.Equal(t, tc.max, in.MaxLen)
		})
	}
}

// Tags whose meaning depends on the kernel.
func TestLookupForKernel(t *testing.T) {
	tests := []struct {
		tag    tlv.Tag
		kernel tlv.Kernel
		name   string
	}{
		{0x9F7E, tlv.KernelAny, "Application Life Cycle Data"},
		{0x9F7E, tlv.Kernel3, "Application Life Cycle Data"},
		{0x9F7E, tlv.Kernel2, "Mobile Support Indicator"},
		{0x9F6E, tlv.Kernel2, "Third Party Data"},
		{0x9F6E, tlv.Kernel3, "Form Factor Indicator (FFI)"},
		{0x9F6E, tlv.KernelAny, "Third Party Data (C-2) / Form Factor Indicator (C-3)"},
		{0x9F69, tlv.Kernel2, "UDOL"},
		{0x9F69, tlv.Kernel3, "Card Authentication Related Data"},
		{0x9F6C, tlv.Kernel2, "Mag-stripe Application Version Number (Card)"},
		{0x9F6C, tlv.Kernel3, "Card Transaction Qualifiers (CTQ)"},
		{0x9F66, tlv.KernelAny, "Terminal Transaction Qualifiers (TTQ)"},
		{0x9F66, tlv.Kernel3, "Terminal Transaction Qualifiers (TTQ)"},
		{0x9F66, tlv.Kernel2, "PUNATC (Track2)"},
		{0x9F5D, tlv.Kernel2, "Application Capabilities Information"},
		{0x9F5D, tlv.Kernel3, "Available Offline Spending Amount (AOSA)"},
		{0x9F7C, tlv.Kernel2, "Merchant Custom Data"},
		{0x9F7C, tlv.Kernel3, "Customer Exclusive Data (CED)"},
		// Tags of one kernel only are found whatever the kernel asked.
		{0xDF8124, tlv.KernelAny, "Reader Contactless Transaction Limit (No On-device CVM)"},
		{0xDF8124, tlv.Kernel3, "Reader Contactless Transaction Limit (No On-device CVM)"},
		// 9F68 means two things: each kernel gets its own, no kernel both.
		{0x9F68, tlv.Kernel2, "Mag-stripe CVM List"},
		{0x9F68, tlv.Kernel3, "Card Additional Processes"},
		{0x9F68, tlv.KernelAny, "Mag-stripe CVM List (C-2) / Card Additional Processes (C-3)"},
	}
	for _, tc := range tests {
		t.Run(tc.tag.String()+" "+tc.kernel.String(), func(t *testing.T) {
			in, ok := tlv.LookupFor(tc.tag, tc.kernel)
			require.True(t, ok)
			require.Equal(t, tc.name, in.Name)
		})
	}
	in, _ := tlv.LookupFor(0x9F5D, tlv.Kernel3)
	require.Equal(t, tlv.FormatN, in.Format)
	require.Equal(t, tlv.Kernel3, in.Kernel)
	in, _ = tlv.LookupFor(0x9F7E, tlv.Kernel2)
	require.Equal(t, tlv.SourceTerminal, in.Source)

	_, ok := tlv.Lookup(0xDF7F)
	require.False(t, ok)
	_, ok = tlv.LookupFor(0x9F8101, tlv.Kernel2)
	require.False(t, ok)
}

func TestLookupSensitive(t *testing.T) {
	for _, tag := range []tlv.Tag{0x5A, 0x57, 0x56, 0x99, 0x5F20, 0x9F1F, 0x9F20} {
		in, ok := tlv.Lookup(tag)
		require.True(t, ok)
		require.True(t, in.Sensitive, "%v", tag)
	}
	in, ok := tlv.LookupFor(0x9F6B, tlv.Kernel2)
	require.True(t, ok)
	require.True(t, in.Sensitive)
	for _, tag := range []tlv.Tag{0x9F02, 0x5F24, 0x9F26, 0x82} {
		in, _ := tlv.Lookup(tag)
		require.False(t, in.Sensitive, "%v", tag)
	}
}

// The table is consistent: well-formed tags, one entry per tag and kernel,
// sane lengths, templates exactly for constructed tags.
func TestDictionaryConsistent(t *testing.T) {
	seen := map[[2]int]bool{}
	count := 0
	for _, in := range tlv.Dictionary() {
		count++
		require.True(t, in.Tag.Valid(), "%v", in.Tag)
		key := [2]int{int(in.Tag), int(in.Kernel)}
		require.False(t, seen[key], "%v %v listed twice", in.Tag, in.Kernel)
		seen[key] = true
		require.LessOrEqual(t, in.MinLen, in.MaxLen, "%v", in.Tag)
		require.GreaterOrEqual(t, in.MinLen, 0, "%v", in.Tag)
		if in.Tag.Constructed() {
			require.Equal(t, tlv.FormatVar, in.Format, "%v", in.Tag)
		}
		if in.Format == tlv.FormatN && in.Tag != 0x9F5E {
			// Amounts and counters fit 16 digits; the DS ID (PAN and
			// PSN, up to 22 digits) is the one longer numeric.
			require.LessOrEqual(t, in.MaxLen, 8, "%v", in.Tag)
		}
	}
	require.Greater(t, count, 200)
}

func TestEnumStrings(t *testing.T) {
	require.Equal(t, "C-2", tlv.Kernel2.String())
	require.Equal(t, "C-3", tlv.Kernel3.String())
	require.Equal(t, "any", tlv.KernelAny.String())
	require.Equal(t, "cn", tlv.FormatCN.String())
	require.Equal(t, "ans", tlv.FormatANS.String())
	require.Equal(t, "var.", tlv.FormatVar.String())
	require.Equal(t, "issuer", tlv.SourceIssuer.String())
	require.Equal(t, "Kernel(9)", tlv.Kernel(9).String())
}
