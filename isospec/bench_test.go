package isospec_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tapsim/tapsim/isospec"
)

// A typical contactless 0100 with online PIN, DE55 (133 bytes of BER-TLV)
// and private data.

func BenchmarkPack0100(b *testing.B) {
	msg, err := isospec.Encode(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.Pack(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnpack0100(b *testing.B) {
	packed, err := isospec.Marshal(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(packed)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.Unpack(packed); err != nil {
			b.Fatal(err)
		}
	}
}

// Typed struct to bytes and back, the way the hosts use the package.
func BenchmarkMarshal0100(b *testing.B) {
	req := sample0100(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.Marshal(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal0100(b *testing.B) {
	packed, err := isospec.Marshal(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var req isospec.AuthorizationRequest
		if err := isospec.Unmarshal(packed, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate0100(b *testing.B) {
	msg, err := isospec.Encode(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := isospec.Validate(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// Retail MAC (ISO 9797-1 algorithm 3) over the packed 0100, then pack.
func BenchmarkPackWithMAC0100(b *testing.B) {
	msg, err := isospec.Encode(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	f := retailMAC(macKey)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.PackWithMAC(msg, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDescribe0100(b *testing.B) {
	msg, err := isospec.Encode(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = isospec.Describe(msg)
	}
}

// The 0110 approving sample0100 with an ARPC, as the issuer answers.
func approved0110(b *testing.B) *isospec.AuthorizationResponse {
	r, err := isospec.NewAuthorizationResponse(sample0100(b), isospec.RCApproved)
	if err != nil {
		b.Fatal(err)
	}
	r.AuthCode = "A1B2C3"
	r.ICCData = tlvs(b, [2]string{"91", sampleARPC + "0012"})
	return r
}

func BenchmarkEncode0100(b *testing.B) {
	req := sample0100(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.Encode(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode0100(b *testing.B) {
	msg, err := isospec.Unpack(mustMarshal(b, sample0100(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var req isospec.AuthorizationRequest
		if err := isospec.Decode(msg, &req); err != nil {
			b.Fatal(err)
		}
	}
}

// Validate as a host runs it, on a message it unpacked.
func BenchmarkValidateUnpacked0100(b *testing.B) {
	msg, err := isospec.Unpack(mustMarshal(b, sample0100(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := isospec.Validate(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPack0110(b *testing.B) {
	msg, err := isospec.Encode(approved0110(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.Pack(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnpack0110(b *testing.B) {
	packed := mustMarshal(b, approved0110(b))
	b.SetBytes(int64(len(packed)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := isospec.Unpack(packed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateUnpacked0110(b *testing.B) {
	msg, err := isospec.Unpack(mustMarshal(b, approved0110(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := isospec.Validate(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSummary0100(b *testing.B) {
	msg, err := isospec.Encode(sample0100(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = isospec.Summary(msg)
	}
}

// checksum stands in for the MAC in BenchmarkAuthorisationMessages, so
// that it measures the message handling alone.
func checksum(data []byte) ([]byte, error) {
	var m [isospec.MACLen]byte
	for i, c := range data {
		m[i%isospec.MACLen] ^= c
	}
	return m[:], nil
}

func checksumVerify(data, mac []byte) error {
	m, _ := checksum(data)
	if !bytes.Equal(m, mac) {
		return errors.New("test: checksum differs")
	}
	return nil
}

// BenchmarkAuthorisationMessages is the ISO 8583 work of one authorisation
// on its two hops, done the way the terminal, the acquirer and the issuer
// do it: each of the four messages (0100 terminal to acquirer, 0100
// acquirer to issuer, the issuer's 0110, the acquirer's 0110 to the
// terminal) is encoded and packed with its MAC, then unpacked, its MAC
// checked, decoded, and validated where the receiver validates it. A
// checksum stands in for the MAC.
func BenchmarkAuthorisationMessages(b *testing.B) {
	treq := sample0100(b)
	arpc := tlvs(b, [2]string{"91", sampleARPC + "0012"})
	send := func(v any) []byte {
		msg, err := isospec.Encode(v)
		if err != nil {
			b.Fatal(err)
		}
		frame, err := isospec.PackWithMAC(msg, checksum)
		if err != nil {
			b.Fatal(err)
		}
		return frame
	}
	receive := func(frame []byte, v any, validate bool) {
		msg, err := isospec.Unpack(frame)
		if err != nil {
			b.Fatal(err)
		}
		if validate {
			if err := isospec.Validate(msg); err != nil {
				b.Fatal(err)
			}
		}
		if err := isospec.VerifyMAC(frame, checksumVerify); err != nil {
			b.Fatal(err)
		}
		if err := isospec.Decode(msg, v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		// Terminal to acquirer.
		var areq isospec.AuthorizationRequest
		receive(send(treq), &areq, true)
		// Acquirer to issuer: its own trace numbers, the PIN block
		// translated, no KSN.
		fwd := areq
		fwd.STAN, fwd.TransmissionDateTime, fwd.RRN = "000777", "0315103001", "507418000777"
		fwd.AcquirerID, fwd.SecurityControl, fwd.MAC = "12345", nil, nil
		var ireq isospec.AuthorizationRequest
		receive(send(&fwd), &ireq, true)
		// Issuer to acquirer.
		iresp, err := isospec.NewAuthorizationResponse(&ireq, isospec.RCApproved)
		if err != nil {
			b.Fatal(err)
		}
		iresp.AuthCode, iresp.ICCData = "A1B2C3", arpc
		var ir isospec.AuthorizationResponse
		receive(send(iresp), &ir, false)
		// Acquirer to terminal.
		tresp, err := isospec.NewAuthorizationResponse(&areq, ir.ResponseCode)
		if err != nil {
			b.Fatal(err)
		}
		tresp.AuthCode, tresp.ICCData, tresp.RRN = ir.AuthCode, ir.ICCData, fwd.RRN
		var tr isospec.AuthorizationResponse
		receive(send(tresp), &tr, true)
	}
}
