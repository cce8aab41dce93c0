package isospec

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// DE55 names tags as the kernel of the application it carries does, found
// by the application's registered provider.
func TestDescribeICCNamesTagsByKernel(t *testing.T) {
	tests := []struct {
		name, de55 string
		want       []string
	}{
		{"mastercard", "9F0607A0000000041010" + "9F6C020001", []string{"9F6C [2] Mag-stripe Application Version Number (Card): 0001"}},
		{"visa", "9F0607A0000000031010" + "9F6C028000", []string{"9F6C [2] Card Transaction Qualifiers (CTQ): 8000", "- byte 1 bit 8: Online PIN Required"}},
		{"no aid", "9F6C028000", []string{"Mag-stripe Application Version Number (C-2) / Card Transaction Qualifiers (C-3)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.de55)
			require.NoError(t, err)
			var sb strings.Builder
			describeICC(&sb, b, DescribeOptions{})
			for _, w := range tc.want {
				require.Contains(t, sb.String(), w)
			}
		})
	}
}
