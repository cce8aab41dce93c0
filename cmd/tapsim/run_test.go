package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// "tapsim run --junit" writes a report whose root and suite agree, whose
// classnames are the scenarios' paths under the directory given, and whose
// timestamp is the run's start.
func TestRunJUnit(t *testing.T) {
	old := runClock
	runClock = func() time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { runClock = old })
	suite := filepath.Join("..", "..", "tests", "scenarios", "visa")
	report := filepath.Join(t.TempDir(), "junit.xml")
	code, out, errOut := runCLI(t, "run", suite, "--junit", report, "-q")
	require.Equal(t, 0, code, out+errOut)
	data, err := os.ReadFile(report)
	require.NoError(t, err)
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Tests     int    `xml:"tests,attr"`
			Failures  int    `xml:"failures,attr"`
			Errors    int    `xml:"errors,attr"`
			Timestamp string `xml:"timestamp,attr"`
			Cases     []struct {
				Classname string `xml:"classname,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(data, &doc))
	require.Len(t, doc.Suites, 1)
	s := doc.Suites[0]
	require.Positive(t, doc.Tests)
	require.Equal(t, []int{doc.Tests, doc.Failures, doc.Errors}, []int{s.Tests, s.Failures, s.Errors})
	require.Equal(t, "2026-03-01T09:00:00", s.Timestamp)
	for _, c := range s.Cases {
		require.NotContains(t, c.Classname, "scenarios", "relative to the suite")
		require.False(t, strings.HasSuffix(c.Classname, ".yaml"), c.Classname)
		_, err := os.Stat(filepath.Join(suite, filepath.FromSlash(c.Classname)+".yaml"))
		require.NoError(t, err, c.Classname)
	}
}
