package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The hosts' default listen addresses are the ones the README's network
// uses: the issuer on 8583, the acquirer on 8584 (and the acquirer's
// --issuer points at the issuer's).
func TestDefaultPortsMatchTheREADME(t *testing.T) {
	iss := newIssuerCmd().Flags().Lookup("listen")
	acq := newAcquirerCmd().Flags().Lookup("listen")
	require.Equal(t, "127.0.0.1:8583", iss.DefValue)
	require.Equal(t, "127.0.0.1:8584", acq.DefValue)

	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	require.Contains(t, string(readme), "tapsim issuer --listen "+iss.DefValue)
	require.Contains(t, string(readme), "tapsim acquirer --listen "+acq.DefValue+" --issuer "+iss.DefValue)
	require.True(t, strings.Contains(string(readme), "--acquirer "+acq.DefValue))
}
