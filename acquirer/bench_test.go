package acquirer_test

import (
	"testing"

	"github.com/tapsim/tapsim/isospec"
)

// BenchmarkAuthorisation is one authorisation through the acquirer over
// loopback: the terminal's 0100 (MAC under the TAK) to the acquirer, MAC
// check, duplicate check, routing, journal, re-stamping and ZAK MAC, the
// fake issuer's 0110 back, and the 0110 to the terminal.
func BenchmarkAuthorisation(b *testing.B) {
	r := newRig(b, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if rc := r.authorise(r.authReq(visaPAN, 1500)).ResponseCode; rc != isospec.RCApproved {
			b.Fatalf("response %v", rc)
		}
	}
}

// BenchmarkAuthorisationWithPIN adds the DUKPT to ZPK PIN translation.
func BenchmarkAuthorisationWithPIN(b *testing.B) {
	r := newRig(b, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := r.authReq(visaPAN, 500000)
		r.withPIN(req, "1234")
		if rc := r.authorise(req).ResponseCode; rc != isospec.RCApproved {
			b.Fatalf("response %v", rc)
		}
	}
}
