package oda

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseMMYY(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Date
		err  bool
	}{
		{"1230", Date{2030, time.December}, false},
		{"0100", Date{2000, time.January}, false},
		{"0649", Date{2049, time.June}, false},
		{"0650", Date{1950, time.June}, false},
		{"1299", Date{1999, time.December}, false},
		{"0030", Date{}, true},
		{"1330", Date{}, true},
		{"1A30", Date{}, true},
		{"123A", Date{}, true},
		{"12", Date{}, true},
		{"123001", Date{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := ParseMMYY(hx(tc.in))
			if tc.err {
				require.ErrorIs(t, err, ErrDate)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, d)
			b, err := d.MMYY()
			require.NoError(t, err)
			require.Equal(t, hx(tc.in), b[:])
		})
	}
}

func TestDateMMYYRejects(t *testing.T) {
	for _, d := range []Date{{2050, 1}, {1949, 12}, {2030, 0}, {2030, 13}} {
		_, err := d.MMYY()
		require.ErrorIs(t, err, ErrDate, d)
	}
}

func TestDateExpired(t *testing.T) {
	d := Date{2026, time.March}
	at := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 12, 0, 0, 0, time.UTC) }
	require.False(t, d.Expired(at(2026, time.March, 1)))
	require.False(t, d.Expired(at(2026, time.March, 31)), "valid through the last day of the month")
	require.True(t, d.Expired(at(2026, time.April, 1)))
	require.False(t, d.Expired(at(2025, time.December, 31)))
	require.True(t, d.Expired(at(2027, time.January, 1)))
	require.Equal(t, "03/26", d.String())
}
