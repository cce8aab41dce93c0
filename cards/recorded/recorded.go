// Package recorded replays a card from an APDU trace: a text file of the
// commands a terminal sent and the responses the card gave, as captured from
// a real card or phone or saved by tapsim's terminal.
//
// # Trace format
//
// A trace is UTF-8 text, one item per line:
//
//	# a comment: from '#' to the end of the line (also after data)
//	atr 3B8880014E46434152440000A5
//	> 00A404000E325041592E5359532E444446303100
//	< 6F2F840E325041592E5359532E4444463031A51DBF0C1A61184F07A0000000031010500A564953412043524544495487010190 00
//
// "atr" gives the card's Answer To Reset (optional; a generic contactless ATR
// is used without it). A line starting with '>' is a command APDU (C-APDU)
// and the next data line must start with '<': the response APDU (R-APDU),
// data followed by the two status bytes. A line "reset" marks the card
// leaving the field and being presented again (a second tap after See Phone,
// for example); a command must follow it. Hex digits are case-insensitive and
// may be separated by spaces. Blank lines are ignored. Anything else is an
// error naming the line.
//
// # Replay
//
// The "reset" lines cut the trace into presentations. The card answers
// commands in the order of the current presentation: when the command is the
// next one recorded, its response is returned and the replay moves on. When
// it is not, the card looks the command up: first the next recorded command
// of the presentation with the same header (CLA INS P1 P2: the same command
// with other data, such as another unpredictable number; for SELECT the name
// must be the same too), then any command of the presentation with the same
// bytes, then any with the same header, then the same two searches over the
// whole trace. A command found nowhere gets '6A82' (file or application not
// found) for SELECT and '6D00' (instruction not supported) otherwise.
//
// Reset is the card leaving and entering the field: once the card has
// answered in a presentation, Reset moves the replay to the start of the next
// one, and from the last back to the first; a Reset before any answer keeps
// the presentation.
//
// Replayed responses are what the card said then: cryptograms and
// signatures in them were made for the recorded terminal data, so a kernel
// that checks them against new data will see them fail, as it should.
package recorded

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tapsim/tapsim/cards/chip"
)

// Sentinel errors of Parse; a *ParseError wraps one of them.
var (
	// ErrSyntax reports a line that is neither a command, a response, an
	// ATR, a comment nor blank.
	ErrSyntax = errors.New("recorded: syntax error")
	// ErrHex reports data that is not hex.
	ErrHex = errors.New("recorded: bad hex")
	// ErrOrder reports a response without a command before it, or a command
	// without a response after it.
	ErrOrder = errors.New("recorded: command and response out of order")
	// ErrShort reports a C-APDU under 4 bytes or an R-APDU under 2 bytes.
	ErrShort = errors.New("recorded: APDU too short")
)

// ParseError reports a malformed trace line. It never quotes the line, which
// may hold card data.
type ParseError struct {
	Line int   // 1-based line number
	Err  error // one of the sentinel errors
}

// Error names the line and the problem.
func (e *ParseError) Error() string { return fmt.Sprintf("%v at line %d", e.Err, e.Line) }

// Unwrap returns the sentinel error.
func (e *ParseError) Unwrap() error { return e.Err }

// Exchange is one command and the card's response to it.
type Exchange struct {
	// Reset is true when the card left the field and was presented again
	// before this command (a "reset" line).
	Reset    bool
	Command  []byte // C-APDU
	Response []byte // R-APDU: data and SW1 SW2
}

// Trace is a recorded card session.
type Trace struct {
	ATR       []byte // nil when the trace gives none
	Exchanges []Exchange
}

// maxLine bounds a trace line: an extended APDU in hex with spaces.
const maxLine = 1 << 18

// Parse reads a trace (see the package documentation for the format).
func Parse(r io.Reader) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	t := &Trace{}
	var pending []byte
	reset := false
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		switch {
		case s[0] == '>':
			if pending != nil {
				return nil, &ParseError{Line: line, Err: ErrOrder}
			}
			b, err := decodeHex(s[1:])
			if err != nil {
				return nil, &ParseError{Line: line, Err: err}
			}
			if len(b) < 4 {
				return nil, &ParseError{Line: line, Err: ErrShort}
			}
			pending = b
		case s[0] == '<':
			if pending == nil {
				return nil, &ParseError{Line: line, Err: ErrOrder}
			}
			b, err := decodeHex(s[1:])
			if err != nil {
				return nil, &ParseError{Line: line, Err: err}
			}
			if len(b) < 2 {
				return nil, &ParseError{Line: line, Err: ErrShort}
			}
			t.Exchanges = append(t.Exchanges, Exchange{Reset: reset, Command: pending, Response: b})
			pending, reset = nil, false
		case strings.EqualFold(s, "reset"):
			if pending != nil {
				return nil, &ParseError{Line: line, Err: ErrOrder}
			}
			reset = len(t.Exchanges) > 0
		case len(s) > 3 && strings.EqualFold(s[:3], "atr") && (s[3] == ' ' || s[3] == '\t'):
			b, err := decodeHex(s[3:])
			if err != nil || len(b) < 2 {
				return nil, &ParseError{Line: line, Err: ErrHex}
			}
			t.ATR = b
		default:
			return nil, &ParseError{Line: line, Err: ErrSyntax}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("recorded: read: %w", err)
	}
	if pending != nil || reset {
		return nil, &ParseError{Line: line, Err: ErrOrder}
	}
	return t, nil
}

// ParseFile reads a trace file.
func ParseFile(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recorded: %w", err)
	}
	defer f.Close()
	return Parse(f)
}

func decodeHex(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, ErrHex
	}
	return b, nil
}

// String describes the trace without its data (it holds card data).
func (t *Trace) String() string { return fmt.Sprintf("trace: %d exchanges", len(t.Exchanges)) }

// GoString is String, so that %#v shows no card data.
func (t *Trace) GoString() string { return t.String() }

// WriteTo writes the trace in the format Parse reads, upper-case hex, one
// command and one response line per exchange.
func (t *Trace) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	if t.ATR != nil {
		fmt.Fprintf(&b, "atr %X\n", t.ATR)
	}
	for _, e := range t.Exchanges {
		if e.Reset {
			b.WriteString("reset\n")
		}
		fmt.Fprintf(&b, "> %X\n< %X\n", e.Command, e.Response)
	}
	return b.WriteTo(w)
}

// Card replays a trace. It is not safe for concurrent use.
type Card struct {
	t   *Trace
	atr []byte
	// start and end bound the current presentation; next is the exchange
	// expected next and answered tells whether the card has answered since
	// the presentation began.
	start, end, next int
	answered         bool
}

// New returns a card that replays t.
func New(t *Trace) *Card {
	atr := t.ATR
	if atr == nil {
		atr = chip.DefaultATR()
	}
	c := &Card{t: t, atr: bytes.Clone(atr)}
	c.enter(0)
	return c
}

// enter starts the presentation that begins at exchange i.
func (c *Card) enter(i int) {
	c.start, c.next, c.answered = i, i, false
	c.end = len(c.t.Exchanges)
	for j := i + 1; j < len(c.t.Exchanges); j++ {
		if c.t.Exchanges[j].Reset {
			c.end = j
			break
		}
	}
}

// Load reads a trace file and returns a card replaying it.
func Load(path string) (*Card, error) {
	t, err := ParseFile(path)
	if err != nil {
		return nil, err
	}
	return New(t), nil
}

// ATR returns the recorded Answer To Reset, or the generic one.
func (c *Card) ATR() []byte { return bytes.Clone(c.atr) }

// Reset is the card leaving and entering the field: after an answer, the
// replay moves to the next presentation (from the last, back to the first).
func (c *Card) Reset() {
	switch {
	case !c.answered:
		c.next = c.start
	case c.end < len(c.t.Exchanges):
		c.enter(c.end)
	default:
		c.enter(0)
	}
}

// sameHeader reports whether two C-APDUs are the same command with maybe
// other data: they share CLA INS P1 P2, and for SELECT (INS A4), whose data
// is the name selected, the whole command.
func sameHeader(a, b []byte) bool {
	if len(a) < 4 || len(b) < 4 || !bytes.Equal(a[:4], b[:4]) {
		return false
	}
	return a[1] != 0xA4 || bytes.Equal(a, b)
}

// Process answers a C-APDU from the trace (see the package documentation).
// It never panics; the result is always at least two bytes.
func (c *Card) Process(capdu []byte) []byte {
	ex := c.t.Exchanges
	if c.next < c.end && bytes.Equal(ex[c.next].Command, capdu) {
		return c.answer(c.next)
	}
	for i := c.next; i < c.end; i++ {
		if sameHeader(ex[i].Command, capdu) {
			return c.answer(i)
		}
	}
	for _, r := range [][2]int{{c.start, c.end}, {0, len(ex)}} {
		for i := r[0]; i < r[1]; i++ {
			if bytes.Equal(ex[i].Command, capdu) {
				return c.answer(i)
			}
		}
		for i := r[0]; i < r[1]; i++ {
			if sameHeader(ex[i].Command, capdu) {
				return c.answer(i)
			}
		}
	}
	if len(capdu) >= 2 && capdu[1] == 0xA4 {
		return []byte{0x6A, 0x82}
	}
	return []byte{0x6D, 0x00}
}

func (c *Card) answer(i int) []byte {
	if i < c.start || i >= c.end {
		// Found outside the presentation: the replay goes on from there.
		c.enter(c.presentationOf(i))
	}
	c.next, c.answered = i+1, true
	return bytes.Clone(c.t.Exchanges[i].Response)
}

// presentationOf is the first exchange of the presentation holding i.
func (c *Card) presentationOf(i int) int {
	for ; i > 0 && !c.t.Exchanges[i].Reset; i-- {
	}
	return i
}

// String describes the card without its data.
func (c *Card) String() string {
	return fmt.Sprintf("recorded card: %d exchanges, at %d", len(c.t.Exchanges), c.next)
}

// GoString is String, so that %#v shows no card data.
func (c *Card) GoString() string { return c.String() }
