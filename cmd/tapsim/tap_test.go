package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTap(t *testing.T) {
	fixed := []string{"--un", "12345678", "--date", "2026-01-15T10:30:00Z"}
	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string
		notWant []string
	}{
		{"offline approval", []string{"--card", "visa-plastic", "--amount", "50000"}, 0,
			[]string{"tap 1: Approved", "CVM: No CVM", "PAN: 476173******0010", "ODA: fDDA passed"}, []string{"4761739001010010"}},
		// R-S2e: an HCE phone needs CDCVM before every tap, whatever the amount.
		{"hce locked", []string{"--card", "hce-phone", "--amount", "5000"}, 0,
			[]string{"tap 1: Try Again", "See Phone for Instructions", "restart: Start B"}, []string{"tap 2"}},
		{"hce second tap", []string{"--card", "hce-phone", "--amount", "5000", "--unlock", "5791", "--trace"}, 0,
			[]string{"tap 2: Online Request", "CVM: Confirmation Code Verified (CDCVM)", "> GET PROCESSING OPTIONS", "(masked)"}, []string{"4895370012340011"}},
		// Issue: a trace names tags with the kernel that read the card.
		{"trace names the kernel c2", []string{"--card", "mc-plastic", "--trace"}, 0,
			[]string{"trace: kernel C-2 (kernel ID 2)\n1. > SELECT PPSE"}, nil},
		{"trace names the kernel c3", []string{"--card", "visa-plastic", "--trace"}, 0,
			[]string{"trace: kernel C-3 (kernel ID 3)\n1. > SELECT PPSE", "9F66 [4] Terminal Transaction Qualifiers (TTQ)"}, nil},
		// Book C-2's formats: the DS ID (9F5E) is numeric, the PAN and PSN
		// digits, and carries the PAN, so the trace masks it like one.
		{"trace masks the ds id", []string{"--card", "../../tests/scenarios/profiles/mc-ids.profile", "--trace"}, 0,
			[]string{"9F5E [9] DS ID: 541333******001201 (masked)"}, []string{"541333008901001201", "5413330089010012"}},
		{"major units", []string{"--card", "visa-plastic", "--amount", "500.00"}, 0,
			[]string{"tap 1: Approved", "CVM: No CVM"}, nil},
		{"bad amount", []string{"--card", "visa-plastic", "--amount", "5,00"}, 2, nil, nil},
		{"unknown card", []string{"--card", "no-such-card"}, 2, nil, nil},
		{"bad type", []string{"--card", "visa-plastic", "--type", "lunch"}, 2, nil, nil},
		{"bad un", []string{"--card", "visa-plastic", "--un", "12"}, 2, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(append([]string{"tap"}, fixed...), tc.args...)...)
			require.Equal(t, tc.code, code, errOut)
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
			for _, w := range tc.notWant {
				require.NotContains(t, out, w)
			}
		})
	}
}

func TestCardsLists(t *testing.T) {
	code, out, _ := runCLI(t, "cards")
	require.Equal(t, 0, code)
	for _, name := range []string{"visa-plastic", "mc-plastic", "visa-se-phone", "hce-phone", "wallet-phone"} {
		require.Contains(t, out, name)
	}
}
