// Package tests holds the end-to-end suites: the kernel regression
// scenarios under scenarios/, and (as the hosts land) tests over real
// sockets and real pcscd.
package tests

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/scenario"
)

// testRunner is the scenario runner on the default terminal with the test
// CA's public keys, as "tapsim run" uses it.
func testRunner(t testing.TB) *scenario.Runner {
	t.Helper()
	cfg := kernel.DefaultConfig()
	capk, err := kernel.ParseCAPK(testca.CAPKFile())
	require.NoError(t, err)
	cfg.CAPublicKeys = capk
	return &scenario.Runner{Base: cfg}
}

// TestScenarios runs every scenario of the suite as a subtest.
func TestScenarios(t *testing.T) {
	files, err := scenario.Find("scenarios")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	r := testRunner(t)
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "scenarios/"), ".yaml")
		t.Run(name, func(t *testing.T) {
			s, err := scenario.Load(f)
			require.NoError(t, err)
			res := r.Run(context.Background(), s)
			require.Empty(t, res.Err)
			require.True(t, res.Passed, "%s\ngot: %s\n%s", s.Name, res.Got, strings.Join(res.Diffs, "\n"))
		})
	}
}
