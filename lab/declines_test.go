package lab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
)

// Each sample decline profile gets its response code from the issuer of
// the embedded network, without rules; the cards with limits are approved
// below them.
func TestSampleDeclines(t *testing.T) {
	ctx := context.Background()
	n, err := Start(ctx, Options{Dir: t.TempDir(), IssuerTimeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	term, link, err := n.NewTerminal(pos.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })

	require.Len(t, SampleDeclines, 4)
	for name, d := range SampleDeclines {
		t.Run(name, func(t *testing.T) {
			card, err := Card(name, time.Now())
			require.NoError(t, err)
			reader := inproc.New(card)
			res, err := term.Sale(ctx, d.Amount, reader)
			require.NoError(t, err)
			require.Equal(t, isospec.ResponseCode(d.Code), res.ResponseCode, res.String())
			if d.TxnLimit > 0 || d.CreditLimit < sampleCreditLimit {
				reader.Present(card)
				res, err = term.Sale(ctx, 5000, reader)
				require.NoError(t, err)
				require.Equal(t, isospec.RCApproved, res.ResponseCode, "NT$50.00: %s", res.String())
			}
		})
	}
}
