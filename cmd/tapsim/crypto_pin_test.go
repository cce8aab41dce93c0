package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/keys"
)

// pinField returns the value of the "label: value" line of out.
func pinField(t *testing.T, out, label string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, label+": "); ok {
			return v
		}
	}
	t.Fatalf("no %q line in:\n%s", label, out)
	return ""
}

const (
	cliPINKey    = "042666B49184CF5C68DE9628D0397B36" // X9.24-1 annex A, counter 1
	cliAESPINKey = "AF8CB133A78F8DC2D1359F18527593FB" // X9.24-3 supplement, counter 1
)

func TestCryptoPINBlockKnownAnswers(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		lines map[string]string
	}{
		{"format 0", []string{"--pin", "1234", "--pan", "5544332211009966"},
			map[string]string{"format": "ISO 9564-1 format 0", "PIN block": "041277CDDEEFF669"}},
		{"format 0 enciphered (X9.24-1 annex A)", []string{"--pin", "1234", "--pan", "4012345678909", "--key", cliPINKey},
			map[string]string{"PIN block": "041274EDCBA9876F", "encrypted PIN block": "1B9C1845EB993A7A", "key KCV": "A10107"}},
		{"format 1 with fixed fill", []string{"--format", "1", "--pin", "12345", "--rand", "9A33C56F87"},
			map[string]string{"format": "ISO 9564-1 format 1", "PIN block": "15123459A33C56F8"}},
		{"format 3 with fixed fill", []string{"--format", "iso3", "--pin", "1234", "--pan", "5544332211009966", "--rand", "ABCDEFABCD"},
			map[string]string{"PIN block": "34127799ECFFA25B"}},
		{"format 4 (X9.24-3 supplement)", []string{"--format", "4", "--pin", "1234", "--pan", "4111111111111111",
			"--rand", "2F69ADDE2E9E7ACE", "--key", cliAESPINKey},
			map[string]string{
				"PIN field":           "441234AAAAAAAAAA2F69ADDE2E9E7ACE",
				"PAN field":           "44111111111111111000000000000000",
				"encrypted PIN block": "A912150391AB65A67E52883D81CE2D15",
			}},
		{"format 4 without key", []string{"--format", "4", "--pin", "12345", "--pan", "4111111111111111", "--rand", "517F9481BA5275FA"},
			map[string]string{"PIN field": "4512345AAAAAAAAA517F9481BA5275FA"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"crypto", "pinblock"}, tc.args...)...)
			require.Equal(t, 0, code, errOut)
			for label, want := range tc.lines {
				require.Equal(t, want, pinField(t, out, label), label)
			}
			if tc.lines["encrypted PIN block"] == "" {
				require.NotContains(t, out, "encrypted")
			}
		})
	}
}

// Without --rand, formats 1, 3 and 4 draw fresh fill every time.
func TestCryptoPINBlockRandomFill(t *testing.T) {
	for _, args := range [][]string{
		{"--format", "1", "--pin", "1234"},
		{"--format", "3", "--pin", "1234", "--pan", "4111111111111111"},
		{"--format", "4", "--pin", "1234", "--pan", "4111111111111111", "--key", cliAESPINKey},
	} {
		label := "PIN block"
		if args[1] == "4" {
			label = "encrypted PIN block"
		}
		seen := map[string]bool{}
		for range 3 {
			code, out, errOut := runCLI(t, append([]string{"crypto", "pinblock"}, args...)...)
			require.Equal(t, 0, code, errOut)
			seen[pinField(t, out, label)] = true
		}
		require.Len(t, seen, 3, "format %s", args[1])
	}
}

func TestCryptoPINBlockDecode(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		format string
	}{
		{"clear format 0", []string{"--decode", "041277CDDEEFF669", "--pan", "5544332211009966"}, "0"},
		{"enciphered format 0", []string{"--decode", "1B9C1845EB993A7A", "--key", cliPINKey, "--pan", "4012345678909"}, "0"},
		{"format 1 needs no PAN", []string{"--decode", "15123459A33C56F8"}, "1"},
		{"format 3 detected", []string{"--decode", "34127799ECFFA25B", "--pan", "5544332211009966"}, "3"},
		{"format 3 given", []string{"--decode", "34127799ECFFA25B", "--pan", "5544332211009966", "--format", "3"}, "3"},
		{"format 4", []string{"--decode", "A912150391AB65A67E52883D81CE2D15", "--key", cliAESPINKey, "--pan", "4111111111111111"}, "4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"crypto", "pinblock"}, tc.args...)...)
			require.Equal(t, 0, code, errOut)
			require.Equal(t, "ISO 9564-1 format "+tc.format, pinField(t, out, "format"))
			want := "1234"
			if tc.format == "1" {
				want = "12345"
			}
			require.Equal(t, want, pinField(t, out, "PIN"))
		})
	}
	// The enciphered block is shown clear too.
	_, out, _ := runCLI(t, "crypto", "pinblock", "--decode", "1B9C1845EB993A7A", "--key", cliPINKey, "--pan", "4012345678909")
	require.Equal(t, "041274EDCBA9876F", pinField(t, out, "PIN block"))
}

func TestCryptoPINBlockErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		contains string
		secrets  []string
	}{
		{"no PIN", []string{"--pan", "4111111111111111"}, "--pin is required", nil},
		{"short PIN", []string{"--pin", "123", "--pan", "4111111111111111"}, "4 to 12 digits", []string{"123 "}},
		{"letter in PIN", []string{"--pin", "98a7", "--pan", "4111111111111111"}, "digits 0-9", []string{"98A7"}},
		{"no PAN", []string{"--pin", "9876"}, "--pan is required", []string{"9876"}},
		{"bad PAN", []string{"--pin", "9876", "--pan", "41111X11111"}, "PAN must be", []string{"9876", "41111X"}},
		{"unknown format", []string{"--pin", "9876", "--format", "7"}, "--format", []string{"9876"}},
		{"bad key", []string{"--pin", "9876", "--pan", "4111111111111111", "--key", "0123456789ABCDEF01"}, "--key", []string{"0123456789"}},
		{"single DES key", []string{"--pin", "9876", "--pan", "4111111111111111", "--key", "0123456789ABCDEF"}, "--key", []string{"0123456789"}},
		{"key not hex", []string{"--pin", "9876", "--pan", "4111111111111111", "--key", "XYZ0123456789ABC"}, "not valid hex", []string{"XYZ0"}},
		{"rand not hex", []string{"--pin", "9876", "--format", "1", "--rand", "QQ"}, "--rand", nil},
		{"rand too short", []string{"--pin", "9876", "--format", "1", "--rand", "00"}, "--rand is too short", nil},
		{"rand without A-F", []string{"--pin", "9876", "--format", "3", "--pan", "4111111111111111", "--rand", "0123456789"}, "--rand is too short", nil},
		{"format 4 rand too short", []string{"--pin", "9876", "--format", "4", "--pan", "4111111111111111", "--rand", "0011"}, "--rand is too short", nil},
		{"decode with PIN", []string{"--decode", "041277CDDEEFF669", "--pin", "1234"}, "--decode takes", nil},
		{"decode not hex", []string{"--decode", "04127ZCDDEEFF669"}, "--decode is not valid hex", nil},
		{"decode wrong length", []string{"--decode", "041277CDDEEFF6"}, "8 bytes", nil},
		{"decode wrong PAN", []string{"--decode", "041277CDDEEFF669", "--pan", "5544332211009974"}, "invalid PIN block", []string{"041277CD", "1234"}},
		{"decode wrong key", []string{"--decode", "1B9C1845EB993A7A", "--key", "C46551CEF9FD244FAA9AD834130D3B38", "--pan", "4012345678909"}, "control field", []string{"1234", "C46551CE"}},
		{"decode format 0 without PAN", []string{"--decode", "041277CDDEEFF669"}, "--pan is required", nil},
		{"decode format 4 without key", []string{"--decode", "A912150391AB65A67E52883D81CE2D15", "--pan", "4111111111111111"}, "--key (AES) is required", nil},
		{"decode 16 bytes as format 0", []string{"--decode", "A912150391AB65A67E52883D81CE2D15", "--format", "0"}, "format 4", nil},
		{"decode unknown control field", []string{"--decode", "941277CDDEEFF669", "--pan", "5544332211009966"}, "control field", nil},
		{"extra argument", []string{"--pin", "9876", "extra"}, "unknown command", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"crypto", "pinblock"}, tc.args...)...)
			requireUsageError(t, code, out, errOut, tc.contains, tc.secrets...)
		})
	}
}

const (
	cliBDK    = "0123456789ABCDEFFEDCBA9876543210"
	cliAESBDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
)

func TestCryptoDUKPTKnownAnswers(t *testing.T) {
	// X9.24-1 annex A, counter 1.
	code, out, errOut := runCLI(t, "crypto", "dukpt", "--bdk", cliBDK, "--ksn", "FFFF9876543210E00001")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "FFFF9876543210E00001", pinField(t, out, "KSN"))
	require.Equal(t, "1", pinField(t, out, "counter"))
	require.Equal(t, "6AC292FAA1315B4D858AB3A3D7D5933A", pinField(t, out, "IPEK"))
	require.Equal(t, "AF8C07", pinField(t, out, "IPEK KCV"))
	require.Equal(t, "042666B49184CFA368DE9628D0397BC9", pinField(t, out, "transaction key"))
	require.Equal(t, cliPINKey, pinField(t, out, "PIN key"))
	require.Equal(t, "A10107", pinField(t, out, "PIN key KCV"))
	require.NotContains(t, out, cliBDK, "the BDK is never printed")

	// Counter 2, the other variants.
	txn := keys.MustHex(keys.TDES, "C46551CEF9FD24B0AA9AD834130D3BC7")
	for _, tc := range []struct {
		key, label string
		want       func(keys.Key) (keys.Key, error)
	}{
		{"pin", "PIN key", dukpt.PINKey},
		{"mac", "MAC request key", dukpt.MACRequestKey},
		{"mac-response", "MAC response key", dukpt.MACResponseKey},
		{"data", "data request key", dukpt.DataRequestKey},
		{"data-response", "data response key", dukpt.DataResponseKey},
	} {
		code, out, errOut := runCLI(t, "crypto", "dukpt", "--bdk", cliBDK, "--ksn", "FFFF9876543210E00002", "--key", tc.key)
		require.Equal(t, 0, code, errOut)
		require.Equal(t, upperHex(txn.Bytes()), pinField(t, out, "transaction key"))
		want, err := tc.want(txn)
		require.NoError(t, err)
		require.Equal(t, upperHex(want.Bytes()), pinField(t, out, tc.label), tc.key)
		require.Equal(t, want.KCVHex(), pinField(t, out, tc.label+" KCV"))
	}
	_, out, _ = runCLI(t, "crypto", "dukpt", "--bdk", cliBDK, "--ksn", "FFFF9876543210E00002")
	require.Equal(t, "C46551CEF9FD244FAA9AD834130D3B38", pinField(t, out, "PIN key"))

	// Counter 0: the initial KSN gives the IPEK only.
	code, out, errOut = runCLI(t, "crypto", "dukpt", "--bdk", cliBDK, "--ksn", "FFFF9876543210E00000")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "6AC292FAA1315B4D858AB3A3D7D5933A", pinField(t, out, "IPEK"))
	require.NotContains(t, out, "transaction key")
}

func TestCryptoDUKPTAESKnownAnswers(t *testing.T) {
	// X9.24-3 supplement, AES-128 BDK, counter 1.
	code, out, errOut := runCLI(t, "crypto", "dukpt", "--aes", "--bdk", cliAESBDK, "--ksn", "123456789012345600000001")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "1234567890123456", pinField(t, out, "initial key ID"))
	require.Equal(t, "1273671EA26AC29AFA4D1084127652A1", pinField(t, out, "initial key"))
	require.Equal(t, "4F21B565BAD9835E112B6465635EAE44", pinField(t, out, "transaction key"))
	require.Equal(t, cliAESPINKey, pinField(t, out, "PIN encryption key (AES-128)"))
	require.NotContains(t, out, cliAESBDK)

	tests := []struct {
		args  []string
		label string
		want  string
	}{
		{[]string{"--bdk", cliAESBDK, "--ksn", "123456789012345600000001", "--key", "mac"},
			"MAC generation key (AES-128)", "A2DC23DE6FDE0824A2BC321E08E4B8B7"},
		{[]string{"--bdk", cliAESBDK, "--ksn", "123456789012345600000008", "--key", "data"},
			"data encryption (encrypt) key (AES-128)", "650F34204ABD4E57764D61AC3D266FB1"},
		{[]string{"--bdk", cliAESBDK, "--ksn", "1234567890123456FFFF0000", "--key", "pin"},
			"transaction key", "F6BA59389BD14A9855BE9727E7C52E3C"},
		// AES-256 BDK: the working key type defaults to the BDK's.
		{[]string{"--bdk", cliAESBDK + cliAESBDK, "--ksn", "123456789012345600000001"},
			"PIN encryption key (AES-256)", "8C1AB7BEE973829E30242E0BBBDD4946D540C98FC1B5BDCF94790001A23FD502"},
		{[]string{"--bdk", cliAESBDK + cliAESBDK, "--ksn", "123456789012345600000001", "--key-type", "aes128"},
			"PIN encryption key (AES-128)", "09C9C432966811D6B2C3336BAC1B1202"},
		{[]string{"--bdk", cliAESBDK + cliAESBDK, "--ksn", "123456789012345600000000"},
			"initial key", "CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F"},
	}
	for _, tc := range tests {
		code, out, errOut := runCLI(t, append([]string{"crypto", "dukpt", "--aes"}, tc.args...)...)
		require.Equal(t, 0, code, errOut)
		require.Equal(t, tc.want, pinField(t, out, tc.label))
	}
	// A 2TDEA working key gets a TDES check value.
	_, out, _ = runCLI(t, "crypto", "dukpt", "--aes", "--bdk", cliAESBDK, "--ksn", "123456789012345600000001", "--key-type", "2tdea")
	k := keys.MustHex(keys.TDES, pinField(t, out, "PIN encryption key (2TDEA)"))
	require.Equal(t, k.KCVHex(), pinField(t, out, "PIN encryption key (2TDEA) KCV"))
	require.Len(t, k.KCVHex(), 6)
}

func TestCryptoDUKPTErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		contains string
	}{
		{"no BDK", []string{"--ksn", "FFFF9876543210E00001"}, "--bdk is required"},
		{"no KSN", []string{"--bdk", cliBDK}, "--ksn is required"},
		{"BDK not hex", []string{"--bdk", "0123456789ABCDEFFEDCBA98765432XX", "--ksn", "FFFF9876543210E00001"}, "--bdk is not valid hex"},
		{"triple-length BDK", []string{"--bdk", cliBDK + "0123456789ABCDEF", "--ksn", "FFFF9876543210E00001"}, "--bdk"},
		{"short KSN", []string{"--bdk", cliBDK, "--ksn", "FFFF9876543210E000"}, "--ksn"},
		{"AES KSN without --aes", []string{"--bdk", cliBDK, "--ksn", "123456789012345600000001"}, "add --aes"},
		{"11 one bits", []string{"--bdk", cliBDK, "--ksn", "FFFF9876543210E007FF"}, "invalid transaction counter"},
		{"unknown variant", []string{"--bdk", cliBDK, "--ksn", "FFFF9876543210E00001", "--key", "kek"}, "--key"},
		{"key type without --aes", []string{"--bdk", cliBDK, "--ksn", "FFFF9876543210E00001", "--key-type", "aes128"}, "--key-type goes with --aes"},
		{"AES with TDES KSN", []string{"--aes", "--bdk", cliAESBDK, "--ksn", "FFFF9876543210E00001"}, "--ksn"},
		{"AES bad BDK length", []string{"--aes", "--bdk", "FEDCBA9876543210", "--ksn", "123456789012345600000001"}, "--bdk"},
		{"AES 17 one bits", []string{"--aes", "--bdk", cliAESBDK, "--ksn", "12345678901234560001FFFF"}, "invalid transaction counter"},
		{"AES unknown usage", []string{"--aes", "--bdk", cliAESBDK, "--ksn", "123456789012345600000001", "--key", "cvv"}, "--key"},
		{"AES unknown key type", []string{"--aes", "--bdk", cliAESBDK, "--ksn", "123456789012345600000001", "--key-type", "des"}, "--key-type"},
		{"AES-256 key from AES-128 BDK", []string{"--aes", "--bdk", cliAESBDK, "--ksn", "123456789012345600000001", "--key-type", "aes256"}, "unsuitable key type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"crypto", "dukpt"}, tc.args...)...)
			requireUsageError(t, code, out, errOut, tc.contains, cliBDK[:10], cliAESBDK[:10])
		})
	}
}
