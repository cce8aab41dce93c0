package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/vpcd"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
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

// "tapsim card serve" starts the card at the counter the last run under
// --data left, a terminal's or its own, and keeps the counter it reaches,
// so that the issuer never sees a counter twice.
func TestCardServeKeepsTheCounter(t *testing.T) {
	data := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "terminal-T0000001.json"),
		[]byte(`{"last_stan": 7, "cards": {"visa-plastic": {"atc": 7}}}`), 0o600))
	for _, want := range []int{8, 9} {
		serveOneTap(t, data)
		require.Equal(t, want, savedATC(data, "visa-plastic"))
	}
	serveOneTap(t, data, "--fresh-card")
	require.Equal(t, 9, savedATC(data, "visa-plastic"), "a fresh card keeps nothing")
}

// serveOneTap serves visa-plastic to a stand-in vpcd, runs one
// contactless transaction on it and stops the command.
func serveOneTap(t *testing.T, data string, extra ...string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		root := newRootCmd(&out, &errOut)
		root.SetArgs(append([]string{"card", "serve", "--vpcd", ln.Addr().String(), "--profile", "visa-plastic", "--data", data}, extra...))
		done <- root.ExecuteContext(ctx)
	}()
	c, err := ln.Accept()
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	frame := func(p []byte) {
		b, err := vpcd.AppendFrame(nil, p)
		require.NoError(t, err)
		_, err = c.Write(b)
		require.NoError(t, err)
	}
	frame([]byte{vpcd.PowerOn})
	reader := kernel.ReaderFunc(func(_ context.Context, capdu []byte) ([]byte, error) {
		frame(capdu)
		return vpcd.ReadFrame(c, nil)
	})
	cfg, err := baseTerminalConfig("")
	require.NoError(t, err)
	_, err = entry.Run(ctx, reader, cfg, kernel.Transaction{Amount: 1000})
	require.NoError(t, err)
	cancel()
	require.NoError(t, <-done, errOut.String())
}
