package isospec

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The date and time checks are those of time.Parse.
func parsesMMDD(s string) bool {
	_, err := time.Parse("20060102", "2000"+s)
	return len(s) == 4 && err == nil
}

func parsesHHMMSS(s string) bool {
	_, err := time.Parse("150405", s)
	return len(s) == 6 && err == nil
}

func TestDateChecksMatchTimeParse(t *testing.T) {
	for i := range 10000 {
		s := fmt.Sprintf("%04d", i)
		require.Equal(t, parsesMMDD(s), validMMDD(s), s)
	}
	// Every hour and minute with the seconds at and around their
	// bounds, and every second with the same for hours and minutes.
	edges := []int{0, 23, 24, 59, 60}
	for a := range 100 {
		for b := range 100 {
			for _, c := range edges {
				for _, s := range []string{
					fmt.Sprintf("%02d%02d%02d", a, b, c),
					fmt.Sprintf("%02d%02d%02d", a, c, b),
					fmt.Sprintf("%02d%02d%02d", c, a, b),
				} {
					if parsesHHMMSS(s) != validHHMMSS(s) {
						t.Fatalf("%s: time.Parse %v", s, parsesHHMMSS(s))
					}
				}
			}
		}
	}
}

func FuzzDateChecks(f *testing.F) {
	for _, s := range []string{"0229", "0230", "1301", "235959", "240000", "1:0405", "1 0405", "10405.", "+1", "٠١٠١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		require.Equal(t, parsesMMDD(s), validMMDD(s))
		require.Equal(t, parsesHHMMSS(s), validHHMMSS(s))
	})
}
