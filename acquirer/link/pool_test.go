package link

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer/internal/testhsm"
	"github.com/tapsim/tapsim/isospec"
)

func TestNewPoolRejects(t *testing.T) {
	m, k := testhsm.New(t)
	stan := func(context.Context, time.Time) (string, error) { return "000001", nil }
	mk := func(addr string) *Link {
		l, err := New(Config{Name: "issuer", Addr: addr, HSM: m, ZAK: k.ZAK, STAN: stan})
		require.NoError(t, err)
		return l
	}
	a, b, a2 := mk("127.0.0.1:1"), mk("127.0.0.1:2"), mk("127.0.0.1:1")
	for name, cfg := range map[string]PoolConfig{
		"no name":      {Links: []*Link{a}},
		"no endpoint":  {Name: "issuer"},
		"nil link":     {Name: "issuer", Links: []*Link{a, nil}},
		"listed twice": {Name: "issuer", Links: []*Link{a, b, a2}},
	} {
		_, err := NewPool(cfg)
		require.Error(t, err, name)
	}
	p, err := NewPool(PoolConfig{Name: "issuer", Links: []*Link{a, b}})
	require.NoError(t, err)
	require.Equal(t, []*Link{a, b}, p.Links())
	require.False(t, p.Up(), "not started")
	_, err = p.Exchange(auth(t, "000002"), time.Second)
	require.ErrorIs(t, err, ErrDown, "no endpoint up: nothing sent")
}

// A pool of two endpoints, one of them never signed on: every request
// goes to the one that is up; the pool is up.
func TestPoolSkipsEndpointDown(t *testing.T) {
	r := newRig(t, nil)
	r.start(t)
	m, k := testhsm.New(t)
	down, err := New(Config{Name: "issuer", Addr: "127.0.0.1:1", HSM: m, ZAK: k.ZAK,
		STAN: func(context.Context, time.Time) (string, error) { return "000001", nil }})
	require.NoError(t, err)
	p, err := NewPool(PoolConfig{Name: "issuer", Links: []*Link{down, r.link}})
	require.NoError(t, err)
	require.True(t, p.Up())
	for i := range 4 {
		_, err := p.Exchange(auth(t, isospec.FormatSTAN(uint32(10+i))), 5*time.Second)
		require.NoError(t, err)
	}
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest), 4)
}
