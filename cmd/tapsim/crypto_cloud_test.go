package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The known answers of emv/cloud (computed there step by step from
// crypto/des and crypto/hmac), through the command line.
const (
	cliCloudIMK    = "0123456789ABCDEFFEDCBA9876543210"
	cliCloudIMKUMD = "FEDCBA9876543210F1E2D3C4B5A69788"
	cliCloudPAN    = "43219876543210987"
	cliCloudMK     = "9249345E0220CEBA0D20D6A2453BF407"
	cliCloudMKUMD  = "5198E0086E1AA2B96D024958209E3213"
	cliCloudLUK    = "468A76C840D0234C9E4F072CF2F1195E"
	cliCloudSKMD   = "13B629FB31DC4F15E0AB92C4311534CB"
	cliCloudSUK    = "05732CDC95DF5C5CB18107E0680707E3"
	cliCloudSalt   = "0001020304050607"
	cliCloudTUR    = "DWSPMC000000000132d72d4fcb2f4136a0532d3093ff1a45"
	cliCloudMin    = "9F02=000000012500,9F03=000000000000,9F1A=0158,95=0000008000,5F2A=0901,9A=250314,9C=00,9F37=0BADCAFE,82=1980,9F36=0042"
	cliVisaTags    = cliCloudMin + ",9F10=0AC10103A00000051234070000000000"
	cliMCTags      = cliCloudMin + ",9F10=0AC20103A000005505425F0000000000"
)

func TestCryptoCloudKnownAnswers(t *testing.T) {
	pinArgs := []string{"--salt", cliCloudSalt, "--token-ref", cliCloudTUR}
	phone := func(pin string) []string {
		return append([]string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--sk-md", cliCloudSKMD, "--suk", cliCloudSUK,
			"--pin", pin, "--tags", cliCloudMin + ",9F10=0AC20103A00000000000000000000000"}, pinArgs...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"LUK from the ICC MK", []string{"crypto", "luk", "--mk", cliCloudMK, "--key-index", "5123407", "--api", "3"},
			"LUK: " + cliCloudLUK + "\nKCV: 33B3E8\n"},
		{"LUK from the issuer master key", []string{"crypto", "luk", "--imk", cliCloudIMK, "--pan", cliCloudPAN, "--key-index", "5123407", "--api", "3"},
			"LUK: " + cliCloudLUK + "\nKCV: 33B3E8\n"},
		{"key index of a time", []string{"crypto", "key-index", "--at", "2025-02-21T10:30:00Z", "--counter", "7"},
			"key index: 5123407\nBCD: 05123407\n"},
		{"key index read back", []string{"crypto", "key-index", "--decode", "5123407", "--now", "2034-12-31T23:00:00Z"},
			"generated: 2025-02-21T10:00:00Z\ncounter: 7\nBCD: 05123407\n"},
		{"visa-cloud, the phone", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--luk", cliCloudLUK, "--tags", cliVisaTags},
			"9F26: 6326DB4510757A67\n"},
		{"visa-cloud, the issuer", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--imk", cliCloudIMK, "--pan", cliCloudPAN, "--api", "3", "--tags", cliVisaTags},
			"9F26: 6326DB4510757A67\n"},
		{"visa-cloud verified", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--mk", cliCloudMK, "--api", "3", "--tags", cliVisaTags, "--verify", "6326DB4510757A67"},
			"match\n"},
		{"visa-cloud verified with the LUK", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--luk", cliCloudLUK, "--tags", cliVisaTags, "--verify", "6326db4510757a67"},
			"match\n"},
		{"SK_MD and SUK", append([]string{"crypto", "suk", "--imk-md", cliCloudIMK, "--imk-umd", cliCloudIMKUMD, "--pan", cliCloudPAN, "--atc", "0042", "--pin", "2468"}, pinArgs...),
			"SK_MD: " + cliCloudSKMD + "\nKCV: FCB2AE\nSUK: " + cliCloudSUK + "\nKCV: 49B54E\n"},
		{"mc-cloud, the issuer", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--mk-md", cliCloudMK, "--mk-umd", cliCloudMKUMD, "--tags", cliCloudMin + ",9F10=0AC20103A00000000000000000000000"},
			"9F10: 0AC20103A000005505425F0000000000\n9F26: 124135779495827F\n"},
		{"mc-cloud, the phone with its PIN", phone("2468"),
			"9F10: 0AC20103A000005505425F0000000000\n9F26: 124135779495827F\n"},
		{"mc-cloud, the phone with a wrong PIN: no error, another cryptogram", phone("2469"),
			"9F10: 0AC20103A000005505425F0000000000\n9F26: 0C7F8E772D2A5A58\n"},
		{"mc-cloud verified", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--imk-md", cliCloudIMK, "--imk-umd", cliCloudIMKUMD, "--pan", cliCloudPAN, "--tags", cliMCTags, "--verify", "124135779495827F"},
			"MD: valid\nUMD: valid\ncardholder verified: yes\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			require.Equal(t, 0, code, errOut)
			require.Equal(t, tc.want, out)
			require.Empty(t, errOut)
		})
	}
}

func TestCryptoCloudMismatchExits1(t *testing.T) {
	tests := []struct {
		name string
		args []string
		out  string
	}{
		{"visa-cloud, another API", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--mk", cliCloudMK, "--api", "4", "--tags", cliVisaTags, "--verify", "6326DB4510757A67"}, ""},
		{"visa-cloud, another amount", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--luk", cliCloudLUK, "--tags", strings.Replace(cliVisaTags, "012500", "012501", 1), "--verify", "6326DB4510757A67"}, ""},
		{"mc-cloud, wrong PIN", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--mk-md", cliCloudMK, "--mk-umd", cliCloudMKUMD, "--tags", cliMCTags, "--verify", "0C7F8E772D2A5A58"},
			"MD: valid\nUMD: invalid\ncardholder verified: no\n"},
		{"mc-cloud, keys of another card", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--mk-md", cliCloudMKUMD, "--mk-umd", cliCloudMK, "--tags", cliMCTags, "--verify", "124135779495827F"},
			"MD: invalid\nUMD: not checked\ncardholder verified: no\n"},
		{"mc-cloud, another ATC", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--mk-md", cliCloudMK, "--mk-umd", cliCloudMKUMD, "--tags", strings.Replace(cliMCTags, "9F36=0042", "9F36=0043", 1), "--verify", "124135779495827F"},
			"MD: invalid\nUMD: not checked\ncardholder verified: no\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			require.Equal(t, 1, code, errOut)
			require.Equal(t, tc.out, out)
			require.Equal(t, "tapsim: mismatch\n", errOut)
		})
	}
}

func TestCryptoCloudBadInput(t *testing.T) {
	secrets := []string{cliCloudMK, cliCloudMKUMD, cliCloudLUK, cliCloudSUK, cliCloudSKMD, cliCloudIMK, "2468"}
	tests := []struct {
		name     string
		args     []string
		contains string
	}{
		{"luk without key index", []string{"crypto", "luk", "--mk", cliCloudMK}, "--key-index is required"},
		{"luk key index of 6 digits", []string{"crypto", "luk", "--mk", cliCloudMK, "--key-index", "512340"}, "bad key index"},
		{"luk hour 8784", []string{"crypto", "luk", "--mk", cliCloudMK, "--key-index", "5878400"}, "bad key index"},
		{"luk API too big", []string{"crypto", "luk", "--mk", cliCloudMK, "--key-index", "5123407", "--api", "65536"}, "--api"},
		{"luk short key", []string{"crypto", "luk", "--mk", cliCloudMK[:30], "--key-index", "5123407"}, "--mk"},
		{"luk both keys", []string{"crypto", "luk", "--mk", cliCloudMK, "--imk", cliCloudIMK, "--key-index", "5123407"}, "not both"},
		{"luk imk without PAN", []string{"crypto", "luk", "--imk", cliCloudIMK, "--key-index", "5123407"}, "--pan is required"},
		{"key-index neither form", []string{"crypto", "key-index"}, "--at or --decode"},
		{"key-index from the future", []string{"crypto", "key-index", "--decode", "5123407", "--now", "2025-01-01T00:00:00Z"}, "future"},
		{"key-index counter 100", []string{"crypto", "key-index", "--at", "2025-02-21T10:30:00Z", "--counter", "100"}, "counter"},
		{"suk PIN of 3 digits", []string{"crypto", "suk", "--mk-md", cliCloudMK, "--mk-umd", cliCloudMKUMD, "--atc", "0042", "--pin", "246", "--salt", cliCloudSalt, "--token-ref", cliCloudTUR}, "4 to 12 digits"},
		{"suk without salt", []string{"crypto", "suk", "--mk-md", cliCloudMK, "--mk-umd", cliCloudMKUMD, "--atc", "0042", "--pin", "2468", "--token-ref", cliCloudTUR}, "--salt is required"},
		{"suk short salt", []string{"crypto", "suk", "--mk-md", cliCloudMK, "--mk-umd", cliCloudMKUMD, "--atc", "0042", "--pin", "2468", "--salt", "0001", "--token-ref", cliCloudTUR}, "salt"},
		{"suk ATC of 3 bytes", []string{"crypto", "suk", "--mk-md", cliCloudMK, "--mk-umd", cliCloudMKUMD, "--atc", "000042", "--pin", "2468", "--salt", cliCloudSalt, "--token-ref", cliCloudTUR}, "--atc"},
		{"suk without MK_UMD", []string{"crypto", "suk", "--mk-md", cliCloudMK, "--atc", "0042", "--pin", "2468", "--salt", cliCloudSalt, "--token-ref", cliCloudTUR}, "--mk-umd"},
		{"cloud-ac without CVN", []string{"crypto", "cloud-ac", "--luk", cliCloudLUK, "--tags", cliVisaTags}, "--cvn is required"},
		{"cloud-ac Visa CVN 18", []string{"crypto", "cloud-ac", "--cvn", "visa18", "--luk", cliCloudLUK, "--tags", cliVisaTags}, "not a cloud cryptogram version"},
		{"visa-cloud with an mc-cloud 9F10", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--luk", cliCloudLUK, "--tags", cliMCTags}, "9F10 names CVN C2"},
		{"visa-cloud without 9F37", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--luk", cliCloudLUK, "--tags", strings.Replace(cliVisaTags, "9F37=0BADCAFE,", "", 1)}, "9F37"},
		{"visa-cloud 9F10 with a bad key index", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--mk", cliCloudMK, "--tags", cliCloudMin + ",9F10=0AC10103A000000A1234070000000000"}, "bad issuer application data"},
		{"visa-cloud LUK and MK", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--luk", cliCloudLUK, "--mk", cliCloudMK, "--tags", cliVisaTags}, "not both"},
		{"visa-cloud short cryptogram", []string{"crypto", "cloud-ac", "--cvn", "visa-cloud", "--mk", cliCloudMK, "--tags", cliVisaTags, "--verify", "6326DB45"}, "cryptogram is 4 bytes, want 8"},
		{"mc-cloud phone without PIN", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--sk-md", cliCloudSKMD, "--suk", cliCloudSUK, "--salt", cliCloudSalt, "--token-ref", cliCloudTUR, "--tags", cliMCTags}, "--pin is required"},
		{"mc-cloud phone verifying", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--sk-md", cliCloudSKMD, "--suk", cliCloudSUK, "--pin", "2468", "--salt", cliCloudSalt, "--token-ref", cliCloudTUR, "--tags", cliMCTags, "--verify", "124135779495827F"}, "issuer's side"},
		{"mc-cloud both forms", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--sk-md", cliCloudSKMD, "--suk", cliCloudSUK, "--mk-md", cliCloudMK, "--pin", "2468", "--salt", cliCloudSalt, "--token-ref", cliCloudTUR, "--tags", cliMCTags}, "two forms"},
		{"mc-cloud issuer with a PIN", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--mk-md", cliCloudMK, "--mk-umd", cliCloudMKUMD, "--pin", "2468", "--tags", cliMCTags}, "phone's side"},
		{"mc-cloud without ATC", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--mk-md", cliCloudMK, "--mk-umd", cliCloudMKUMD, "--tags", strings.Replace(cliMCTags, ",9F36=0042", "", 1)}, "9F36"},
		{"mc-cloud 9F10 padding", []string{"crypto", "cloud-ac", "--cvn", "mc-cloud", "--mk-md", cliCloudMK, "--mk-umd", cliCloudMKUMD, "--tags", cliCloudMin + ",9F10=0AC20103A000005505425F0000000001"}, "padding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			requireUsageError(t, code, out, errOut, tc.contains, secrets...)
		})
	}
}

func TestCryptoCloudHelpNamesTheModel(t *testing.T) {
	code, out, _ := runCLI(t, "crypto", "--help")
	require.Equal(t, 0, code)
	for _, verb := range []string{"luk", "key-index", "suk", "cloud-ac"} {
		require.Contains(t, out, verb)
	}
	for _, verb := range []string{"luk", "key-index", "suk", "cloud-ac"} {
		code, out, _ := runCLI(t, "crypto", verb, "--help")
		require.Equal(t, 0, code)
		require.Contains(t, out, "MODEL")
	}
}
