package tlv_test

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
)

func TestExplain(t *testing.T) {
	tests := []struct {
		name   string
		tag    tlv.Tag
		kernel tlv.Kernel
		hex    string
		want   []string
	}{
		{"tvr zero", 0x95, tlv.KernelAny, "0000000000", []string{"no bit set"}},
		{"tvr", 0x95, tlv.Kernel3, "8000048000", []string{
			"byte 1 bit 8: Offline data authentication was not performed",
			"byte 3 bit 3: Online PIN entered",
			"byte 4 bit 8: Transaction exceeds floor limit"}},
		{"tvr rfu", 0x95, tlv.KernelAny, "0100000000", []string{"byte 1 bit 1: RFU (set)"}},
		{"tvr c2 relay resistance", 0x95, tlv.Kernel2, "000000000A", []string{
			"byte 5 bit 4: Relay resistance threshold exceeded",
			"byte 5 bits 2-1: Relay resistance performed: performed"}},
		{"tsi", 0x9B, tlv.KernelAny, "E800", []string{
			"byte 1 bit 8: Offline data authentication was performed",
			"byte 1 bit 7: Cardholder verification was performed",
			"byte 1 bit 6: Card risk management was performed",
			"byte 1 bit 4: Terminal risk management was performed"}},
		{"aip c2", 0x82, tlv.Kernel2, "1981", []string{
			"byte 1 bit 5: Cardholder verification is supported",
			"byte 1 bit 4: Terminal risk management is to be performed",
			"byte 1 bit 1: CDA supported",
			"byte 2 bit 8: EMV mode is supported",
			"byte 2 bit 1: Relay Resistance Protocol is supported"}},
		{"aip c3", 0x82, tlv.Kernel3, "2000", []string{"byte 1 bit 6: DDA supported"}},
		{"auc", 0x9F07, tlv.KernelAny, "0180", []string{
			"byte 1 bit 1: Valid at terminals other than ATMs",
			"byte 2 bit 8: Domestic cashback allowed"}},
		{"cvm results online pin", 0x9F34, tlv.KernelAny, "420300", []string{
			"byte 1: CVM performed: Enciphered PIN verified online",
			"byte 1 bit 7: Apply succeeding CV Rule if this CVM is unsuccessful",
			"byte 2: CVM condition: If terminal supports the CVM",
			"byte 3: CVM result: unknown"}},
		{"cvm results no cvm", 0x9F34, tlv.Kernel2, "3F0000", []string{
			"byte 1: CVM performed: No CVM performed",
			"byte 2: CVM condition: Always",
			"byte 3: CVM result: unknown"}},
		{"ttq", 0x9F66, tlv.Kernel3, "36004000", []string{
			"byte 1 bit 6: EMV mode supported",
			"byte 1 bit 5: EMV contact chip supported",
			"byte 1 bit 3: Online PIN supported",
			"byte 1 bit 2: Signature supported",
			"byte 3 bit 7: Consumer Device CVM supported"}},
		{"ttq general name", 0x9F66, tlv.KernelAny, "00800000", []string{"byte 2 bit 8: Online cryptogram required"}},
		// Under C-2 the 2-byte 9F66 is PUNATC(Track2): not bit-coded.
		{"punatc c2", 0x9F66, tlv.Kernel2, "0038", nil},
		{"ctq", 0x9F6C, tlv.Kernel3, "8080", []string{
			"byte 1 bit 8: Online PIN Required",
			"byte 2 bit 8: Consumer Device CVM Performed"}},
		{"mag-stripe version c2", 0x9F6C, tlv.Kernel2, "0001", nil},
		{"wrong length", 0x95, tlv.KernelAny, "00", nil},
		{"not bit-coded", 0x9F02, tlv.KernelAny, "000000010000", nil},
		{"iad visa cvn 10", 0x9F10, tlv.Kernel3, "06010A03A00003", []string{
			"Visa format 0/1/3: DKI 01, CVN 0A, CVR 03A00003",
			"CVR byte 2 bits 8-5: 2nd GENERATE AC returned second GENERATE AC not requested; 1st GENERATE AC returned ARQC",
			"CVR byte 4 bit 2: Offline dynamic data authentication performed",
			"CVR byte 4 bit 1: RFU (tapsim: cardholder verified on the device, CDCVM)"}},
		{"iad visa cvn 18", 0x9F10, tlv.Kernel3, "06011203200000", []string{
			"Visa format 0/1/3: DKI 01, CVN 12, CVR 03200000",
			"CVR byte 2 bits 8-5: 2nd GENERATE AC returned AAC; 1st GENERATE AC returned ARQC"}},
		{"iad visa cvn 22", 0x9F10, tlv.Kernel3, "1F220124000800" + zeros(25), []string{
			"Visa format 2: CVN 22, DKI 01, CVR 2400080000",
			"CVR byte 1 bits 8-5: 2nd GENERATE AC returned AAC; 1st GENERATE AC returned ARQC",
			"CVR byte 1 bit 3: Offline DDA performed",
			"CVR byte 3 bit 4: Issuer-discretionary bit 1 (tapsim: cardholder verified on the device, CDCVM)"}},
		{"iad mchip cvn 16", 0x9F10, tlv.Kernel2, "0110A04000000000AB12", []string{
			"M/Chip: DKI 01, CVN 10, CVR A04000000000, DAC/IDN AB12",
			"CVR byte 1 bits 8-5: 2nd GENERATE AC returned second GENERATE AC not requested; 1st GENERATE AC returned ARQC",
			"CVR byte 2 bit 7: Combined DDA/AC Generation returned in first GENERATE AC"}},
		{"iad mchip cvn 21", 0x9F10, tlv.Kernel2, "0115" + "2000003C0001" + "0000" + "0001000000000000", []string{
			"M/Chip: DKI 01, CVN 15, CVR 2000003C0001, DAC/IDN 0000, counters 0001000000000000",
			"CVR byte 1 bits 8-5: 2nd GENERATE AC returned AAC; 1st GENERATE AC returned ARQC",
			"CVR byte 4 bit 6: Offline PIN verification not performed",
			"CVR byte 4 bit 5: Offline PIN verification failed",
			"CVR byte 4 bit 4: PTL exceeded",
			"CVR byte 4 bit 3: International transaction",
			"CVR byte 6 bit 1: No match found in additional check table (tapsim: cardholder verified on the device, CDCVM)"}},
		{"iad ccd", 0x9F10, tlv.KernelAny, "0FA501" + "10A0000000" + "0000000000000000", []string{
			"EMV Common Core Definitions: CCI A5, DKI 01, CVR 10A0000000, counters 0000000000000000",
			"CVR byte 1 bits 8-5: 2nd GENERATE AC returned AAC; 1st GENERATE AC returned TC",
			"CVR byte 2 bits 8-5: PIN Try Counter: 10"}},
		{"iad unknown layout", 0x9F10, tlv.KernelAny, "AABB", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tlv.Explain(tc.tag, h(tc.hex), tc.kernel))
		})
	}
}

func zeros(n int) string {
	b := make([]byte, 2*n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

// An explaining printer never prints a masked value in clear, however long.
func TestExplainKeepsMasking(t *testing.T) {
	l := tlv.List{{Tag: 0x57, Value: h("4761739001010010D29122011234567890123456789F")}}
	var out strings.Builder
	require.NoError(t, tlv.Printer{Explain: true}.FprintList(&out, l))
	require.Contains(t, out.String(), "476173******0010D")
	require.NotContains(t, out.String(), "4761739001010010")
}

// FuzzExplain feeds any value to every bit-coded tag under every kernel:
// Explain must not panic, whatever the length.
func FuzzExplain(f *testing.F) {
	f.Add([]byte{0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x03})
	f.Add(h("0110A04000000000AB12"))
	f.Add(h("0FA50110A00000000000000000000000"))
	f.Add(h("8000048000"))
	f.Fuzz(func(t *testing.T, v []byte) {
		for _, k := range []tlv.Kernel{tlv.KernelAny, tlv.Kernel2, tlv.Kernel3} {
			for _, tag := range []tlv.Tag{0x95, 0x9B, 0x82, 0x9F07, 0x9F34, 0x9F66, 0x9F6C, 0x9F10} {
				_ = tlv.Explain(tag, v, k)
			}
			_ = tlv.Printer{Kernel: k, Explain: true}.FprintList(io.Discard, tlv.List{{Tag: 0x9F10, Value: v}})
		}
	})
}
