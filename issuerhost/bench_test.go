package issuerhost_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
)

// BenchmarkAuthorizeTCP is one approved authorisation over loopback: an
// iso8583-connection client sends a MACed 0100 to the issuer host, which
// verifies the MAC and the ARQC, writes its state (SQLite, full
// synchronous commits) and answers a MACed 0110 with the ARPC. The card's
// cryptograms are computed outside the timer.
func BenchmarkAuthorizeTCP(b *testing.B) {
	n := issuertest.New(b)
	s := newServer(b, n, issuerhost.Config{})
	c := dial(b, s.Addr())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if n.Cards[issuertest.VisaPlastic].ATC == 0xFFFF {
			b.Fatal("ATCs exhausted")
		}
		m, err := isospec.Encode(isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100})))
		require.NoError(b, err)
		require.NoError(b, isospec.SetMAC(m, zakMAC))
		b.StartTimer()
		resp, err := c.Send(m)
		if err != nil {
			b.Fatal(err)
		}
		if rc, _ := resp.GetString(isospec.FieldResponseCode); rc != "00" {
			b.Fatalf("response code %s", rc)
		}
	}
}
