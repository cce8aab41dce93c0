package pos

import (
	"context"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
)

type noLink struct{}

func (noLink) Send(context.Context, *iso8583.Message, time.Duration) (*iso8583.Message, error) {
	return nil, nil
}

// fuzzRequest is a well-formed 0100 to check answers against.
func fuzzRequest(tb testing.TB) *iso8583.Message {
	req := &isospec.AuthorizationRequest{
		MTI:                  isospec.MTIAuthorizationRequest,
		PAN:                  "4761739001010010",
		ProcessingCode:       isospec.ProcPurchase,
		Amount:               150000,
		TransmissionDateTime: "1124132010",
		STAN:                 "000001",
		POSEntryMode:         "071",
		TerminalID:           "T0000001",
		Currency:             "901",
		ICCData:              []byte{0x9F, 0x26, 0x01, 0x00},
	}
	m, err := isospec.Encode(req)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// seedAnswers are packed 0110 answers: approved with a MAC, declined
// without.
func seedAnswers(tb testing.TB, term *Terminal) [][]byte {
	var req isospec.AuthorizationRequest
	if err := isospec.Decode(fuzzRequest(tb), &req); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, rc := range []isospec.ResponseCode{isospec.RCApproved, isospec.RCIncorrectPIN} {
		resp, err := isospec.NewAuthorizationResponse(&req, rc)
		if err != nil {
			tb.Fatal(err)
		}
		resp.AuthCode = "123456"
		resp.ICCData = []byte{0x91, 0x02, 0x30, 0x30, 0x72, 0x03, 0x86, 0x01, 0x00}
		resp.PrivateData = "01014pin_incorrect"
		m, err := isospec.Encode(resp)
		if err != nil {
			tb.Fatal(err)
		}
		if rc.Approved() {
			if err := isospec.SetMAC(m, term.macFunc); err != nil {
				tb.Fatal(err)
			}
		}
		b, err := isospec.Pack(m)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzHostAnswer feeds arbitrary bytes to the terminal's handling of the
// acquirer's answer: unpacking, checks, MAC verification and applying the
// answer never panic, and an approval is applied only when its MAC
// verifies.
func FuzzHostAnswer(f *testing.F) {
	term, err := New(DefaultConfig(), noLink{}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seedAnswers(f, term) {
		f.Add(s)
	}
	f.Add([]byte("0110"))
	f.Add([]byte{})
	req := fuzzRequest(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := isospec.Unpack(b)
		if err != nil {
			return
		}
		if err := term.validAnswer(req, msg, nil); err != nil {
			return
		}
		var ar isospec.AuthorizationResponse
		if err := isospec.Decode(msg, &ar); err != nil {
			return
		}
		res := &Result{}
		term.apply(res, kernel.Outcome{}, &ar)
		if res.Status == StatusApproved {
			packed, err := isospec.Pack(msg)
			if err != nil || isospec.VerifyMAC(packed, term.verifyMAC) != nil {
				t.Fatalf("approval applied without a valid MAC")
			}
		}
		_ = res.String()
	})
}

// FuzzCardData feeds arbitrary data records (as a card could return them)
// to the code that builds fields 2, 14, 23, 35 and 55 and reads field 55 of
// answers: it never panics, and field 55 never carries the PAN or track 2.
func FuzzCardData(f *testing.F) {
	f.Add([]byte{0x5A, 0x08, 0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10, 0x5F, 0x24, 0x03, 0x29, 0x12, 0x31, 0x5F, 0x34, 0x01, 0x01})
	f.Add([]byte{0x57, 0x10, 0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10, 0xD2, 0x91, 0x22, 0x01, 0x00, 0x00, 0x00, 0x0F, 0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0x91, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x30, 0x71, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = issuerUpdateOf(b)
		l, err := tlv.Decode(b)
		if err != nil {
			return
		}
		o := kernel.Outcome{DataRecord: l}
		_, _ = cardDataOf(o)
		icc, err := ICCData(l)
		if err != nil {
			return
		}
		got, err := tlv.Decode(icc)
		if err != nil {
			t.Fatalf("field 55 is not BER-TLV: %v", err)
		}
		for _, tag := range []tlv.Tag{0x5A, 0x57, 0x5F20, 0x56} {
			if _, ok := got.Find(tag); ok {
				t.Fatalf("field 55 carries %X", uint32(tag))
			}
		}
	})
}

// FuzzParseConfig: a configuration file never makes the parser panic.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("terminal_id: T0000001\ntak: 0EA47A138CD931454F044620F738B3F4\n"))
	f.Add([]byte("bdk: 0123456789ABCDEFFEDCBA9876543210\nksn: FFFF9876543210E00000\nresponse_timeout: 2s\n"))
	f.Add([]byte("merchant_name: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseConfig(b, t.TempDir())
		if err == nil {
			if err := cfg.Validate(); err != nil {
				t.Fatalf("ParseConfig returned an invalid configuration: %v", err)
			}
		}
	})
}
