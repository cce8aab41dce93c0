package tlv_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/describe")

// golden compares got with testdata/describe/name.golden, rewriting the file
// with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "describe", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), got)
}

func TestDescribeGolden(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		printer tlv.Printer
	}{
		{"ppse", record("ppse"), tlv.Printer{}},
		{"select_visa", record("select_visa"), tlv.Printer{Kernel: tlv.Kernel3}},
		{"gpo_format1", record("gpo_format1"), tlv.Printer{}},
		{"gpo_format2_c3", record("gpo_format2"), tlv.Printer{Kernel: tlv.Kernel3}},
		{"read_record", record("read_record"), tlv.Printer{Kernel: tlv.Kernel2}},
		{"read_record_clear", record("read_record"), tlv.Printer{Kernel: tlv.Kernel2, ShowSensitive: true}},
		{"gen_ac", record("gen_ac"), tlv.Printer{}},
		{"mag_stripe_record_c2", record("mag_stripe_record"), tlv.Printer{Kernel: tlv.Kernel2}},
		{"truncated", record("read_record")[:60], tlv.Printer{Kernel: tlv.Kernel2}},
		{"indefinite", h("6F 0C 84 03 414243 A5 80 50 02 4142 0000"), tlv.Printer{}},
		{"gen_ac_explained_c2", record("gen_ac"), tlv.Printer{Kernel: tlv.Kernel2, Explain: true}},
		{"gpo_format2_explained_c3", record("gpo_format2"), tlv.Printer{Kernel: tlv.Kernel3, Explain: true}},
		{"read_record_explained_c2", record("read_record"), tlv.Printer{Kernel: tlv.Kernel2, Explain: true}},
		{"data_record_ff_tags", h("FF8105 10 DF8129 08 2000F0F000000000 9F02 01 01"), tlv.Printer{Kernel: tlv.Kernel2, Decoder: tlv.Decoder{FFTags: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tc.printer.Fprint(&buf, tc.in)
			if strings.Contains(buf.String(), "error: ") {
				var de *tlv.DecodeError
				require.True(t, errors.As(err, &de))
			} else {
				require.NoError(t, err)
			}
			golden(t, tc.name, buf.String())
		})
	}
}

// Masked output keeps at most the first 6 and last 4 PAN digits and nothing
// of the rest of track data, the cardholder name or PIN data.
func TestDescribeMasks(t *testing.T) {
	for _, r := range records {
		out := tlv.Describe(h(r.hex), tlv.Kernel2)
		for _, secret := range []string{"5413330089020011", "4761739001010010", "CARDHOLDER", "D2512", "D2212", "^2512"} {
			require.NotContains(t, out, secret, r.name)
		}
	}
	out := tlv.Describe(h("99 08 041277CDDEEFF669 5F20 04 4A4F484E"), tlv.KernelAny)
	require.Equal(t, "99 [8] Transaction Personal Identification Number (PIN) Data: **************** (masked)\n"+
		"5F20 [4] Cardholder Name: ******** (masked)\n", out)

	// Short PANs keep at most their last 4 digits; 4 digits or fewer are
	// hidden entirely (pan.Mask).
	out = tlv.Describe(h("5A 06 123456789012 57 05 1234D56789"), tlv.KernelAny)
	require.Equal(t, "5A [6] Application Primary Account Number (PAN): ********9012 (masked)\n"+
		"57 [5] Track 2 Equivalent Data: ****D***** (masked)\n", out)
}

func TestDescribeNeverPanics(t *testing.T) {
	for _, in := range [][]byte{nil, {0x9F}, {0x70, 0x81}, {0x70, 0x02, 0x70, 0x05}, bytes.Repeat([]byte{0x70, 0x7F}, 100)} {
		require.NotPanics(t, func() { _ = tlv.Describe(in, tlv.Kernel2) })
	}
}

func TestFprintList(t *testing.T) {
	var buf bytes.Buffer
	l := tlv.List{{Tag: 0x9F02, Value: h("000000030000")}, {Tag: 0x50, Value: []byte("VISA")}}
	require.NoError(t, tlv.Printer{}.FprintList(&buf, l))
	require.Equal(t, "9F02 [6] Amount, Authorised (Numeric): 000000030000\n50 [4] Application Label: 56495341 \"VISA\"\n", buf.String())
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFprintWriteError(t *testing.T) {
	err := tlv.Printer{}.Fprint(failWriter{}, h("9F020100"))
	require.ErrorContains(t, err, "disk full")
}

// TestDataStorageAndDDCardFormats pins the Book C-2 formats of the DS ID
// (9F5E, n: the PAN and PSN digits) and DD Card (Track2) (DF812B, cn:
// digits left-justified, 'F'-padded), and their rendering: both carry
// cardholder data, so a trace masks the DS ID's PAN like a PAN and hides the
// track's discretionary data; shown in clear they read as their digits.
func TestDataStorageAndDDCardFormats(t *testing.T) {
	ds, ok := tlv.LookupFor(0x9F5E, tlv.Kernel2)
	require.True(t, ok)
	require.Equal(t, tlv.FormatN, ds.Format)
	require.Equal(t, [2]int{8, 11}, [2]int{ds.MinLen, ds.MaxLen})
	dd, ok := tlv.LookupFor(0xDF812B, tlv.Kernel2)
	require.True(t, ok)
	require.Equal(t, tlv.FormatCN, dd.Format)
	dsdol, ok := tlv.LookupFor(0x9F5B, tlv.Kernel2)
	require.True(t, ok)
	require.Equal(t, "DSDOL", dsdol.Name)
	un, _ := tlv.LookupFor(0x9F7F, tlv.Kernel2)
	require.Equal(t, tlv.SourceICC, un.Source)

	// PAN 5413330089010434, PSN 01: 18 digits in 9 bytes.
	in := h("9F5E 09 541333008901043401 DF812B 04 12345FFF")
	var masked, clear bytes.Buffer
	require.NoError(t, tlv.Printer{Kernel: tlv.Kernel2}.Fprint(&masked, in))
	require.Equal(t, "9F5E [9] DS ID: 541333******043401 (masked)\nDF812B [4] DD Card (Track2): ******** (masked)\n", masked.String())
	require.NoError(t, tlv.Printer{Kernel: tlv.Kernel2, ShowSensitive: true}.Fprint(&clear, in))
	require.Equal(t, "9F5E [9] DS ID: 541333008901043401\nDF812B [4] DD Card (Track2): 12345FFF\n", clear.String())

	var short bytes.Buffer
	// A 13-digit PAN and PSN 01: one zero of padding to whole bytes, kept.
	require.NoError(t, tlv.Printer{Kernel: tlv.Kernel2}.Fprint(&short, h("9F5E 08 0400000123456201")))
	require.Equal(t, "9F5E [8] DS ID: 0400000***456201 (masked)\n", short.String())
}
