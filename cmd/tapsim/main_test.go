package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// runCLI runs the command line in process and returns exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	require.Equal(t, 0, code)
	require.Equal(t, "tapsim dev\n", out)
}

func TestHelpListsSubcommands(t *testing.T) {
	code, out, _ := runCLI(t, "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "version")
}

func TestUnknownFlagExits2(t *testing.T) {
	code, _, errOut := runCLI(t, "version", "--bogus")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "unknown flag")
}

// requireUsageError checks exit code 2 with one clear line on stderr that
// does not repeat any of the secrets.
func requireUsageError(t *testing.T, code int, out, errOut, contains string, secrets ...string) {
	t.Helper()
	require.Equal(t, 2, code, errOut)
	require.Empty(t, out)
	require.Equal(t, 1, strings.Count(errOut, "\n"), errOut)
	require.True(t, strings.HasPrefix(errOut, "tapsim: "), errOut)
	require.Contains(t, errOut, contains)
	for _, s := range secrets {
		require.NotContains(t, strings.ToUpper(errOut), strings.ToUpper(s))
	}
}
