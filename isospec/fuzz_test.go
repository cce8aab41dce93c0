package isospec_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

// seedFrames are real-looking frames of every message of the dialect, MACed
// where the links MAC them, and a few malformed ones.
func seedFrames(t testing.TB) map[string][]byte {
	withMAC := func(v any) []byte {
		msg, err := isospec.Encode(v)
		require.NoError(t, err)
		b, err := isospec.PackWithMAC(msg, retailMAC(macKey))
		require.NoError(t, err)
		return b
	}
	plain := func(v any) []byte {
		b, err := isospec.Marshal(v)
		require.NoError(t, err)
		return b
	}
	req := sample0100(t)
	fin := sample0100(t)
	fin.MTI = isospec.MTIFinancialRequest
	fin.PINBlock, fin.SecurityControl = nil, nil
	fin.POSEntryMode = isospec.ContactlessEntry(false)
	t2only := sample0100(t)
	t2only.PAN, t2only.Expiry = "", ""
	approved, err := isospec.NewAuthorizationResponse(sample0100(t), isospec.RCApproved)
	require.NoError(t, err)
	approved.AuthCode = "A1B2C3"
	approved.ICCData = tlvs(t, [2]string{"91", sampleARPC + "0012"})
	rev := sample0400(t)
	revResp, err := isospec.NewReversalResponse(rev, isospec.RCApproved)
	require.NoError(t, err)
	adv := rev.Advice(false)
	advResp, err := isospec.NewReversalResponse(adv, isospec.RCApproved)
	require.NoError(t, err)
	nm := func(code isospec.NetworkCode, stan string) *isospec.NetworkManagement {
		n := isospec.NewNetworkManagement(code, stan, when)
		n.TerminalID = "TERM0001"
		return n
	}
	echoResp, err := nm(isospec.NetEcho, "000003").Response(isospec.RCApproved)
	require.NoError(t, err)

	good := withMAC(req)
	out := map[string][]byte{
		"0100_contactless_online_pin": good,
		"0100_track2_only":            withMAC(t2only),
		"0200_financial_no_pin":       withMAC(fin),
		"0110_approved_arpc":          withMAC(approved),
		"0110_decline_arpc_script":    withMAC(sample0110(t)),
		"0400_reversal_timeout":       withMAC(rev),
		"0410_reversal_response":      withMAC(revResp),
		"0420_reversal_advice":        withMAC(adv),
		"0421_reversal_advice_repeat": withMAC(rev.Advice(true)),
		"0430_advice_response":        withMAC(advResp),
		"0800_sign_on":                plain(nm(isospec.NetSignOn, "000001")),
		"0800_sign_off":               plain(nm(isospec.NetSignOff, "000002")),
		"0800_echo":                   plain(nm(isospec.NetEcho, "000003")),
		"0810_echo":                   plain(echoResp),
		"0800_key_change":             withMAC(sample0800KeyChange(t)),
		"bad_truncated":               good[:len(good)-9],
		"bad_trailing":                append(append([]byte(nil), good...), '0'),
		"bad_tertiary_bitmap":         frame("0800", "8220000000000000 8400000000000000", "0315103000000001301"),
		"bad_ll_prefix":               frame("0100", "4000000000000000", "9"),
	}
	return out
}

func corpusFile(b []byte) string { return fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b) }

// The seed corpus under testdata/fuzz/FuzzUnpack is the frames above,
// regenerated with -update when the dialect changes.
func TestSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzUnpack")
	seeds := seedFrames(t)
	if *update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for name, b := range seeds {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(corpusFile(b)), 0o644))
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	require.Len(t, names, len(seeds))
	for _, name := range names {
		b, ok := seeds[name]
		require.True(t, ok, "unexpected corpus file %s", name)
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, corpusFile(b), string(got), "%s: run go test -update", name)
		quoted := strings.TrimSuffix(strings.TrimPrefix(string(got), "go test fuzz v1\n[]byte("), ")\n")
		raw, err := strconv.Unquote(quoted)
		require.NoError(t, err)
		msg, err := isospec.Unpack([]byte(raw))
		if strings.HasPrefix(name, "bad_") {
			require.Error(t, err, name)
			continue
		}
		require.NoError(t, err, name)
		require.NoError(t, isospec.Validate(msg), name)
		if _, _, err := isospec.MACInput([]byte(raw)); err == nil {
			require.NoError(t, isospec.VerifyMAC([]byte(raw), retailVerify(macKey)), name)
		}
	}
}

// FuzzUnpack checks that Unpack never panics and reports malformed frames
// as *FieldError within the frame; that what unpacks packs back to the same
// bytes; and that Validate, Describe, DescribeFrame, Summary, MACInput and
// Decode into every typed message never panic.
func FuzzUnpack(f *testing.F) {
	for _, b := range seedFrames(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		desc := isospec.DescribeFrame(b)
		_, _, _ = isospec.MACInput(b)
		msg, err := isospec.Unpack(b)
		if err != nil {
			var fe *isospec.FieldError
			require.True(t, errors.As(err, &fe), "%T %v", err, err)
			require.GreaterOrEqual(t, fe.Field, -1)
			require.LessOrEqual(t, fe.Field, 128)
			require.LessOrEqual(t, fe.Offset, len(b))
			require.Nil(t, msg)
			return
		}
		again, err := isospec.Pack(msg)
		require.NoError(t, err)
		require.Equal(t, b, again)
		require.Equal(t, desc, isospec.Describe(msg))
		_ = isospec.DescribeWith(msg, isospec.DescribeOptions{ShowCryptograms: true})
		_ = isospec.Summary(msg)
		if err := isospec.Validate(msg); err != nil {
			var fe *isospec.FieldError
			require.True(t, errors.As(err, &fe), "%T %v", err, err)
		}
		for _, v := range []any{
			&isospec.AuthorizationRequest{}, &isospec.AuthorizationResponse{},
			&isospec.ReversalRequest{}, &isospec.ReversalResponse{}, &isospec.NetworkManagement{},
		} {
			if isospec.Decode(msg, v) == nil {
				_ = fmt.Sprintf("%v %+v", v, v)
			}
		}
	})
}

// FuzzParsePrivateData checks that DE48 parsing never panics, errors wrap
// ErrPrivateData, and what parses encodes to something that parses to the
// same value.
func FuzzParsePrivateData(f *testing.F) {
	f.Add("")
	f.Add(samplePrivate(f))
	f.Add("01012hce_key_used04005dev-1050011060050000750003abc99001x")
	f.Add("07003ZPK0803200112233445566778899AABBCCDDEEFF0009006ABCDEF")
	f.Add("0500100600565535")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := isospec.ParsePrivateData(s)
		if err != nil {
			require.ErrorIs(t, err, isospec.ErrPrivateData)
			return
		}
		enc, err := p.Encode()
		if len(s) > 999 && err != nil {
			return
		}
		require.NoError(t, err)
		require.LessOrEqual(t, len(enc), len(s))
		p2, err := isospec.ParsePrivateData(enc)
		require.NoError(t, err)
		require.Equal(t, p, p2)
	})
}

// FuzzValues checks the parsers of structured field values (DE90, DE43,
// DE35, DE7) never panic and round-trip what they accept.
func FuzzValues(f *testing.F) {
	f.Add("010000012303151030000000001234500000000000")
	f.Add("TAPSIM COFFEE            TAIPEI       TW")
	f.Add(sampleTrack2)
	f.Add("0315103000")
	f.Fuzz(func(t *testing.T, s string) {
		if o, err := isospec.ParseOriginalData(s); err == nil {
			enc, err := o.Encode()
			require.NoError(t, err)
			require.Equal(t, s, enc)
		}
		if c, err := isospec.ParseCardAcceptorLocation(s); err == nil {
			enc, err := c.Encode()
			require.NoError(t, err)
			require.Len(t, enc, 40)
			back, err := isospec.ParseCardAcceptorLocation(enc)
			require.NoError(t, err)
			require.Equal(t, c, back)
		}
		if p, exp, svc, err := isospec.SplitTrack2(s); err == nil {
			require.True(t, strings.HasPrefix(s, p+"="+exp+svc))
		} else {
			require.ErrorIs(t, err, isospec.ErrValue)
		}
		if tm, err := isospec.ParseTransmissionDateTime(s, when); err == nil {
			require.Equal(t, s, isospec.TransmissionDateTime(tm))
			require.Less(t, tm.Sub(when).Abs(), 366*24*time.Hour)
		}
	})
}

// FuzzLibraryUnpack covers hosts that let iso8583-connection unpack frames
// with the library's own, more lenient reader: whatever the library accepts
// under Spec, Validate, Describe and Summary must handle without panicking,
// and anything Validate accepts must pack.
func FuzzLibraryUnpack(f *testing.F) {
	for _, b := range seedFrames(f) {
		f.Add(b)
	}
	f.Add([]byte("0100@\x00\x00\x00\x00\x00\x00\x00+9123456789"))
	f.Fuzz(func(t *testing.T, b []byte) {
		msg := isospec.NewMessage()
		if msg.Unpack(b) != nil {
			return
		}
		_ = isospec.Describe(msg)
		_ = isospec.DescribeWith(msg, isospec.DescribeOptions{ShowCryptograms: true})
		_ = isospec.Summary(msg)
		_ = isospec.MACField(msg)
		if isospec.Validate(msg) == nil {
			packed, err := isospec.Pack(msg)
			require.NoError(t, err)
			_, err = isospec.Unpack(packed)
			require.NoError(t, err)
		}
	})
}

// FuzzFramer feeds a byte stream (length headers included) to the strict
// Framer, as a connection would: every frame gives a message or an error,
// never a panic, and reading stops at the end of the stream.
func FuzzFramer(f *testing.F) {
	var stream []byte
	for _, b := range seedFrames(f) {
		stream = append(stream, byte(len(b)>>8), byte(len(b)))
		stream = append(stream, b...)
		f.Add(stream[len(stream)-len(b)-2:])
	}
	f.Add(stream)
	f.Add([]byte{0, 0, 0, 4, '0', '8', '0', '0'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		var fr isospec.Framer
		for i := 0; r.Len() > 0; i++ {
			require.Less(t, i, len(b), "no progress")
			msg, err := fr.ReadMessage(r)
			if err != nil {
				if errors.Is(err, isospec.ErrFrame) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
					return
				}
				var fe *isospec.FieldError
				require.True(t, errors.As(err, &fe), "%T %v", err, err)
				continue
			}
			var buf bytes.Buffer
			require.NoError(t, fr.WriteMessage(&buf, msg))
		}
	})
}
