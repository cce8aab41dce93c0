package isospec_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

func TestOriginalData(t *testing.T) {
	o := isospec.OriginalData{
		MTI:                  isospec.MTIAuthorizationRequest,
		STAN:                 "000123",
		TransmissionDateTime: "0315103000",
		AcquirerID:           "12345",
	}
	s, err := o.Encode()
	require.NoError(t, err)
	require.Equal(t, "0100"+"000123"+"0315103000"+"00000012345"+"00000000000", s)
	require.Len(t, s, 42)
	back, err := isospec.ParseOriginalData(s)
	require.NoError(t, err)
	require.Equal(t, o, back)

	bad := []isospec.OriginalData{
		{MTI: "100", STAN: "000123", TransmissionDateTime: "0315103000"},
		{MTI: "0100", STAN: "123", TransmissionDateTime: "0315103000"},
		{MTI: "0100", STAN: "000123", TransmissionDateTime: "031510300"},
		{MTI: "0100", STAN: "000123", TransmissionDateTime: "0315103000", AcquirerID: "123456789012"},
		{MTI: "0100", STAN: "000123", TransmissionDateTime: "0315103000", ForwardingID: "12a"},
	}
	for _, o := range bad {
		_, err := o.Encode()
		require.ErrorIs(t, err, isospec.ErrValue, "%+v", o)
	}
	for _, s := range []string{"", s[:41], s + "0", "0100000123031510300000000012345X0000000000"} {
		_, err := isospec.ParseOriginalData(s)
		require.ErrorIs(t, err, isospec.ErrValue)
	}
}

func TestCardAcceptorLocation(t *testing.T) {
	c := isospec.CardAcceptorLocation{Name: "TAPSIM COFFEE", City: "TAIPEI", Country: "TW"}
	s, err := c.Encode()
	require.NoError(t, err)
	require.Equal(t, "TAPSIM COFFEE            TAIPEI       TW", s)
	require.Len(t, s, 40)
	back, err := isospec.ParseCardAcceptorLocation(s)
	require.NoError(t, err)
	require.Equal(t, c, back)
	// After unpacking DE43 has lost its trailing spaces.
	back, err = isospec.ParseCardAcceptorLocation("SHOP")
	require.NoError(t, err)
	require.Equal(t, isospec.CardAcceptorLocation{Name: "SHOP"}, back)

	_, err = isospec.CardAcceptorLocation{Name: "A NAME THAT IS FAR TOO LONG FOR DE43"}.Encode()
	require.ErrorIs(t, err, isospec.ErrValue)
	_, err = isospec.CardAcceptorLocation{Country: "TWN"}.Encode()
	require.ErrorIs(t, err, isospec.ErrValue)
	_, err = isospec.ParseCardAcceptorLocation(s + "X")
	require.ErrorIs(t, err, isospec.ErrValue)
}

func TestTimes(t *testing.T) {
	taipei := time.FixedZone("CST", 8*3600)
	at := time.Date(2025, 3, 15, 18, 30, 5, 0, taipei)
	require.Equal(t, "0315103005", isospec.TransmissionDateTime(at)) // UTC
	require.Equal(t, "183005", isospec.LocalTime(at))
	require.Equal(t, "0315", isospec.LocalDate(at))

	tests := []struct {
		s    string
		now  time.Time
		want time.Time
	}{
		{"0315103005", at, at.UTC()},
		// Sent on 31 December, read on 1 January: last year.
		{"1231235959", time.Date(2026, 1, 1, 0, 0, 5, 0, time.UTC), time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)},
		// Sent on 1 January, with a receiver clock still in December.
		{"0101000001", time.Date(2025, 12, 31, 23, 59, 50, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)},
		// 29 February exists only in a leap year: the nearest one.
		{"0229120000", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		got, err := isospec.ParseTransmissionDateTime(tc.s, tc.now)
		require.NoError(t, err, tc.s)
		require.True(t, tc.want.Equal(got), "%s: %v", tc.s, got)
	}
	for _, s := range []string{"", "031510300", "1315103000", "0230120000", "0315246000", "03151030ab"} {
		_, err := isospec.ParseTransmissionDateTime(s, at)
		require.ErrorIs(t, err, isospec.ErrValue, s)
	}
}

func TestSTANAndRRN(t *testing.T) {
	require.Equal(t, "000042", isospec.FormatSTAN(42))
	require.Equal(t, "000001", isospec.FormatSTAN(1_000_001))
	// 2025-03-15 is day 074; 10 h.
	rrn, err := isospec.NewRRN(when, "000123")
	require.NoError(t, err)
	require.Equal(t, "507410000123", rrn)
	require.Len(t, rrn, 12)
	_, err = isospec.NewRRN(when, "123")
	require.ErrorIs(t, err, isospec.ErrValue)
}

func TestTrack2(t *testing.T) {
	s, err := isospec.Track2FromEMV(h("4761739001010119D2512201123400001F"))
	require.NoError(t, err)
	require.Equal(t, sampleTrack2, s)
	s, err = isospec.Track2FromEMV(h("5413330089010434D22122010000000000"))
	require.NoError(t, err)
	require.Equal(t, "5413330089010434=22122010000000000", s)

	p, exp, svc, err := isospec.SplitTrack2(sampleTrack2)
	require.NoError(t, err)
	require.Equal(t, samplePAN, p)
	require.Equal(t, "2512", exp)
	require.Equal(t, "201", svc)

	for _, bad := range []string{
		"",
		samplePAN,                           // no separator
		"4761739=2512201",                   // PAN of 7
		"47617390010101191234=2512201",      // PAN of 20
		"4761739001010119=251220",           // service code cut
		"4761739001010119=2513201",          // month 13
		"4761739001010119=25122011=2",       // two separators
		"4761739001010119D2512201123400001", // EMV separator
	} {
		_, _, _, err := isospec.SplitTrack2(bad)
		require.ErrorIs(t, err, isospec.ErrValue, bad)
		require.NotContains(t, err.Error(), "4761739")
	}
	_, err = isospec.Track2FromEMV(h("4761739001010119"))
	require.ErrorIs(t, err, isospec.ErrValue)
}

func TestAdditionalAmounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   isospec.AdditionalAmount
		want string
	}{
		{"credit", isospec.AdditionalAmount{Currency: "901", Amount: 1234}, "0002901C000000001234"},
		{"debit", isospec.AdditionalAmount{AccountType: "30", AmountType: "01", Currency: "840", Amount: -5}, "3001840D000000000005"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.Encode()
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			back, err := isospec.ParseAdditionalAmounts(got)
			require.NoError(t, err)
			require.Len(t, back, 1)
			require.Equal(t, tc.in.Amount, back[0].Amount)
		})
	}
	_, err := isospec.AdditionalAmount{Currency: "9x1"}.Encode()
	require.ErrorIs(t, err, isospec.ErrValue)
	for _, bad := range []string{"", "0002901X000000001234", "0002901C00000000123"} {
		_, err := isospec.ParseAdditionalAmounts(bad)
		require.ErrorIs(t, err, isospec.ErrValue, bad)
	}
}
