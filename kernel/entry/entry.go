// Package entry is the contactless Entry Point of EMV Contactless Book B:
// pre-processing of each reader combination (section 3.1), protocol
// activation (3.2), combination selection through the PPSE (3.3), kernel
// activation (3.4) and outcome processing (3.5), with the restarts of Book
// A: Start B when the card must be presented again, Start C to select the
// next combination.
//
// An EntryPoint runs one transaction at a time, any number of them one
// after the other: each Start begins a new one (Start A), keeping nothing of
// the one before but the configuration (whose torn transaction log is the
// terminal's). When the outcome asks for a new presentation of the card
// (Try Again, or End Application with Start B after "See Phone"), the
// terminal presents the card again and calls Restart, which resumes at
// Start B with what the first presentation retained. After an Online Request whose Online Response Data
// is not N/A, the terminal calls RestartOnline with the issuer's response:
// at Start B on the card presented again, at Start D on the card still in
// the field, the kernel does Issuer Update Processing. Select Next outcomes
// are handled inside: the next candidate is selected at once.
//
// Comparisons with the limits follow Book B exactly: the Reader Contactless
// Transaction Limit and the Reader CVM Required Limit are exceeded when the
// amount is greater than or equal to them (3.1.1.5, 3.1.1.8), the floor
// limits when the amount is greater (3.1.1.6, 3.1.1.7).
package entry

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/c2"
	"github.com/tapsim/tapsim/kernel/c3"
)

// Errors.
var (
	// ErrNotStarted reports Restart before Start.
	ErrNotStarted = errors.New("entry: no transaction to restart")
)

// maxSelections bounds Start C rounds in one presentation: a card cannot
// make the Entry Point loop.
const maxSelections = 32

// EntryPoint runs contactless transactions, one at a time, each across one
// or more presentations of the card. It is not safe for concurrent use.
type EntryPoint struct {
	cfg     kernel.Config
	kernels map[byte]kernel.Kernel

	started bool
	txn     kernel.Transaction
	combos  []comboState
	cands   []candidate
	sel     *candidate
	// notAllowed is true when a directory entry of the card matched only
	// combinations that pre-processing did not allow (for the reason).
	notAllowed bool
	restart    bool
	last       kernel.Outcome
	ui         []kernel.UIRequest
	// online is the issuer's response of a restart after Online Request
	// (RestartOnline), handed to the kernel it activates.
	online *kernel.OnlineResponse
	// lastAct is the latest kernel activation, for a restart at Start D.
	lastAct *kernel.Activation
}

// comboState is one combination with its pre-processing indicators.
type comboState struct {
	cb  *kernel.Combination
	ind kernel.Indicators
	// eligible is false when the combination does not serve the
	// transaction type at all.
	eligible bool
}

// candidate is one entry of the Candidate List (Book B 3.3.2.5 E).
type candidate struct {
	adfName  []byte
	label    string
	priority byte // b4-b1 of the Application Priority Indicator; 0 = none
	extSel   []byte
	order    int
	combo    int // index into combos
}

// New returns an Entry Point for cfg (which it copies) with the given
// kernels; with none, the C-2 and C-3 kernels of this module.
func New(cfg kernel.Config, kernels ...kernel.Kernel) (*EntryPoint, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(kernels) == 0 {
		kernels = []kernel.Kernel{c2.New(), c3.New()}
	}
	e := &EntryPoint{cfg: cfg.Clone(), kernels: map[byte]kernel.Kernel{}}
	for _, k := range kernels {
		e.kernels[k.ID()] = k
	}
	return e, nil
}

// Run is New followed by Start: one presentation of the card for txn with
// the default kernels.
func Run(ctx context.Context, r kernel.Reader, cfg kernel.Config, txn kernel.Transaction) (kernel.Outcome, error) {
	e, err := New(cfg)
	if err != nil {
		return kernel.Outcome{}, err
	}
	return e.Start(ctx, r, txn)
}

// Config returns the Entry Point's copy of the configuration.
func (e *EntryPoint) Config() *kernel.Config { return &e.cfg }

// Start begins a transaction at Start A: pre-processing, then the card
// presented through r.
func (e *EntryPoint) Start(ctx context.Context, r kernel.Reader, txn kernel.Transaction) (kernel.Outcome, error) {
	if err := txn.Validate(); err != nil {
		return kernel.Outcome{}, err
	}
	if txn.Date.IsZero() {
		txn.Date = e.cfg.Now()
	}
	// Nothing of an earlier transaction carries over.
	*e = EntryPoint{cfg: e.cfg, kernels: e.kernels}
	e.txn = txn
	e.started = true
	if out, done := e.preprocess(); done {
		return e.final(out), nil
	}
	return e.present(ctx, r)
}

// Restart resumes the transaction at Start B with the card presented again
// through r: after a Try Again outcome, or an outcome with Start B such as
// End Application after "See Phone".
func (e *EntryPoint) Restart(ctx context.Context, r kernel.Reader) (kernel.Outcome, error) {
	if !e.started {
		return kernel.Outcome{}, ErrNotStarted
	}
	e.ui = nil
	return e.present(ctx, r)
}

// Errors of RestartOnline.
var (
	// ErrNoOnlineRestart reports RestartOnline after an outcome that did
	// not ask for Online Response Data.
	ErrNoOnlineRestart = errors.New("entry: the last outcome asked for no restart with the online response")
)

// RestartOnline resumes the transaction after the online authorisation of
// an Online Request whose Online Response Data is not N/A (Book A 6.2.3,
// Book B 3.4.1.1): with Start B the card is presented again through r and
// selected as on a first tap; with Start D the kernel that ran is activated
// again at once on the card still in the field behind r. Either way the
// kernel gets resp and does Issuer Update Processing. With Online Response
// Data "EMV Data" and a response without Issuer Authentication Data or
// scripts, no restart is needed: the outcome is the host's decision at once.
func (e *EntryPoint) RestartOnline(ctx context.Context, r kernel.Reader, resp kernel.OnlineResponse) (kernel.Outcome, error) {
	if !e.started {
		return kernel.Outcome{}, ErrNotStarted
	}
	last := e.last
	if last.Type != kernel.OnlineRequest || last.OnlineResponseData == kernel.OnlineResponseNA ||
		(last.Start != kernel.StartB && last.Start != kernel.StartD) {
		return kernel.Outcome{}, ErrNoOnlineRestart
	}
	e.ui = nil
	if last.OnlineResponseData == kernel.OnlineResponseEMV && !resp.HasEMVData() {
		return e.final(hostDecision(last, resp)), nil
	}
	e.online = &resp
	defer func() { e.online = nil }()
	if last.Start == kernel.StartD && e.lastAct != nil {
		// Start D: kernel activation, the card still in the field.
		if last.UIOnRestart != nil {
			e.sendUI(*last.UIOnRestart)
		}
		k, ok := e.kernels[e.lastAct.Combination.KernelID]
		if !ok {
			return kernel.Outcome{}, fmt.Errorf("%w: kernel %d gone", kernel.ErrConfig, e.lastAct.Combination.KernelID)
		}
		a := *e.lastAct
		a.Card = kernel.NewCard(ctx, r, e.cfg.Trace)
		a.Restart = true
		a.OnlineResponse = e.online
		a.UI = e.sendUI
		out, err := k.Activate(ctx, &a)
		if err != nil {
			return kernel.Outcome{}, err
		}
		if out, err = e.awaitRemoval(ctx, r, out); err != nil {
			return kernel.Outcome{}, err
		}
		return e.final(out), nil
	}
	return e.present(ctx, r)
}

// hostDecision is the outcome of an online transaction that needs nothing
// more from the card: Approved or Declined as the host said, with the data
// record of the Online Request.
func hostDecision(last kernel.Outcome, resp kernel.OnlineResponse) kernel.Outcome {
	o := last
	o.Start = kernel.StartNA
	o.OnlineResponseData = kernel.OnlineResponseNA
	o.UIOnRestart = nil
	o.UIRequests = nil
	if resp.Approved {
		o.Type = kernel.Approved
		o.UIOnOutcome = &kernel.UIRequest{Message: kernel.MsgApproved, Status: kernel.StatusNotReady}
		o.Reason = "approved online"
	} else {
		o.Type = kernel.Declined
		o.CVM = kernel.CVMNA
		o.UIOnOutcome = &kernel.UIRequest{Message: kernel.MsgNotAuthorised, Status: kernel.StatusNotReady}
		o.Reason = "declined online"
	}
	return o
}

// LastOutcome returns the outcome of the latest presentation.
func (e *EntryPoint) LastOutcome() kernel.Outcome { return e.last }

func (e *EntryPoint) sendUI(r kernel.UIRequest) {
	e.ui = append(e.ui, r)
	if e.cfg.UI != nil {
		e.cfg.UI(r)
	}
}

// preprocess is Book B section 3.1. It reports done with a Try Another
// Interface outcome when no combination is allowed (3.1.1.13).
func (e *EntryPoint) preprocess() (kernel.Outcome, bool) {
	amount := e.txn.Amount
	unit := int64(1)
	for i := 0; i < e.cfg.CurrencyExponent; i++ {
		unit *= 10
	}
	e.combos = make([]comboState, len(e.cfg.Combinations))
	allowed := false
	for i := range e.cfg.Combinations {
		cb := &e.cfg.Combinations[i]
		st := comboState{cb: cb, eligible: cb.AllowsType(e.txn.Type)}
		ind := &st.ind
		// 3.1.1.1 indicators reset; 3.1.1.2 Copy of TTQ with byte 2 b8 b7
		// cleared.
		if len(cb.TTQ) == 4 {
			ind.TTQ = append([]byte(nil), cb.TTQ...)
			ind.TTQ[1] &^= 0xC0
		}
		// 3.1.1.3 status check for a single unit of currency.
		if cb.StatusCheck && amount == unit {
			ind.StatusCheckRequested = true
		}
		// 3.1.1.4 zero amount.
		if amount == 0 {
			if cb.ZeroAmountAllowed != nil && !*cb.ZeroAmountAllowed {
				ind.ContactlessNotAllowed = true
			} else {
				ind.ZeroAmount = true
			}
		}
		// 3.1.1.5 amount >= Reader Contactless Transaction Limit.
		if cb.TransactionLimit != nil && amount >= *cb.TransactionLimit {
			ind.ContactlessNotAllowed = true
		}
		// 3.1.1.6 amount > Reader Contactless Floor Limit; 3.1.1.7 else
		// amount > Terminal Floor Limit (9F1B).
		if cb.FloorLimit != nil {
			if amount > *cb.FloorLimit {
				ind.FloorLimitExceeded = true
			}
		} else if cb.TerminalFloorLimit != nil && amount > *cb.TerminalFloorLimit {
			ind.FloorLimitExceeded = true
		}
		// 3.1.1.8 amount >= Reader CVM Required Limit.
		if cb.CVMRequiredLimit != nil && amount >= *cb.CVMRequiredLimit {
			ind.CVMRequiredLimitExceeded = true
		}
		if ind.TTQ != nil {
			// 3.1.1.9, 3.1.1.10: online cryptogram required.
			if ind.FloorLimitExceeded || ind.StatusCheckRequested {
				ind.TTQ[1] |= 0x80
			}
			// 3.1.1.11 zero amount: online cryptogram required, or not
			// allowed on an offline-only reader.
			if ind.ZeroAmount {
				if ind.TTQ[0]&0x08 == 0 {
					ind.TTQ[1] |= 0x80
				} else {
					ind.ContactlessNotAllowed = true
				}
			}
			// 3.1.1.12 CVM required.
			if ind.CVMRequiredLimitExceeded {
				ind.TTQ[1] |= 0x40
			}
		}
		if !st.eligible {
			ind.ContactlessNotAllowed = true
		}
		if !ind.ContactlessNotAllowed {
			allowed = true
		}
		e.combos[i] = st
	}
	if allowed {
		return kernel.Outcome{}, false
	}
	// 3.1.1.13 Try Another Interface.
	ui := kernel.UIRequest{Message: kernel.MsgInsertOrSwipe, Status: kernel.StatusProcessingError}
	return kernel.Outcome{
		Type:        kernel.TryAnotherInterface,
		CVM:         kernel.CVMNA,
		UIOnOutcome: &ui,
		Error:       kernel.L2NotAllowed,
		Reason:      "no combination allows a contactless transaction (transaction limit, zero amount or transaction type)",
	}, true
}

// Indicators returns the pre-processing indicators of combination i of the
// configuration, as Start computed them.
func (e *EntryPoint) Indicators(i int) (kernel.Indicators, bool) {
	if i < 0 || i >= len(e.combos) {
		return kernel.Indicators{}, false
	}
	ind := e.combos[i].ind
	ind.TTQ = append([]byte(nil), ind.TTQ...)
	return ind, true
}

// present is protocol activation (3.2) and what follows, for one
// presentation of the card.
func (e *EntryPoint) present(ctx context.Context, r kernel.Reader) (kernel.Outcome, error) {
	// 3.2.1.1: without a restart, Start B clears the indicators but the
	// Copy of TTQ, and the candidate list.
	if !e.restart {
		for i := range e.combos {
			cb := e.combos[i].cb
			notAllowed := e.combos[i].ind.ContactlessNotAllowed
			if e.last.Type != kernel.OutcomeNone {
				e.combos[i].ind = kernel.Indicators{ContactlessNotAllowed: !e.combos[i].eligible || notAllowed}
				if len(cb.TTQ) == 4 {
					e.combos[i].ind.TTQ = append([]byte(nil), cb.TTQ...)
				}
			}
		}
		e.cands = nil
	}
	// 3.2.1.2 the retained UI Request on Restart, else "Present Card".
	if e.restart && e.last.UIOnRestart != nil {
		e.sendUI(*e.last.UIOnRestart)
	} else {
		e.sendUI(kernel.UIRequest{Message: kernel.MsgPresentCard, Status: kernel.StatusReadyToRead})
	}
	card := kernel.NewCard(ctx, r, e.cfg.Trace)
	out, err := e.selectAndRun(ctx, card)
	if err != nil {
		return kernel.Outcome{}, err
	}
	if out, err = e.awaitRemoval(ctx, r, out); err != nil {
		return kernel.Outcome{}, err
	}
	return e.final(out), nil
}

// awaitRemoval honours the Removal Timeout (Book A section 6.2) of an
// outcome that ends the card's part of the transaction: the configured
// timeout becomes the outcome's parameter, unless the kernel set one, and
// when r can watch the field the Entry Point waits for the card to leave,
// reporting a card left in the field in CardNotRemoved. Try Again and
// Select Next go on with the card, an Online Request whose restart is at
// Start D needs the card in the field for Issuer Update Processing, and an
// outcome of a communication error has lost the card already: none of them
// waits.
func (e *EntryPoint) awaitRemoval(ctx context.Context, r kernel.Reader, out kernel.Outcome) (kernel.Outcome, error) {
	switch {
	case out.Type == kernel.TryAgain, out.Type == kernel.SelectNext, out.Type == kernel.OutcomeNone:
		return out, nil
	case out.Type == kernel.OnlineRequest && out.Start == kernel.StartD:
		return out, nil
	case out.Error == kernel.L2CommunicationError:
		return out, nil
	}
	if out.RemovalTimeout == 0 {
		out.RemovalTimeout = e.cfg.RemovalTimeout
	}
	w, ok := r.(kernel.RemovalWaiter)
	if out.RemovalTimeout <= 0 || !ok {
		return out, nil
	}
	removed, err := w.WaitRemoved(ctx, out.RemovalTimeout)
	if err != nil {
		return out, fmt.Errorf("entry: removal timeout: %w", err)
	}
	if !removed {
		out.CardNotRemoved = true
		if out.Reason != "" {
			out.Reason += "; "
		}
		out.Reason += fmt.Sprintf("card still in the field after the removal timeout (%s)", out.RemovalTimeout)
	}
	return out, nil
}

// final records the outcome for a later restart (Book A 8.1.1.9, Book B
// 3.5.1.1) and returns it with the list of UI Requests.
func (e *EntryPoint) final(out kernel.Outcome) kernel.Outcome {
	if out.UIOnOutcome != nil {
		e.sendUI(*out.UIOnOutcome)
	}
	out.UIRequests = append([]kernel.UIRequest(nil), e.ui...)
	e.restart = out.Start != kernel.StartNA
	e.last = out
	return out
}

// selectAndRun is combination selection (3.3), kernel activation (3.4) and
// outcome processing (3.5) for the card in the field.
func (e *EntryPoint) selectAndRun(ctx context.Context, card *kernel.Card) (kernel.Outcome, error) {
	// 3.3.2.2 SELECT (PPSE).
	resp, err := card.Send(apdu.SelectPPSE())
	if err != nil {
		if errors.Is(err, kernel.ErrCollision) {
			return collision(), nil
		}
		return commError(err)
	}
	e.cands = nil
	// 3.3.2.3, 3.3.2.4: without 9000, a parsable FCI and directory
	// entries, no combination is added.
	if resp.OK() {
		if entries, err := kernel.ParsePPSE(resp.Data); err == nil {
			e.cands = e.buildCandidates(entries)
		}
	}
	for round := 0; round < maxSelections; round++ {
		// 3.3.2.6, 3.3.2.7.
		if len(e.cands) == 0 {
			ui := kernel.UIRequest{Message: kernel.MsgTryAnotherCard, Status: kernel.StatusReadyToRead}
			reason := "no application on the card matches a reader combination"
			if e.notAllowed {
				reason = "the card's applications are not allowed contactless for this transaction (amount at or above the contactless transaction limit, zero amount or transaction type)"
			}
			if !resp.OK() {
				reason = fmt.Sprintf("PPSE not found (%s); no application matches", apdu.Describe(resp.SW))
			}
			if e.sel != nil {
				reason = "no candidate left"
			}
			return kernel.Outcome{
				Type:        kernel.EndApplication,
				CVM:         kernel.CVMNA,
				UIOnOutcome: &ui,
				Error:       kernel.L2NoCandidates,
				SW:          resp.SW,
				Reason:      reason,
			}, nil
		}
		c := e.pick()
		e.sel = &c
		// 3.3.3.3 extended selection.
		name := append([]byte(nil), c.adfName...)
		cb := e.combos[c.combo].cb
		if len(c.extSel) > 0 && cb.ExtendedSelection {
			name = append(name, c.extSel...)
		}
		// 3.3.3.4 SELECT (AID).
		sresp, err := card.Send(apdu.Select(name, true))
		if err != nil {
			return commError(err)
		}
		// 3.3.3.5 another status: next candidate.
		if !sresp.OK() {
			e.remove(c)
			continue
		}
		// 3.3.3.6 a Visa AID for kernel 3 whose PDOL lacks the TTQ needs
		// kernel 1, which this reader does not have.
		if cb.KernelID == 3 && bytes.HasPrefix(name, []byte{0xA0, 0x00, 0x00, 0x00, 0x03}) && !pdolHasTTQ(sresp.Data) {
			e.remove(c)
			continue
		}
		// 3.4.1.1 the kernel of the combination.
		k, ok := e.kernels[cb.KernelID]
		if !ok {
			e.remove(c)
			continue
		}
		a := &kernel.Activation{
			Card:           card,
			Config:         &e.cfg,
			Combination:    cb,
			Indicators:     e.combos[c.combo].ind,
			Transaction:    e.txn,
			UN:             e.cfg.NewUnpredictableNumber(),
			ADFName:        name,
			FCI:            sresp.Data,
			SW:             sresp.SW,
			Label:          c.label,
			Restart:        e.restart,
			UI:             e.sendUI,
			OnlineResponse: e.online,
		}
		act := *a
		e.lastAct = &act
		a.Indicators.TTQ = append([]byte(nil), a.Indicators.TTQ...)
		out, err := k.Activate(ctx, a)
		if err != nil {
			return kernel.Outcome{}, err
		}
		if out.AID == nil {
			out.AID = name
		}
		if out.Label == "" {
			out.Label = c.label
		}
		if out.KernelID == 0 {
			out.KernelID = cb.KernelID
		}
		// 3.5.1.4 Select Next: the next candidate (Start C).
		if out.Type == kernel.SelectNext {
			if out.UIOnOutcome != nil {
				e.sendUI(*out.UIOnOutcome)
			}
			e.remove(c)
			continue
		}
		return out, nil
	}
	ui := kernel.UIRequest{Message: kernel.MsgTryAnotherCard, Status: kernel.StatusReadyToRead}
	return kernel.Outcome{Type: kernel.EndApplication, UIOnOutcome: &ui, Error: kernel.L2NoCandidates, Reason: "too many selections"}, nil
}

// commError is Book B 3.3.3.7: a communication error sends the Entry
// Point back to Start B, the card to be presented again.
func commError(err error) (kernel.Outcome, error) {
	if !kernel.IsCommunicationError(err) {
		return kernel.Outcome{}, err
	}
	ui := kernel.UIRequest{Message: kernel.MsgPresentCardAgain, Status: kernel.StatusReadyToRead}
	return kernel.Outcome{
		Type:        kernel.TryAgain,
		Start:       kernel.StartB,
		CVM:         kernel.CVMNA,
		UIOnRestart: &ui,
		Error:       kernel.L2CommunicationError,
		Reason:      "communication error during selection",
	}, nil
}

// collision is Book B 3.2.1.3: more than one card answered in the field.
// The cardholder reads "Please Present One Card Only" while the reader
// waits, and the transaction goes on at Start B with one card.
func collision() kernel.Outcome {
	ui := kernel.UIRequest{Message: kernel.MsgPresentOneCard, Status: kernel.StatusProcessingError}
	again := kernel.UIRequest{Message: kernel.MsgPresentCard, Status: kernel.StatusReadyToRead}
	return kernel.Outcome{
		Type:        kernel.TryAgain,
		Start:       kernel.StartB,
		CVM:         kernel.CVMNA,
		UIOnOutcome: &ui,
		UIOnRestart: &again,
		Error:       kernel.L2CommunicationError,
		Reason:      "more than one card in the field",
	}
}

// buildCandidates is Book B 3.3.2.5: each allowed combination against each
// directory entry.
func (e *EntryPoint) buildCandidates(entries []kernel.DirectoryEntry) []candidate {
	var out []candidate
	e.notAllowed = false
	for ci, st := range e.combos {
		if st.ind.ContactlessNotAllowed {
			for _, d := range entries {
				if len(st.cb.AID) > 0 && bytes.HasPrefix(d.ADFName, st.cb.AID) {
					e.notAllowed = true
				}
			}
			continue
		}
		for _, d := range entries {
			// A: ADF Name present and coded as Book 1 12.2.1 says.
			if len(d.ADFName) < 5 || len(d.ADFName) > 16 {
				continue
			}
			// B: full or partial match with the combination's AID.
			if !bytes.HasPrefix(d.ADFName, st.cb.AID) {
				continue
			}
			// C, D: the requested kernel must be the combination's.
			req, ok := requestedKernel(d.KernelIdentifier, st.cb.AID)
			if !ok {
				continue
			}
			if !(len(req) == 1 && req[0] == 0) && !(len(req) == 1 && req[0] == st.cb.KernelID) {
				continue
			}
			prio := byte(0)
			if d.HasPriority {
				prio = d.Priority & 0x0F
			}
			out = append(out, candidate{
				adfName:  d.ADFName,
				label:    d.Label,
				priority: prio,
				extSel:   d.ExtendedSelection,
				order:    d.Order,
				combo:    ci,
			})
		}
	}
	return out
}

// requestedKernel is Book B 3.3.2.5 C. It reports false when the entry must
// be skipped.
func requestedKernel(ki []byte, aid []byte) ([]byte, bool) {
	if len(ki) == 0 {
		return []byte{defaultKernel(aid)}, true
	}
	switch ki[0] >> 6 {
	case 0, 1:
		return []byte{ki[0]}, true
	}
	if len(ki) < 3 {
		return nil, false
	}
	if ki[0]&0x3F != 0 {
		return append([]byte(nil), ki[:3]...), true
	}
	return append([]byte(nil), ki...), true
}

// defaultKernel is Book B Table 3-6: the kernel of a directory entry
// without a Kernel Identifier, by RID.
func defaultKernel(aid []byte) byte {
	if len(aid) < 5 {
		return 0
	}
	rids := []struct {
		rid    [5]byte
		kernel byte
	}{
		{[5]byte{0xA0, 0, 0, 0, 0x04}, 2},
		{[5]byte{0xA0, 0, 0, 0, 0x03}, 3},
		{[5]byte{0xA0, 0, 0, 0, 0x25}, 4},
		{[5]byte{0xA0, 0, 0, 0, 0x65}, 5},
		{[5]byte{0xA0, 0, 0, 0x01, 0x52}, 6},
		{[5]byte{0xA0, 0, 0, 0x03, 0x24}, 6},
		{[5]byte{0xA0, 0, 0, 0x03, 0x33}, 7},
	}
	for _, r := range rids {
		if bytes.Equal(aid[:5], r.rid[:]) {
			return r.kernel
		}
	}
	return 0
}

// pick is Book B 3.3.3.1 and 3.3.3.2: the highest priority (lowest non-zero
// value; zero or absent is lowest), then the first in PPSE order, then the
// first combination.
func (e *EntryPoint) pick() candidate {
	best := e.cands[0]
	for _, c := range e.cands[1:] {
		if better(c, best) {
			best = c
		}
	}
	return best
}

func better(a, b candidate) bool {
	pa, pb := int(a.priority), int(b.priority)
	if pa == 0 {
		pa = 16
	}
	if pb == 0 {
		pb = 16
	}
	if pa != pb {
		return pa < pb
	}
	if a.order != b.order {
		return a.order < b.order
	}
	return a.combo < b.combo
}

// remove drops c from the candidate list.
func (e *EntryPoint) remove(c candidate) {
	for i, x := range e.cands {
		if x.order == c.order && x.combo == c.combo {
			e.cands = append(e.cands[:i], e.cands[i+1:]...)
			return
		}
	}
}

// pdolHasTTQ reports whether the FCI's PDOL asks for the TTQ (9F66).
func pdolHasTTQ(fci []byte) bool {
	f, err := kernel.ParseFCI(fci)
	if err != nil || !f.HasPDOL {
		return false
	}
	for _, d := range f.PDOL {
		if d.Tag == tlv.Tag(0x9F66) {
			return true
		}
	}
	return false
}
