package isospec_test

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/describe and the seed corpus under testdata/fuzz/FuzzUnpack")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "describe", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), got)
}

func packedWithMAC(t *testing.T, v any) []byte {
	t.Helper()
	b, err := isospec.PackWithMAC(encode(t, v), retailMAC(macKey))
	require.NoError(t, err)
	return b
}

func TestDescribeGolden(t *testing.T) {
	f0100 := packedWithMAC(t, sample0100(t))
	tests := []struct {
		name string
		got  func() string
	}{
		{"0100_contactless_online_pin", func() string { return isospec.DescribeFrame(f0100) }},
		{"0110_decline_arpc_script", func() string { return isospec.DescribeFrame(packedWithMAC(t, sample0110(t))) }},
		{"0400_reversal_timeout", func() string { return isospec.DescribeFrame(packedWithMAC(t, sample0400(t))) }},
		{"0421_reversal_advice_repeat", func() string {
			return isospec.Describe(encode(t, sample0400(t).Advice(true)))
		}},
		{"0800_key_change", func() string { return isospec.Describe(encode(t, sample0800KeyChange(t))) }},
		{"0810_sign_on", func() string {
			r, err := isospec.NewNetworkManagement(isospec.NetSignOn, "000001", when).Response(isospec.RCApproved)
			require.NoError(t, err)
			return isospec.Describe(encode(t, r))
		}},
		{"frame_truncated", func() string { return isospec.DescribeFrame(f0100[:len(f0100)-30]) }},
		{"frame_bad_track2", func() string {
			b := bytes.Replace(bytes.Clone(f0100), []byte(sampleTrack2), []byte(strings.Replace(sampleTrack2, "=", "D", 1)), 1)
			return isospec.DescribeFrame(b)
		}},
		{"summaries", func() string {
			var sb strings.Builder
			for _, v := range []any{sample0100(t), sample0110(t), sample0400(t), sample0800KeyChange(t)} {
				sb.WriteString(isospec.Summary(encode(t, v)) + "\n")
			}
			return sb.String()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { golden(t, tc.name, tc.got()) })
	}
}

// Describe of a frame and of the same message unpacked agree.
func TestDescribeFrameMatchesDescribe(t *testing.T) {
	for _, v := range []any{sample0100(t), sample0110(t), sample0400(t), sample0800KeyChange(t)} {
		b := packedWithMAC(t, v)
		msg, err := isospec.Unpack(b)
		require.NoError(t, err)
		require.Equal(t, isospec.DescribeFrame(b), isospec.Describe(msg))
	}
}

// secrets are the sensitive values of the samples in every form they could
// leak in: digits, hex in both cases, the track 2 tail after the separator.
func secrets() []string {
	s := []string{
		samplePAN, "739001", sampleTrack2, "=2512201", "D2512201",
		samplePINBlock, sampleARQC, sampleIAD, sampleARPC, sampleKeyUKEK,
	}
	for _, v := range s[5:] {
		s = append(s, strings.ToLower(v))
	}
	return s
}

func requireNoSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, sec := range secrets() {
		require.NotContains(t, out, sec, "%s leaks a sensitive value:\n%s", what, out)
	}
}

// No printed form of a message shows the PAN in clear, track 2, the PIN
// block, a cryptogram (ARQC, IAD, ARPC) or a key cryptogram: Describe and
// Summary (logs, ISO pane, acquirer journal), fmt under every verb, slog.
// R-G5g (the acquirer keeps no sensitive data), R-S2c (PAN masked as on a
// sales slip), R-G5b (no key disclosed in any form).
func TestNothingSensitiveIsPrinted(t *testing.T) {
	values := map[string]any{
		"0100": sample0100(t),
		"0110": sample0110(t),
		"0400": sample0400(t),
		"0800": sample0800KeyChange(t),
	}
	// The samples do hold every secret, so the checks below can fail.
	all := fmt.Sprintf("%s %s %X %X %X", sample0100(t).PAN, sample0100(t).Track2, sample0100(t).PINBlock,
		sample0100(t).ICCData, sample0110(t).ICCData)
	all += sample0800KeyChange(t).PrivateData
	for _, sec := range secrets()[:10] {
		require.Contains(t, all, sec)
	}

	for name, v := range values {
		msg := encode(t, v)
		packed := packedWithMAC(t, v)
		requireNoSecret(t, name+" Describe", isospec.Describe(msg))
		requireNoSecret(t, name+" DescribeFrame", isospec.DescribeFrame(packed))
		requireNoSecret(t, name+" Summary", isospec.Summary(msg))
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"} {
			requireNoSecret(t, name+" "+verb, fmt.Sprintf(verb, v))
		}
		// Value, not pointer, and inside other values.
		switch r := v.(type) {
		case *isospec.AuthorizationRequest:
			requireNoSecret(t, name+" value", fmt.Sprintf("%v %+v %d", *r, *r, *r))
			requireNoSecret(t, name+" in a slice", fmt.Sprintf("%v", []isospec.AuthorizationRequest{*r}))
			requireNoSecret(t, name+" in a struct", fmt.Sprintf("%+v", struct{ Req isospec.AuthorizationRequest }{*r}))
			requireNoSecret(t, name+" String", r.String())
		case *isospec.AuthorizationResponse:
			requireNoSecret(t, name+" value", fmt.Sprintf("%v %+v", *r, *r))
		case *isospec.ReversalRequest:
			requireNoSecret(t, name+" value", fmt.Sprintf("%v %+v", *r, *r))
		case *isospec.NetworkManagement:
			requireNoSecret(t, name+" value", fmt.Sprintf("%v %+v", *r, *r))
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("message", "msg", v)
		requireNoSecret(t, name+" slog", buf.String())
	}
	require.Contains(t, isospec.Describe(encode(t, sample0100(t))), "476173******0119")
	require.Contains(t, isospec.Describe(encode(t, sample0100(t))), "[PIN block]")
	require.Contains(t, fmt.Sprintf("%+v", sample0100(t)), "[PIN block]")
	require.Contains(t, fmt.Sprint(sample0100(t)), "PAN 476173******0119")
}

// Fields holding what they should not (a PAN pushed into a text field,
// control characters) are not echoed by Describe.
func TestDescribeInvalidContent(t *testing.T) {
	msg := isospec.NewMessage()
	msg.MTI("0100")
	require.NoError(t, msg.Field(11, "12\x1b[2J"))
	require.NoError(t, msg.Field(2, "4761X39001010119"))
	require.NoError(t, msg.Field(39, "\x00\x01"))
	out := isospec.Describe(msg)
	require.NotContains(t, out, "\x1b")
	require.NotContains(t, out, "\x00")
	require.NotContains(t, out, "4761X")
	require.Contains(t, out, "DE2    primary account number: **************** (invalid)")
	require.Contains(t, out, "DE11   systems trace audit number: [6 characters, not n] (invalid)")
	require.Contains(t, out, "DE39   response code: ?? (unknown response code) (invalid)")
	require.Equal(t, "isospec: no message\n", isospec.Describe(nil))
	require.Equal(t, "isospec: no message", isospec.Summary(nil))
	require.Contains(t, isospec.DescribeFrame(nil), "error: isospec: field 0")
}

// The operator's screen shows the cryptograms (ARQC, IAD, ARPC), which are
// not cardholder data; the PAN, track 2, the PIN block and keys stay
// masked there too. Describe without options (logs, journals) still masks
// the cryptograms.
func TestDescribeWithCryptogramsOnScreen(t *testing.T) {
	screen := isospec.DescribeOptions{ShowCryptograms: true}
	req := isospec.DescribeWith(encode(t, sample0100(t)), screen)
	resp := isospec.DescribeWith(encode(t, sample0110(t)), screen)
	both := req + resp
	for _, c := range []string{sampleARQC, sampleIAD, sampleARPC} {
		require.Contains(t, strings.ToUpper(both), c, "shown on screen")
		require.NotContains(t, isospec.Describe(encode(t, sample0100(t)))+isospec.Describe(encode(t, sample0110(t))), c, "masked for logs")
	}
	for _, sec := range []string{samplePAN, "739001", sampleTrack2, "=2512201", "D2512201", samplePINBlock, sampleKeyUKEK} {
		require.NotContains(t, strings.ToUpper(both), strings.ToUpper(sec))
	}
	key := isospec.DescribeWith(encode(t, sample0800KeyChange(t)), screen)
	require.NotContains(t, strings.ToUpper(key), sampleKeyUKEK)
	require.Contains(t, req, "476173******0119")
	require.Contains(t, req, "[PIN block]")
}
