// Package otaagent is a phone's over-the-air agent: it reaches the SE
// TSM's OTA listener over mutually authenticated HTTPS and relays the
// TSM's commands to the phone's secure element, one step at a time, each
// step bound to the OTA session and numbered (package provision/tsm).
package otaagent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/provision/wire"
)

// ErrProtocol reports an SE TSM answer that breaks the relay's rules.
var ErrProtocol = errors.New("otaagent: bad answer from the SE TSM")

// MaxSteps bounds one session.
const MaxSteps = 1000

// Agent relays one SE.
type Agent struct {
	// Client reaches URL, the SE TSM's OTA listener.
	Client *wire.Client
	URL    string
	// DeviceID is the phone's registered identifier.
	DeviceID string
	// SE processes a command APDU (se.SE.Process).
	SE func([]byte) []byte
	// Tamper, when set, may alter a command before the SE sees it (tests
	// of the SE's refusals).
	Tamper func(step int, capdu []byte) []byte
	// Trace, when set, receives one line per command: its name (gp.Describe)
	// and the status word, never data.
	Trace func(line string)
}

// Result is how a session ended.
type Result struct {
	Session string
	Steps   int
	Outcome string
	// Last is the last step the agent answered (a replay test sends it
	// again).
	Last wire.OTAStep
}

// Run opens the download waiting for the device with the cardholder's
// one-time code and relays until the SE TSM ends the session.
func (a *Agent) Run(ctx context.Context, orderID, otp string) (Result, error) {
	var next wire.OTANext
	if err := a.Client.PostJSON(ctx, a.URL+"/open", wire.OTAOpen{DeviceID: a.DeviceID, OrderID: orderID, OTP: otp}, &next); err != nil {
		return Result{}, err
	}
	res := Result{Session: next.Session}
	for i := 0; i < MaxSteps; i++ {
		if next.Done {
			res.Outcome = next.Outcome
			return res, nil
		}
		c, err := Command(next, res.Session)
		if err != nil {
			return res, err
		}
		if a.Tamper != nil {
			c = a.Tamper(next.Step, c)
		}
		r := a.SE(c)
		if a.Trace != nil && len(r) >= 2 {
			a.Trace(fmt.Sprintf("%s -> %02X%02X", gp.Describe(c), r[len(r)-2], r[len(r)-1]))
		}
		step := wire.OTAStep{Session: res.Session, Step: next.Step, Response: hex.EncodeToString(r)}
		res.Last, res.Steps = step, next.Step
		next = wire.OTANext{}
		if err := a.Client.PostJSON(ctx, a.URL+"/step", step, &next); err != nil {
			return res, err
		}
	}
	return res, ErrProtocol
}

// Replay sends a step again (tests: the SE TSM refuses it).
func (a *Agent) Replay(ctx context.Context, step wire.OTAStep) error {
	var next wire.OTANext
	return a.Client.PostJSON(ctx, a.URL+"/step", step, &next)
}

// Command is the APDU an answer of the SE TSM carries for session: a
// command of 4 to 261 bytes, in the session the agent opened.
func Command(next wire.OTANext, session string) ([]byte, error) {
	if next.Session != session || next.Step < 1 || next.Step > MaxSteps {
		return nil, ErrProtocol
	}
	c, err := hex.DecodeString(next.Command)
	if err != nil || len(c) < 4 || len(c) > 261 {
		return nil, ErrProtocol
	}
	return c, nil
}
