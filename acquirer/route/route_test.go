package route

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func sample(t *testing.T) *Table {
	t.Helper()
	tb, err := New([]Range{
		{Low: "476173", Issuer: "visa"},
		{Low: "489537", Issuer: "tokens", Token: true},
		{Low: "541333", Issuer: "mc"},
		{Low: "222100", High: "272099", Issuer: "mc2"},
		{Low: "22230000", High: "22230000", Issuer: "special"},
		{Low: "400551", Issuer: "visa"},
	})
	require.NoError(t, err)
	return tb
}

func TestLookup(t *testing.T) {
	tb := sample(t)
	for _, tc := range []struct {
		pan    string
		issuer string
		token  bool
		rng    string
	}{
		{"4761739001010010", "visa", false, "476173-476173"},
		{"4895370012340011", "tokens", true, "489537-489537"},
		{"5413330089010012", "mc", false, "541333-541333"},
		{"2223000048000019", "special", false, "22230000-22230000"}, // longer range wins
		{"2223010048000019", "mc2", false, "222100-272099"},
		{"2720990000000000", "mc2", false, "222100-272099"},
		{"4005510000000013", "visa", false, "400551-400551"},
	} {
		t.Run(tc.pan[:8], func(t *testing.T) {
			r, err := tb.Lookup(tc.pan)
			require.NoError(t, err)
			require.Equal(t, tc.issuer, r.Issuer)
			require.Equal(t, tc.token, r.Token)
			require.Equal(t, tc.rng, r.Range)
			require.Equal(t, tc.pan[:6], r.BIN)
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	tb := sample(t)
	for _, pan := range []string{"5204740000001234", "2721000000000000" + "0", "12345", "47617A9001010010", ""} {
		_, err := tb.Lookup(pan)
		require.ErrorIs(t, err, ErrNoRoute, pan)
		if len(pan) > 10 {
			require.NotContains(t, err.Error(), pan, "the PAN never appears in an error")
		}
	}
	// 272100 is just past the top of the 2-series range.
	_, err := tb.Lookup("2721000000000000")
	require.ErrorIs(t, err, ErrNoRoute)
}

func TestLookupBIN(t *testing.T) {
	tb := sample(t)
	r, err := tb.LookupBIN("489537")
	require.NoError(t, err)
	require.Equal(t, "tokens", r.Issuer)
	require.True(t, r.Token)

	// 222300 is covered by the 6-digit 2-series range and by the 8-digit
	// range of another issuer: ambiguous.
	_, err = tb.LookupBIN("222300")
	require.ErrorIs(t, err, ErrNoRoute)
	require.Contains(t, err.Error(), "split")

	r, err = tb.LookupBIN("222400")
	require.NoError(t, err)
	require.Equal(t, "mc2", r.Issuer)

	for _, bad := range []string{"52047", "5204740", "abcdef", "520474"} {
		_, err = tb.LookupBIN(bad)
		require.ErrorIs(t, err, ErrNoRoute, bad)
	}
}

func TestLookupBINLongerRangeSameIssuer(t *testing.T) {
	tb, err := New([]Range{{Low: "48953700", High: "48953799", Issuer: "tokens", Token: true}})
	require.NoError(t, err)
	r, err := tb.LookupBIN("489537")
	require.NoError(t, err)
	require.Equal(t, "tokens", r.Issuer)
	_, err = tb.LookupBIN("489538")
	require.ErrorIs(t, err, ErrNoRoute)
}

func TestNewRejects(t *testing.T) {
	for name, rs := range map[string][]Range{
		"short":       {{Low: "47617", Issuer: "a"}},
		"long":        {{Low: "4761730000000", Issuer: "a"}},
		"lengths":     {{Low: "476173", High: "4761739", Issuer: "a"}},
		"letters":     {{Low: "47617x", Issuer: "a"}},
		"inverted":    {{Low: "476174", High: "476173", Issuer: "a"}},
		"no issuer":   {{Low: "476173", Issuer: " "}},
		"overlap":     {{Low: "476100", High: "476199", Issuer: "a"}, {Low: "476173", Issuer: "b"}},
		"same bounds": {{Low: "476173", Issuer: "a"}, {Low: "476173", Issuer: "a"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(rs)
			require.ErrorIs(t, err, ErrTable)
		})
	}
}

func TestParse(t *testing.T) {
	tb, err := Parse(strings.NewReader(`routes:
  - {low: "476173", issuer: issuer}
  - {low: "489537", issuer: issuer, token: true, label: visa-like tokens}
`))
	require.NoError(t, err)
	require.Equal(t, []string{"issuer"}, tb.Issuers())
	require.Len(t, tb.Ranges(), 2)
	r, err := tb.Lookup("4895370098760017")
	require.NoError(t, err)
	require.True(t, r.Token)

	_, err = Parse(strings.NewReader("routes:\n  - {low: \"476173\", issuer: a, colour: red}\n"))
	require.ErrorIs(t, err, ErrTable)
	_, err = Parse(strings.NewReader("routes: [\n"))
	require.ErrorIs(t, err, ErrTable)
}
