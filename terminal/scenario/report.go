package scenario

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is what running one scenario gave.
type Result struct {
	// Name is the scenario's name; File the file it came from.
	Name string `json:"name"`
	File string `json:"file"`
	// Requirement lists the R-IDs the scenario demonstrates.
	Requirement []string `json:"requirement,omitempty"`
	// Passed is true when every expectation held.
	Passed bool `json:"passed"`
	// Diffs lists each expectation that did not hold, one readable line each.
	Diffs []string `json:"diffs,omitempty"`
	// Err is set when the scenario could not run at all (bad file, unknown profile).
	Err string `json:"error,omitempty"`
	// Got summarises the final outcome (type, CVM, TVR), for reports.
	Got string `json:"got,omitempty"`
	// Duration is the wall time of the run.
	Duration time.Duration `json:"duration_ns"`
}

// Summary counts results.
type Summary struct {
	Passed, Failed int
}

// Summarise counts passed and failed results.
func Summarise(rs []Result) Summary {
	var s Summary
	for _, r := range rs {
		if r.Passed {
			s.Passed++
		} else {
			s.Failed++
		}
	}
	return s
}

// String is the closing line of a run: "N passed, M failed".
func (s Summary) String() string { return fmt.Sprintf("%d passed, %d failed", s.Passed, s.Failed) }

// WriteText prints one line per result and, for failures, the diffs
// indented below, then the summary line. With quiet, passed results are
// left out (the summary still counts them).
func WriteText(w io.Writer, rs []Result, quiet bool) error {
	var b strings.Builder
	for _, r := range rs {
		if quiet && r.Passed {
			continue
		}
		status := "PASS"
		if !r.Passed {
			status = "FAIL"
		}
		fmt.Fprintf(&b, "%s %s (%s)\n", status, r.Name, r.File)
		if r.Err != "" {
			fmt.Fprintf(&b, "    error: %s\n", r.Err)
		}
		for _, d := range r.Diffs {
			fmt.Fprintf(&b, "    %s\n", d)
		}
	}
	fmt.Fprintln(&b, Summarise(rs))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the results and the summary as one JSON document.
func WriteJSON(w io.Writer, rs []Result) error {
	s := Summarise(rs)
	doc := struct {
		Passed  int      `json:"passed"`
		Failed  int      `json:"failed"`
		Results []Result `json:"results"`
	}{s.Passed, s.Failed, rs}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes the results as JUnit XML, one testsuite per scenario
// file directory, the form CI servers read.
func WriteJUnit(w io.Writer, suite string, rs []Result) error {
	s := junitSuite{Name: suite, Tests: len(rs)}
	var total time.Duration
	for _, r := range rs {
		total += r.Duration
		c := junitCase{Name: r.Name, Classname: strings.TrimSuffix(r.File, ".yaml"), Time: secs(r.Duration)}
		switch {
		case r.Err != "":
			s.Errors++
			c.Error = &junitMessage{Message: r.Err, Body: r.Err}
		case !r.Passed:
			s.Failures++
			c.Failure = &junitMessage{Message: fmt.Sprintf("%d expectation(s) not met", len(r.Diffs)), Body: strings.Join(r.Diffs, "\n")}
		}
		s.Cases = append(s.Cases, c)
	}
	s.Time = secs(total)
	doc := junitSuites{Tests: s.Tests, Failures: s.Failures + s.Errors, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }
