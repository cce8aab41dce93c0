package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/lab"
)

// samplePANs is every PAN and token number of the sample issuer: the
// cards of the built-in profiles, their funding cards, the tokens of the
// wallet and HCE phones, and the cards of tapsim load.
func samplePANs(t *testing.T) []string {
	t.Helper()
	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, lab.LMK)})
	require.NoError(t, err)
	defer m.Close()
	seed, err := lab.IssuerSeed(m)
	require.NoError(t, err)
	var out []string
	for _, c := range seed.Cards {
		out = append(out, c.PAN)
	}
	for _, k := range seed.Tokens {
		out = append(out, k.Number)
	}
	require.NotEmpty(t, seed.Tokens)
	// The cloud account numbers of the sample HCE phones, which the cloud
	// platform enrols (their phones' storage is in the data directory).
	for _, name := range lab.SampleHCEProfiles {
		p, err := cards.Builtin(name)
		require.NoError(t, err)
		out = append(out, p.App.PAN)
	}
	return out
}

// forms is what a number may look like in a file: its ASCII digits, and
// its digits packed as BCD (as in DE2, DE35 or tag 5A), the last digit of
// an odd-length number left out so that any padding or separator after
// it matches too.
func forms(t *testing.T, digits string) [][]byte {
	t.Helper()
	bcd, err := hex.DecodeString(digits[:len(digits)&^1])
	require.NoError(t, err)
	return [][]byte{[]byte(digits), bcd}
}

// scanDataDir walks dir: every directory is 0700, every file 0600, and no
// file holds any of the secrets in any form. It returns the files seen.
func scanDataDir(t *testing.T, dir string, secrets map[string][][]byte) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := d.Info()
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			require.Equal(t, fs.FileMode(0o700), info.Mode().Perm(), "directory %s", rel)
			return nil
		}
		require.True(t, info.Mode().IsRegular(), "%s is not a regular file", rel)
		require.Equal(t, fs.FileMode(0o600), info.Mode().Perm(), "file %s", rel)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		for name, fs := range secrets {
			for i, f := range fs {
				if bytes.Contains(data, f) {
					t.Errorf("%s holds %s in clear (form %d)", rel, name, i)
				}
			}
		}
		files = append(files, rel)
		return nil
	}))
	return files
}

// After the sample network has run (the demo: plastic cards, SE, HCE and
// wallet phones, online PINs and a PIN lock, a suspended token, a replay,
// an issuer timeout with its reversal advice), then again with the hosts
// running and a terminal keeping its state, no file under the data
// directory holds a sample PAN or token number, in ASCII or packed BCD, nor
// a sample key; every file is 0600 and every directory 0700.
func TestNoClearPANAtRest(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.Mkdir(dir, 0o700))
	logf, err := os.OpenFile(filepath.Join(dir, "hosts.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer logf.Close()
	logger := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelDebug}))

	secrets := map[string][][]byte{}
	for _, p := range samplePANs(t) {
		secrets["PAN "+p[:6]+"…"+p[len(p)-4:]] = forms(t, p)
	}
	for name, k := range map[string]string{"BDK": lab.BDK, "TAK": lab.TAK, "ZPK": lab.ZPK, "ZAK": lab.ZAK,
		"PVK": lab.PVK, "KEK": lab.KEK, "LMK": lab.LMK} {
		raw, err := hex.DecodeString(k)
		require.NoError(t, err)
		secrets["key "+name] = [][]byte{[]byte(k), []byte(strings.ToLower(k)), raw}
	}

	rows, err := runDemo(ctx, demoConfig{Dir: dir, Logger: logger})
	require.NoError(t, err)
	for i, r := range rows {
		require.True(t, r.OK(), "row %d %s: %s", i, r.Card, r.Got)
	}

	// The hosts again on the same data (their databases open: -wal and
	// -shm files present), and a terminal keeping its state file.
	n, err := lab.Start(ctx, lab.Options{Dir: dir, Logger: logger})
	require.NoError(t, err)
	code, out, errOut := runCLI(t, "terminal", "--acquirer", n.AcquirerAddr(), "--data", filepath.Join(dir, "terminal"),
		"--card", "mc-se-phone", "--amount", "150000")
	require.Equal(t, 0, code, out+errOut)
	running := scanDataDir(t, dir, secrets)
	n.Close()
	require.NoError(t, logf.Sync())
	stopped := scanDataDir(t, dir, secrets)

	for _, want := range []string{"issuer/issuer.db", "issuer/issuer.db-wal", "issuer/issuer.db-shm", "issuer/issuer-keys.json",
		"acquirer/acquirer.db", "acquirer/acquirer.db-wal", "acquirer/acquirer-keys.json", "terminal/terminal-T0000001.json", "hosts.log"} {
		require.Contains(t, running, want)
	}
	require.Contains(t, stopped, "issuer/issuer.db")
	st, err := os.Stat(filepath.Join(dir, "hosts.log"))
	require.NoError(t, err)
	require.Positive(t, st.Size(), "the hosts logged")
}
