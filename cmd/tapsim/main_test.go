package main

import (
	"bytes"
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
