package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Bad input to "tapsim card serve" and "tapsim readers" exits 2 with one
// line, before anything connects anywhere.
func TestCardServeUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		contains string
	}{
		{"no vpcd", []string{"card", "serve", "--profile", "visa-plastic"}, "--vpcd HOST:PORT is required"},
		{"no port", []string{"card", "serve", "--vpcd", "localhost", "--profile", "visa-plastic"}, "want HOST:PORT"},
		{"bad port", []string{"card", "serve", "--vpcd", "localhost:http", "--profile", "visa-plastic"}, "want HOST:PORT"},
		{"port out of range", []string{"card", "serve", "--vpcd", "127.0.0.1:70000", "--profile", "visa-plastic"}, "want HOST:PORT"},
		{"no host", []string{"card", "serve", "--vpcd", ":35963", "--profile", "visa-plastic"}, "want HOST:PORT"},
		{"no profile", []string{"card", "serve", "--vpcd", "127.0.0.1:35963"}, "--profile is required"},
		{"unknown profile", []string{"card", "serve", "--vpcd", "127.0.0.1:35963", "--profile", "no-such-card"}, "no-such-card"},
		{"missing file", []string{"card", "serve", "--vpcd", "127.0.0.1:35963", "--profile", "./nowhere.yaml"}, "nowhere.yaml"},
		{"unlock a plastic card", []string{"card", "serve", "--vpcd", "127.0.0.1:35963", "--profile", "visa-plastic", "--unlock", "5791"}, "need a phone"},
		{"negative duration", []string{"card", "serve", "--vpcd", "127.0.0.1:35963", "--profile", "visa-plastic", "--away", "-1s"}, "cannot be negative"},
		{"bad duration", []string{"card", "serve", "--vpcd", "127.0.0.1:35963", "--profile", "visa-plastic", "--remove-after", "soon"}, "remove-after"},
		{"readers takes no argument", []string{"readers", "0"}, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			requireUsageError(t, code, out, errOut, tc.contains, "5791")
		})
	}
}

func TestCardHelp(t *testing.T) {
	code, out, _ := runCLI(t, "card")
	require.Equal(t, 0, code)
	require.Contains(t, out, "serve")
	code, out, _ = runCLI(t, "card", "serve", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "--remove-after")
	require.Contains(t, out, "SIGUSR1")
	code, out, _ = runCLI(t, "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "readers")
	require.Contains(t, out, "card")
}
