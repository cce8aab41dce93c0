package authz_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// Known answers of the whole issuer chain, computed independently of this
// code base (EMV Book 2 option A/B master key, common session key or
// Mastercard session key, ISO 9797-1 MAC algorithm 3 padding method 2,
// ARPC method 2 over ARQC || CSU, ARPC method 1 with the ICC master key):
//
//	Visa CVN 18, PAN 4761739001010010 PSN 01, IMK A1B2C3D4E5F60718293A4B5C6D7E8F90,
//	amount 15000, ATC 0001, UN 1A2B0001, 9F10 06011203200000:
//	  ARQC D2DCA9C29A4EDD9C; approved: 91 = F815AF69 || 00820000; declined: A7707E5E || 00000000
//	Mastercard CVN 16, PAN 5413330089010012 PSN 01, IMK 1F2E3D4C5B6A79880102030405060708,
//	amount 1000, ATC 0001, UN 1A2B0001, CVR 200000000000:
//	  ARQC 897047C686ED4CD6; approved: 91 = 39E7EAB54495C4DB || 3030
func TestKnownAnswers(t *testing.T) {
	tests := []struct {
		name   string
		card   string
		amount int64
		arqc   string
		iad    string
		reason authz.Reason
	}{
		{"visa18 approved", issuertest.VisaPlastic, 15000, "D2DCA9C29A4EDD9C", "F815AF6900820000", authz.Approved},
		{"mc16 approved", issuertest.MCPlastic, 1000, "897047C686ED4CD6", "39E7EAB54495C4DB3030", authz.Approved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := issuertest.New(t)
			r := n.Request(tc.card, issuertest.Tap{Amount: tc.amount, ATC: 1})
			if tc.arqc != "" {
				require.Equal(t, tc.arqc, strings.ToUpper(hex.EncodeToString(issuertest.ICCValue(t, r.ICC, 0x9F26))))
			}
			d := decide(t, engine(t, n, authz.Policy{}), r)
			require.Equal(t, tc.reason, d.Reason)
			if tc.iad != "" {
				require.Equal(t, tc.iad, strings.ToUpper(hex.EncodeToString(d.IssuerAuthData)))
			}
		})
	}
}

// The same Visa transaction declined (the card is on file with another
// expiry date, in the past: expired) answers with the decline CSU, whose
// ARPC was computed independently too.
func TestKnownAnswerDecline(t *testing.T) {
	n := issuertest.New(t)
	r := n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 15000, ATC: 1})
	r.Expiry = "" // the tap sends none; the file's is the one checked
	require.NoError(t, n.DB.Update(context.Background(), func(tx *store.Tx) error {
		c, err := tx.Card(context.Background(), issuertest.VisaPlastic)
		if err != nil {
			return err
		}
		c.Expiry = "2412"
		return tx.PutCard(context.Background(), c)
	}))
	d := decide(t, engine(t, n, authz.Policy{}), r)
	require.Equal(t, authz.CardExpired, d.Reason)
	require.Equal(t, "A7707E5E00000000", strings.ToUpper(hex.EncodeToString(d.IssuerAuthData)))
}
