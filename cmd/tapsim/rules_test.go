package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A rules file that does not parse stops the host before it listens, exit
// 2, with the line and field at fault.
func TestAcquirerIssuerRulesBadFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("rules:\n  - name: x\n    match: {amount: {ends: \"5x\"}}\n    respond: \"51\"\n"), 0o600))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"acquirer", []string{"acquirer", "--listen", "127.0.0.1:0", "--issuer", "127.0.0.1:1", "--data", filepath.Join(dir, "acq"), "--rules", bad}},
		{"issuer", []string{"issuer", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "iss"), "--rules", bad}},
		{"acquirer, missing file", []string{"acquirer", "--listen", "127.0.0.1:0", "--issuer", "127.0.0.1:1", "--data", filepath.Join(dir, "acq"), "--rules", filepath.Join(dir, "none.yaml")}},
		{"issuer, bad poll", []string{"issuer", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "iss"), "--rules", bad, "--rules-poll", "0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			require.Equal(t, 2, code, "stdout %s\nstderr %s", out.String(), errOut.String())
			require.NotContains(t, out.String(), "listening")
			require.Contains(t, errOut.String(), "--rules")
			if tc.name == "acquirer" || tc.name == "issuer" {
				require.Contains(t, errOut.String(), `rules.yaml:3: rule "x": match.amount.ends: invalid rules: must be 1 to 12 digits`)
			}
		})
	}
}
