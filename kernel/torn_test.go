package kernel_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/kernel"
)

// TestTornLog: records are kept up to the maximum, taken once by the card
// that tore, and dropped after their lifetime.
func TestTornLog(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	rec := func(pan string, at time.Time) kernel.TornRecord {
		return kernel.TornRecord{PAN: pan, PSN: []byte{0x01}, At: at, Ref: 0x90}
	}
	var l kernel.TornLog
	l.Add(rec("5413330089010012", t0), 0)
	require.Zero(t, l.Len(), "a maximum of 0 keeps none")

	l.Add(rec("5413330089010012", t0), 2)
	l.Add(rec("5413330089010020", t0), 2)
	l.Add(rec("5413330089010038", t0), 2)
	require.Equal(t, 2, l.Len(), "the oldest dropped beyond the maximum")
	_, ok := l.Take("5413330089010012", []byte{0x01}, t0, time.Minute)
	require.False(t, ok, "dropped")

	r, ok := l.Take("5413330089010020", []byte{0x01}, t0.Add(30*time.Second), time.Minute)
	require.True(t, ok)
	require.Equal(t, byte(0x90), r.Ref)
	_, ok = l.Take("5413330089010020", []byte{0x01}, t0, time.Minute)
	require.False(t, ok, "taken once")

	_, ok = l.Take("5413330089010038", []byte{0x02}, t0, time.Minute)
	require.False(t, ok, "another PAN sequence number is another card")
	_, ok = l.Take("5413330089010038", []byte{0x01}, t0.Add(2*time.Minute), time.Minute)
	require.False(t, ok, "expired")
	require.Zero(t, l.Len())

	l.Add(rec("5413330089010012", t0), 1)
	_, ok = l.Take("5413330089010012", []byte{0x01}, t0.Add(24*time.Hour), 0)
	require.True(t, ok, "no lifetime: kept until recovered")
}
