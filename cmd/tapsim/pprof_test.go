package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPprofRefusesNonLoopback(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"issuer", "--data", dir, "--listen", "127.0.0.1:0", "--pprof", "0.0.0.0:6060"}, "loopback only"},
		{[]string{"issuer", "--data", dir, "--listen", "127.0.0.1:0", "--pprof", "6060"}, "want host:port"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--pprof", "192.0.2.1:6060"}, "loopback only"},
		{[]string{"acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--pprof", ":6060"}, "loopback only"},
		{[]string{"load", "--pprof", "example.com:6060"}, "loopback only"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		require.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		require.Empty(t, out)
		require.Contains(t, errOut, tc.want, tc.args)
	}
}

func TestPprofCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"", true},
		{"127.0.0.1:6060", true},
		{"[::1]:6060", true},
		{"localhost:0", true},
		{"127.0.0.2:6060", true},
		{"0.0.0.0:6060", false},
		{"[::]:6060", false},
		{"10.0.0.1:6060", false},
		{"127.0.0.1", false},
		{"127.0.0.1:http", false},
	} {
		err := checkPprofAddr(tc.addr)
		if tc.ok {
			require.NoError(t, err, tc.addr)
		} else {
			require.Error(t, err, tc.addr)
		}
	}
}

func TestPprofServesAndStops(t *testing.T) {
	var errOut strings.Builder
	stop, err := startPprof(context.Background(), "127.0.0.1:0", &errOut)
	require.NoError(t, err)
	line := strings.TrimSpace(errOut.String())
	url := strings.TrimPrefix(line, "profiles on ")
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), line)
	resp, err := http.Get(url + "goroutine?debug=1")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "goroutine profile")
	stop()
	stop()
	_, err = http.Get(url)
	require.Error(t, err)
}
