package tests

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/recorded"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/scenario"
)

var update = flag.Bool("update", false, "record the virtual-card traces under scenarios/profiles again")

// idsTraceUN is the unpredictable number of the recorded data storage
// write; its replay scenario uses it too, so the recorded CDA signature
// verifies.
const idsTraceUN = "3C0FFEE5"

// TestRecordedDataStorageWrite: a C-2 Integrated Data Storage write, as the
// virtual card answered it (recorded with -update from the first tap of
// datastorage/write-summary-3.yaml), is a trace whose GENERATE AC carries the
// DSDOL related data after the CDOL1 data; the recorded-card format gives
// back the terminal's DS ODS Info and DS ODS Term, and a replay answers
// every recorded command as recorded (recorded/mc-ids-write-replay.yaml runs
// it through the kernel).
func TestRecordedDataStorageWrite(t *testing.T) {
	path := filepath.Join("scenarios", "profiles", "mc-ids-write.trace")
	if *update {
		s, err := scenario.Load(filepath.Join("scenarios", "datastorage", "write-summary-3.yaml"))
		require.NoError(t, err)
		s.UN = idsTraceUN
		s.Steps = s.Steps[:1]
		s.Steps[0].Expect = nil
		s.Expect = scenario.Expectation{}
		tr := &recorded.Trace{}
		r := testRunner(t)
		r.Trace = func(e kernel.Exchange) {
			if e.Err == nil {
				tr.Exchanges = append(tr.Exchanges, recorded.Exchange{Command: bytes.Clone(e.C), Response: bytes.Clone(e.R)})
			}
		}
		res := r.Run(context.Background(), s)
		require.Empty(t, res.Err)
		var b bytes.Buffer
		b.WriteString("# A Mastercard-like card with Integrated Data Storage, recorded from tapsim's virtual card\n")
		b.WriteString("# (profile mc-ids): PPSE, SELECT (DS ID in the FCI), GPO (the slot), READ RECORD (DSDOL),\n")
		b.WriteString("# GENERATE AC with CDA writing the DS ODS Term POINTS=135 (DS Summaries 2 and 3 signed).\n")
		_, err = tr.WriteTo(&b)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	}
	tr, err := recorded.ParseFile(path)
	require.NoError(t, err)
	require.Equal(t, [][]byte{{0x80}}, tr.TerminalValues(0xDF62), "DS ODS Info")
	require.Equal(t, [][]byte{[]byte("POINTS=135")}, tr.TerminalValues(0xDF63), "DS ODS Term")
	require.Len(t, tr.TerminalValues(0xDF61), 1, "DS Digest H")
	c := recorded.New(tr)
	for _, e := range tr.Exchanges {
		require.Equal(t, e.Response, c.Process(e.Command))
	}
}
