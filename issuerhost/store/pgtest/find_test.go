package pgtest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVersionOf(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		want int
	}{
		{"/usr/lib/postgresql/15/bin", 15},
		{"/usr/lib/postgresql/9/bin", 9},
		{"/usr/pgsql-16/bin", 16},
		{"/usr/local/pgsql/bin", 0},
	} {
		require.Equal(t, tc.want, versionOf(tc.dir), tc.dir)
	}
}

// Find either names both programs or says how to install them.
func TestFind(t *testing.T) {
	tools, err := Find()
	if err != nil {
		require.True(t, errors.Is(err, ErrNotInstalled))
		require.Contains(t, err.Error(), "apt-get install")
		return
	}
	require.True(t, executable(tools.InitDB), tools.InitDB)
	require.True(t, executable(tools.Postgres), tools.Postgres)
}

func TestIdentifier(t *testing.T) {
	for s, ok := range map[string]bool{"t_0a": true, "issuer": true, "": false, "9a": false, "a-b": false, "A": false, "a b": false} {
		require.Equal(t, ok, identifier(s), s)
	}
}
