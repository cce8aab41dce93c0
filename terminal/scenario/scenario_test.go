package scenario

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "card: visa-plastic\namount: 1\nexpect: {outcom: approved}\n", "outcom"},
		{"no card", "amount: 1\n", "no card"},
		{"bad date", "card: x\ndate: yesterday\n", "RFC 3339"},
		{"bad type", "card: x\ntype: lunch\n", "lunch"},
		{"unknown step", "card: x\nsteps: [dance]\n", "unknown step"},
		{"no tap", "card: x\nsteps: [{unlock: \"1357\"}]\n", "no tap"},
		{"tap with unknown field", "card: x\nsteps: [{tap: {expekt: {}}}]\n", "expekt"},
		{"online without response", "card: x\nsteps: [tap, online, tap]\n", "issuer's response"},
		{"online with a bad arpc", "card: x\nsteps: [tap, {online: {arpc: maybe}}, tap]\n", "valid, invalid or none"},
		{"online with an unknown field", "card: x\nsteps: [tap, {online: {aproved: true}}, tap]\n", "aproved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "x.yaml")
			require.ErrorIs(t, err, ErrScenario)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse([]byte("card: visa-plastic\namount: 500\nrequirement: R-S2d\n"), "dir/some-case.yaml")
	require.NoError(t, err)
	require.Equal(t, "some-case", s.Name)
	require.Equal(t, StringList{"R-S2d"}, s.Requirement)
	require.Len(t, s.Steps, 1)
	require.Equal(t, "tap", s.Steps[0].Action)
	d, err := s.date()
	require.NoError(t, err)
	require.Equal(t, DefaultDate, d)
	un1, err := s.unpredictableNumber()
	require.NoError(t, err)
	s.Name = "another"
	un2, err := s.unpredictableNumber()
	require.NoError(t, err)
	require.NotEqual(t, un1, un2, "the default UN depends on the scenario name")
}

func TestParseSteps(t *testing.T) {
	s, err := Parse([]byte(`card: hce-phone
steps:
  - tap: {expect: {outcome: end_application}}
  - unlock: "5791"
  - remove_after: 2
  - tap
`), "x.yaml")
	require.NoError(t, err)
	require.Len(t, s.Steps, 4)
	require.NotNil(t, s.Steps[0].Expect)
	require.Equal(t, "end_application", s.Steps[0].Expect.Outcome)
	require.Equal(t, Step{Action: "unlock", Arg: "5791"}, s.Steps[1])
	require.Equal(t, Step{Action: "remove_after", Arg: "2"}, s.Steps[2])
}

func TestParseStayFor(t *testing.T) {
	s, err := Parse([]byte(`card: x
steps:
  - stay_for: 10s
  - tap: {expect: {removal_timeout: 5s, card_not_removed: true}}
  - stay_for: forever
  - tap
expect: {card_not_removed: false}
`), "x.yaml")
	require.NoError(t, err)
	require.Equal(t, Step{Action: "stay_for", Arg: "10s"}, s.Steps[0])
	require.Equal(t, "5s", s.Steps[1].Expect.RemovalTimeout)
	require.True(t, *s.Steps[1].Expect.CardNotRemoved)
	require.False(t, *s.Expect.CardNotRemoved)
	d, err := stayDuration("forever")
	require.NoError(t, err)
	require.Negative(t, d)
	for _, bad := range []string{"soon", "-1s"} {
		_, err = Parse([]byte("card: x\nsteps:\n  - stay_for: "+bad+"\n"), "x.yaml")
		require.ErrorIs(t, err, ErrScenario, bad)
	}
}

func TestParseOnlineAndTear(t *testing.T) {
	s, err := Parse([]byte(`card: x
steps:
  - tear_after: 9
  - tap
  - online: {approved: true, arc: "00", arpc: valid, scripts: ["7200"]}
  - tap
expect: {cvc3: valid, mag_stripe: true, field_off: 1.3s, discretionary: {DF8104: absent}}
`), "x.yaml")
	require.NoError(t, err)
	require.Equal(t, Step{Action: "tear_after", Arg: "9"}, s.Steps[0])
	require.Equal(t, &Online{Approved: true, ARC: "00", ARPC: "valid", Scripts: []string{"7200"}}, s.Steps[2].Online)
	require.Equal(t, "valid", s.Expect.CVC3)
	require.True(t, *s.Expect.MagStripe)
	require.Equal(t, "absent", s.Expect.Discretionary["DF8104"])
}

// FuzzParse: a scenario file never crashes the parser.
func FuzzParse(f *testing.F) {
	f.Add([]byte("card: visa-plastic\namount: 500\n"))
	f.Add([]byte("card: x\nsteps: [tap, {online: {approved: true, arpc: valid}}, tap]\nexpect: {cvc3: valid}\n"))
	f.Add([]byte("card: x\nsteps: [{tear_after: 3}, tap]\n"))
	f.Add([]byte("steps: [{tap: {expect: {discretionary: {DF8104: \"00\"}}}}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, "fuzz.yaml")
		if err == nil && len(s.Steps) == 0 {
			t.Fatal("a parsed scenario has steps")
		}
	})
}

func TestCheck(t *testing.T) {
	rec, err := tlv.Decode([]byte{0x9F, 0x27, 0x01, 0x80, 0x9F, 0x36, 0x00 + 0x02, 0x00, 0x07})
	require.NoError(t, err)
	o := kernel.Outcome{
		Type:       kernel.OnlineRequest,
		CVM:        kernel.CVMOnlinePIN,
		DataRecord: rec,
		UIRequests: []kernel.UIRequest{{Message: kernel.MsgPresentCard}, {Message: kernel.MsgProcessing}, {Message: kernel.MsgCardReadOK}},
	}
	o.TVR.Set(kernel.TVRExpired)

	ok := Expectation{
		Outcome: "online_request", CVM: "online_pin", UI: []string{"present_card", "card_read_ok"},
		TVRSet: []string{"0240"}, TVRClear: []string{"0104"},
		Tags: map[string]string{"9F27": "80", "9F36": "*"}, Absent: []string{"9F4B"}, ATC: 7,
	}
	require.Empty(t, ok.check(o, nil))

	bad := Expectation{
		Outcome: "approved", CVM: "no_cvm", UI: []string{"card_read_ok", "present_card"},
		TVRSet: []string{"0104"}, TVRClear: []string{"0240"},
		Tags: map[string]string{"9F27": "40", "9F26": "*"}, Absent: []string{"9F36"}, ATC: 8,
	}
	diffs := bad.check(o, nil)
	require.Len(t, diffs, 9, strings.Join(diffs, "\n"))
}

func TestReports(t *testing.T) {
	rs := []Result{
		{Name: "good", File: "a.yaml", Passed: true, Duration: time.Millisecond},
		{Name: "bad", File: "b.yaml", Diffs: []string{"outcome: want approved, got declined"}},
		{Name: "broken", File: "c.yaml", Err: "scenario: card: unknown profile"},
	}
	var text bytes.Buffer
	require.NoError(t, WriteText(&text, rs, false))
	require.True(t, strings.HasSuffix(text.String(), "1 passed, 2 failed\n"), text.String())
	require.Contains(t, text.String(), "    outcome: want approved, got declined")
	require.Contains(t, text.String(), "PASS good")

	var quiet bytes.Buffer
	require.NoError(t, WriteText(&quiet, rs, true))
	require.NotContains(t, quiet.String(), "PASS good")
	require.Equal(t, 1, strings.Count(quiet.String(), "passed,"), quiet.String())
	require.True(t, strings.HasSuffix(quiet.String(), "1 passed, 2 failed\n"), quiet.String())

	var js bytes.Buffer
	require.NoError(t, WriteJSON(&js, rs))
	require.Contains(t, js.String(), `"failed": 2`)
}

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// The JUnit report: the root repeats the suite's counts (errors apart from
// failures), classnames are paths relative to the root the file was found
// under, and the suite carries the run's start as its timestamp.
func TestJUnitGolden(t *testing.T) {
	rs := []Result{
		{Name: "good", File: filepath.Join("suite", "visa", "no-cvm.yaml"), Passed: true, Duration: 1500 * time.Microsecond},
		{Name: "bad", File: filepath.Join("suite", "mc", "pin.yml"), Diffs: []string{"outcome: want approved, got declined", "cvm: want no_cvm, got online_pin"}, Duration: time.Millisecond},
		{Name: "broken", File: filepath.Join("suite", "c.yaml"), Err: "scenario: card: unknown profile"},
		{Name: "alone", File: filepath.Join("other", "one.yaml"), Passed: true},
	}
	var junit bytes.Buffer
	start := time.Date(2026, 1, 15, 10, 30, 0, 0, time.FixedZone("TST", 8*3600))
	require.NoError(t, WriteJUnit(&junit, JUnit{Suite: "tapsim scenarios", Roots: []string{"suite", filepath.Join("other", "one.yaml")}, Start: start}, rs))
	golden := filepath.Join("testdata", "junit.golden.xml")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, junit.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), junit.String())

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
	require.NoError(t, xml.Unmarshal(junit.Bytes(), &doc))
	require.Len(t, doc.Suites, 1)
	s := doc.Suites[0]
	require.Equal(t, []int{4, 1, 1}, []int{doc.Tests, doc.Failures, doc.Errors})
	require.Equal(t, []int{doc.Tests, doc.Failures, doc.Errors}, []int{s.Tests, s.Failures, s.Errors})
	require.Equal(t, "2026-01-15T02:30:00", s.Timestamp)
	var names []string
	for _, c := range s.Cases {
		names = append(names, c.Classname)
	}
	require.Equal(t, []string{"visa/no-cvm", "mc/pin", "c", "one"}, names)
}
