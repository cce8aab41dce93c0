package scenario

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
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
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
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

// JUnit names a JUnit report: the suite, the paths the scenarios were
// found under (the files and directories given to Find) and when the run
// started.
type JUnit struct {
	Suite string
	Roots []string
	Start time.Time
}

// WriteJUnit writes the results as JUnit XML, the form CI servers read: one
// testsuite, whose counts the root element repeats (a scenario that could
// not run is an error, one whose expectations failed a failure), with a
// timestamp (rep.Start, UTC). Each testcase's classname is its file's path
// relative to the root it was found under, with slashes and without the
// extension ("visa/no-cvm"); a file given by itself is named by its base
// name.
func WriteJUnit(w io.Writer, rep JUnit, rs []Result) error {
	s := junitSuite{Name: rep.Suite, Tests: len(rs), Timestamp: rep.Start.UTC().Format("2006-01-02T15:04:05")}
	var total time.Duration
	for _, r := range rs {
		total += r.Duration
		c := junitCase{Name: r.Name, Classname: classname(rep.Roots, r.File), Time: secs(r.Duration)}
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
	doc := junitSuites{Name: rep.Suite, Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Time: s.Time, Suites: []junitSuite{s}}
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

// classname is file relative to the first root that holds it (the longest
// match wins), in slash form and without its extension.
func classname(roots []string, file string) string {
	best := ""
	for _, root := range roots {
		rel, err := filepath.Rel(root, file)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		if rel == "." { // the root is the file itself
			rel = filepath.Base(file)
		}
		if best == "" || len(rel) < len(best) {
			best = rel
		}
	}
	if best == "" {
		best = filepath.Base(file)
	}
	best = filepath.ToSlash(best)
	return strings.TrimSuffix(strings.TrimSuffix(best, ".yaml"), ".yml")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }
