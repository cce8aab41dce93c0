package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
)

// --terminals loads an integrator's terminals: their MAC keys and BDKs go
// into the keystore and show by check value, a MAC made optional is
// warned about, and a second start with the same file keeps the keys.
func TestAcquirerTerminalsFile(t *testing.T) {
	dir := t.TempDir()
	const tak, bdk = "0123456789ABCDEFFEDCBA9876543210", "89ABCDEF0123456776543210FEDCBA98"
	file := filepath.Join(dir, "terminals.yaml")
	require.NoError(t, os.WriteFile(file, []byte("terminals:\n"+
		"  - {tid: T1000001, tak: "+tak+", bdk: "+bdk+"}\n"+
		"  - {tid: T1000002, tak: "+tak+", mac: optional}\n"), 0o600))
	o := acquirerOptions{listen: "127.0.0.1:0", issuers: []string{"127.0.0.1:1"}, dataDir: dir, terminals: file}
	for range 2 {
		cfg, closeHSM, err := acquirerConfig(o, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		var out bytes.Buffer
		printAcquirerTerminals(&out, cfg.Terminals)
		closeHSM()
		takKCV := keys.MustHex(keys.TDES, tak).KCVHex()
		bdkKCV := keys.MustHex(keys.TDES, bdk).KCVHex()
		require.Contains(t, out.String(), "terminal T1000001: TAK KCV "+takKCV+", BDK KCV "+bdkKCV+"\n")
		require.Contains(t, out.String(), "terminal T1000002: TAK KCV "+takKCV+" - WARNING: MAC optional")
		require.Contains(t, out.String(), "terminal T0000001: TAK KCV", "the sample terminal stays")
		require.NotContains(t, out.String(), tak)
		require.NotContains(t, out.String(), bdk)
	}
}

func TestAcquirerTerminalsFileRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ body, want string }{
		{"terminals: []\n", "no terminals listed"},
		{"terminals:\n  - {tid: T1, tak: 0123}\n", "want 32 or 48 hex digits"},
		{"terminals:\n  - {tid: T1, tak: ZZ23456789ABCDEFFEDCBA9876543210}\n", "not a TDES key in hex"},
		{"terminals:\n  - {tid: T1, tak: 0123456789ABCDEFFEDCBA9876543210, mac: off}\n", "mac must be required or optional"},
		{"terminals:\n  - {tid: T123456789, tak: 0123456789ABCDEFFEDCBA9876543210}\n", "tid must be 1 to 8"},
		{"terminals:\n  - {tid: T1, tak: 0123456789ABCDEFFEDCBA9876543210, colour: red}\n", "colour"},
	} {
		file := filepath.Join(dir, "t.yaml")
		require.NoError(t, os.WriteFile(file, []byte(tc.body), 0o600))
		code, out, errOut := runCLI(t, "acquirer", "--data", dir, "--issuer", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--terminals", file)
		requireUsageError(t, code, out, errOut, tc.want, "0123456789ABCDEF")
	}
}
