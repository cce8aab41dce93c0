package pos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/receipt"
	"github.com/tapsim/tapsim/terminal/trace"
)

// Errors of the terminal itself (declines and timeouts are Results, not
// errors).
var (
	// ErrBusy reports a transaction started while another runs.
	ErrBusy = errors.New("pos: a transaction is already running")
	// ErrAmount reports an amount the terminal cannot use.
	ErrAmount = errors.New("pos: bad amount")
)

// DefaultMaxTaps bounds the presentations of the card in one transaction.
const DefaultMaxTaps = 3

// Link carries ISO 8583 messages to the acquirer and back; *client.Client
// is the real one. Send must wrap client.ErrNotSent when the request never
// left, and client.ErrNoAnswer when it may have: the terminal reverses
// only then.
type Link interface {
	Send(ctx context.Context, req *iso8583.Message, timeout time.Duration) (*iso8583.Message, error)
}

// packedLink is a Link that can also send a request already packed with
// isospec.PackWithMAC, so that the request is packed once, and give back
// the frame of the answer, whose MAC is then checked as received.
type packedLink interface {
	Exchange(ctx context.Context, req *iso8583.Message, packed []byte, timeout time.Duration) (*iso8583.Message, []byte, error)
}

// Options are the terminal's injected dependencies. Every field is
// optional.
type Options struct {
	// Clock gives the transaction date and time; nil means time.Now.
	Clock func() time.Time
	// UnpredictableNumber gives tag 9F37; nil means crypto/rand.
	UnpredictableNumber func() [4]byte
	// STAN hands out field 11; nil means a Counter from zero.
	STAN STANSource
	// Keypad is where the cardholder types an online PIN; nil means no
	// PIN can be entered (every PIN request is a bypass).
	Keypad pinpad.Keypad
	// Presenter brings the card back when an outcome asks (See Phone);
	// nil means the card is not presented again.
	Presenter Presenter
	// Journal keeps approved transactions for voids; nil means a
	// MemJournal.
	Journal Journal
	// Events receives what the terminal shows and does; it is called on
	// the transaction's goroutine and must not block.
	Events func(Event)
	// Trace receives every APDU exchange (kernel.Config.Trace).
	Trace kernel.TraceFunc
	// MaxTaps bounds the presentations of the card; 0 means
	// DefaultMaxTaps.
	MaxTaps int
	// NoReceipt prints no receipt: Result.Receipt stays empty (a load
	// generator's terminals, which nobody reads).
	NoReceipt bool
}

// Terminal is a contactless POS terminal on the network: it runs the
// kernel on the card, asks for the PIN, sends the authorisation to the
// acquirer, applies the answer, reverses what got no answer, and prints the
// receipt. One transaction runs at a time.
type Terminal struct {
	cfg  Config
	link Link
	o    Options
	pad  *pinpad.Pad

	busy sync.Mutex
	// ep is the Entry Point the transactions run on, one at a time (busy
	// guards it).
	ep      *entry.EntryPoint
	mu      sync.Mutex // guards pending
	pending []*pendingReversal
}

// pendingReversal is a reversal (or void) not yet acknowledged.
type pendingReversal struct {
	req     isospec.ReversalRequest
	purpose string
}

// New makes a terminal from cfg, talking to the acquirer through link.
func New(cfg Config, link Link, o Options) (*Terminal, error) {
	cfg.Kernel = cfg.Kernel.Clone()
	cfg.Kernel.TerminalID = cfg.TerminalID
	cfg.Kernel.MerchantID = cfg.MerchantID
	if cfg.Kernel.TornLog == nil {
		// The terminal's torn transaction log lives as long as the
		// terminal: a card torn at one sale is recovered at the next.
		cfg.Kernel.TornLog = &kernel.TornLog{}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if link == nil {
		return nil, fmt.Errorf("%w: no link to the acquirer", ErrConfig)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.STAN == nil {
		o.STAN = NewCounter(0)
	}
	if o.Journal == nil {
		o.Journal = &MemJournal{}
	}
	if o.MaxTaps <= 0 {
		o.MaxTaps = DefaultMaxTaps
	}
	kp := o.Keypad
	if kp == nil {
		kp = pinpad.KeypadFunc(func(context.Context, pinpad.Prompt) (pinpad.PIN, error) {
			return pinpad.PIN{}, pinpad.ErrBypassed
		})
	}
	pad, err := pinpad.New(kp, cfg.IPEK, cfg.KSN)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	t := &Terminal{cfg: cfg, link: link, o: o, pad: pad}
	// The terminal's transactions run one after the other on one Entry
	// Point, which checks and copies the kernel configuration once.
	kc := cfg.Kernel
	kc.UnpredictableNumber = o.UnpredictableNumber
	kc.UI = t.ui
	if o.Trace != nil || o.Events != nil {
		kc.Trace = func(x kernel.Exchange) {
			if t.o.Trace != nil {
				t.o.Trace(x)
			}
			if t.o.Events != nil {
				x2 := x
				t.emit(Event{Kind: EventAPDU, Text: trace.CommandName(x.C), Exchange: &x2})
			}
		}
	}
	if t.ep, err = entry.New(kc); err != nil {
		return nil, fmt.Errorf("%w: kernel: %w", ErrConfig, err)
	}
	return t, nil
}

// Config returns the terminal's configuration.
func (t *Terminal) Config() Config { return t.cfg }

// NextKSN is the KSN the next PIN will be enciphered under; save it to
// resume the PIN pad after a restart.
func (t *Terminal) NextKSN() dukpt.KSN { return t.pad.NextKSN() }

// PendingReversals counts the reversals not yet acknowledged.
func (t *Terminal) PendingReversals() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// PendingReversal is a reversal the acquirer has not taken over, as a
// terminal keeps it between runs: its request without the card's number,
// expiry date and chip data (the acquirer finds the original by DE90),
// and what it is for ("reversal", "void").
type PendingReversal struct {
	Purpose string                  `json:"purpose"`
	Request isospec.ReversalRequest `json:"request"`
}

// Pending returns the pending reversals, oldest first, without the card's
// number, expiry date and chip data.
func (t *Terminal) Pending() []PendingReversal {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]PendingReversal, 0, len(t.pending))
	for _, p := range t.pending {
		req := p.req
		req.PAN, req.Expiry, req.ICCData, req.MAC = "", "", nil, nil
		out = append(out, PendingReversal{Purpose: p.purpose, Request: req})
	}
	return out
}

// RestorePending adds reversals kept from an earlier run (Pending) to the
// pending ones; they go before the next transaction, or with
// FlushReversals.
func (t *Terminal) RestorePending(ps []PendingReversal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range ps {
		req := p.Request
		req.PAN, req.Expiry, req.ICCData, req.MAC = "", "", nil, nil
		t.pending = append(t.pending, &pendingReversal{req: req, purpose: p.Purpose})
	}
}

func (t *Terminal) emit(e Event) {
	if t.o.Events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = t.o.Clock()
	}
	t.o.Events(e)
}

func (t *Terminal) display(text string) { t.emit(Event{Kind: EventDisplay, Text: text}) }

// ui sends a User Interface Request to the customer display: the kernels'
// and the Entry Point's own, and the terminal's where Book A leaves the
// message to the POS (the online result, a processing error, the end of a
// transaction).
func (t *Terminal) ui(u kernel.UIRequest) {
	if t.o.Events == nil {
		return
	}
	u2 := u
	t.emit(Event{Kind: EventUI, Text: u.Message.String(), UI: &u2})
}

// Sale runs a purchase of amount (minor units of the terminal currency)
// with the card in reader's field.
func (t *Terminal) Sale(ctx context.Context, amount int64, reader kernel.Reader) (*Result, error) {
	return t.card(ctx, KindSale, kernel.Purchase, amount, reader)
}

// Refund runs a refund of amount with the card in reader's field: the
// kernel reads the card (which declines offline, as refunds want), and the
// refund goes to the acquirer as an authorisation with processing code 20.
func (t *Terminal) Refund(ctx context.Context, amount int64, reader kernel.Reader) (*Result, error) {
	return t.card(ctx, KindRefund, kernel.Refund, amount, reader)
}

// card runs a transaction with the card: kernel, PIN, host, receipt.
func (t *Terminal) card(ctx context.Context, kind Kind, typ kernel.TxnType, amount int64, reader kernel.Reader) (*Result, error) {
	if amount < 0 || amount > 999_999_999_999 {
		return nil, fmt.Errorf("%w: %d", ErrAmount, amount)
	}
	if !t.busy.TryLock() {
		return nil, ErrBusy
	}
	defer t.busy.Unlock()
	start := time.Now()
	t.flush(ctx)

	now := t.o.Clock()
	res := &Result{Kind: kind, Amount: amount}
	defer func() { res.Timings.Total = time.Since(start) }()

	out, ep, err := t.runKernel(ctx, res, typ, amount, now, reader)
	if err != nil {
		t.ui(kernel.UIRequest{Message: kernel.MsgProcessingError, Status: kernel.StatusProcessingError})
		return nil, err
	}
	res.Outcome = out

	switch {
	case out.Type == kernel.OnlineRequest,
		kind == KindRefund && out.Type == kernel.EndApplication && out.Start == kernel.StartNA && len(out.DataRecord) > 0:
		t.online(ctx, res, kind, out, now)
		if res.IssuerUpdate.Requested && res.IssuerUpdate.Available() &&
			(res.Status == StatusApproved || res.Status == StatusDeclined) {
			if err := t.issuerUpdate(ctx, res, ep); err != nil {
				return nil, err
			}
		}
	case out.Type == kernel.Approved:
		res.Status = StatusApproved
		res.ResponseCode = RCOfflineApproved
		res.Message = MsgApprovedOffline
		if out.CVM == kernel.CVMSignature {
			res.Message = MsgApprovedSign
		}
	case out.Type == kernel.Declined:
		res.Status = StatusDeclined
		res.ResponseCode = RCOfflineDeclined
		res.Message = MsgDeclinedOffline
	default:
		res.Status = StatusNotCompleted
		res.Message = outcomeMessage(out)
	}
	t.display(res.Message)
	if u, ok := endUI(res, t.holdTime(out)); ok {
		t.ui(u)
	}
	if !t.o.NoReceipt && res.Status != StatusNotCompleted && res.Status != StatusCancelled && res.Status != StatusHostUnavailable {
		res.Receipt = t.receipt(res, now)
	}
	return res, nil
}

// endUI is the User Interface Request that ends a transaction, where the
// kernel's outcome did not give it (Book A 9.2: the POS shows the result
// of the online authorisation). An offline decision keeps the kernel's
// message, as does an outcome that ends without a decision; a card that
// was not presented again ends with the reader idle, not with the stale
// "See Phone". The host's reason is never the cardholder's business: it
// stays in Result.Message and DeclineReason.
func endUI(res *Result, hold time.Duration) (kernel.UIRequest, bool) {
	done := func(m kernel.MessageID) (kernel.UIRequest, bool) {
		return kernel.UIRequest{Message: m, Status: kernel.StatusNotReady, Hold: hold}, true
	}
	switch res.Status {
	case StatusApproved:
		if !res.Online {
			return kernel.UIRequest{}, false
		}
		if res.Outcome.CVM == kernel.CVMSignature {
			return done(kernel.MsgApprovedSign)
		}
		return done(kernel.MsgApproved)
	case StatusDeclined:
		if !res.Online {
			return kernel.UIRequest{}, false
		}
		return done(kernel.MsgNotAuthorised)
	case StatusReversed, StatusReversalPending:
		return done(kernel.MsgNotAuthorised)
	case StatusHostUnavailable:
		return kernel.UIRequest{Message: kernel.MsgProcessingError, Status: kernel.StatusProcessingError, Hold: hold}, true
	case StatusCancelled:
		return kernel.UIRequest{Message: kernel.MsgWelcome, Status: kernel.StatusIdle}, true
	}
	// Not completed.
	switch {
	case needsCardAgain(res.Outcome):
		return kernel.UIRequest{Message: kernel.MsgWelcome, Status: kernel.StatusIdle}, true
	case res.Outcome.Type == kernel.OnlineRequest:
		// The card asked to go online but the request could not be
		// built or the PIN pad failed.
		return kernel.UIRequest{Message: kernel.MsgProcessingError, Status: kernel.StatusProcessingError, Hold: hold}, true
	}
	return kernel.UIRequest{}, false
}

// holdTime is the Message Hold Time (DF812D) of the outcome: its own, or
// that of the combination of the selected application.
func (t *Terminal) holdTime(out kernel.Outcome) time.Duration {
	if out.UIOnOutcome != nil && out.UIOnOutcome.Hold > 0 {
		return out.UIOnOutcome.Hold
	}
	for _, cb := range t.cfg.Kernel.Combinations {
		if len(out.AID) > 0 && len(cb.AID) > 0 && bytes.HasPrefix(out.AID, cb.AID) && cb.MessageHoldTime > 0 {
			return cb.MessageHoldTime
		}
	}
	return 0
}

// outcomeMessage is the message of an outcome that ends the transaction
// without a decision.
func outcomeMessage(o kernel.Outcome) string {
	if o.UIOnOutcome != nil && o.UIOnOutcome.Message != kernel.MsgNone {
		return o.UIOnOutcome.Message.String()
	}
	if o.UIOnRestart != nil {
		return o.UIOnRestart.Message.String()
	}
	return o.Type.String()
}

// runKernel runs the Entry Point, presenting the card again while the
// outcome asks for it and the presenter brings it back.
func (t *Terminal) runKernel(ctx context.Context, res *Result, typ kernel.TxnType, amount int64, now time.Time, reader kernel.Reader) (kernel.Outcome, *entry.EntryPoint, error) {
	// The Entry Point made with the terminal, on the transaction's clock
	// (the kernels read it, e.g. for the torn transaction log).
	ep := t.ep
	ep.Config().Clock = func() time.Time { return now }
	begin := time.Now()
	defer func() { res.Timings.Card += time.Since(begin) }()
	out, err := ep.Start(ctx, reader, kernel.Transaction{Amount: amount, Type: typ, Date: now})
	if err != nil {
		return kernel.Outcome{}, nil, fmt.Errorf("pos: kernel: %w", err)
	}
	res.Taps = 1
	for needsCardAgain(out) && res.Taps < t.o.MaxTaps && t.o.Presenter != nil {
		t.display(outcomeMessage(out))
		if (out.UIOnOutcome == nil || out.UIOnOutcome.Message == kernel.MsgNone) && out.UIOnRestart != nil {
			// Book B 3.2.1.2: the message on restart is what the
			// cardholder reads while the reader waits for the card.
			t.ui(*out.UIOnRestart)
		}
		r, err := t.o.Presenter.PresentAgain(ctx, out)
		if err != nil {
			if ctx.Err() != nil {
				return kernel.Outcome{}, nil, fmt.Errorf("pos: %w", ctx.Err())
			}
			break
		}
		out, err = ep.Restart(ctx, r)
		if err != nil {
			return kernel.Outcome{}, nil, fmt.Errorf("pos: kernel: %w", err)
		}
		res.Taps++
	}
	return out, ep, nil
}

// issuerUpdate is Issuer Update Processing after the host's answer: the
// card is presented again (through the Presenter) and the Entry Point
// restarts the kernel with the issuer's decision, Issuer Authentication Data
// and scripts. What the card said goes in res.IssuerUpdate; the host's
// decision stands. Without a Presenter the data are only recorded.
func (t *Terminal) issuerUpdate(ctx context.Context, res *Result, ep *entry.EntryPoint) error {
	if t.o.Presenter == nil || ep == nil {
		return nil
	}
	t.display("Issuer update: present the card again")
	r, err := t.o.Presenter.PresentAgain(ctx, res.Outcome)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("pos: %w", ctx.Err())
		}
		return nil
	}
	resp := kernel.OnlineResponse{
		Approved:       res.Status == StatusApproved,
		ARC:            []byte(res.ResponseCode),
		IssuerAuthData: res.IssuerUpdate.AuthenticationData,
	}
	for _, sc := range res.IssuerUpdate.Scripts {
		resp.Scripts = append(resp.Scripts, sc...)
	}
	out, err := ep.RestartOnline(ctx, r, resp)
	if err != nil {
		return fmt.Errorf("pos: kernel: %w", err)
	}
	res.Taps++
	res.IssuerUpdate.Done = true
	res.IssuerUpdate.AuthenticationFailed = out.TVR.Has(kernel.TVRIssuerAuthFailed)
	res.IssuerUpdate.ScriptResults = out.Record(0x9F5B)
	return nil
}

// needsCardAgain reports an outcome that asks for a new presentation of the
// card before any decision: Try Again, or End Application with a restart at
// Start B ("See Phone").
func needsCardAgain(o kernel.Outcome) bool {
	switch o.Type {
	case kernel.TryAgain:
		return true
	case kernel.EndApplication:
		return o.Start == kernel.StartB
	}
	return false
}

// online sends the authorisation (a sale's ARQC or a refund's card data)
// and applies the answer.
func (t *Terminal) online(ctx context.Context, res *Result, kind Kind, out kernel.Outcome, now time.Time) {
	cd, err := cardDataOf(out)
	if err != nil {
		res.Status = StatusNotCompleted
		res.Message = "Card data unusable: " + err.Error()
		return
	}
	var block pinpad.Block
	if out.CVM == kernel.CVMOnlinePIN && kind == KindSale {
		prompt := pinpad.Prompt{
			Amount:    receipt.FormatAmount(res.Amount, int(t.cfg.Kernel.Currency), t.cfg.Kernel.CurrencyExponent),
			MaskedPAN: pan.Mask(cd.pan),
			Attempt:   1,
		}
		t.emit(Event{Kind: EventPIN, Text: prompt.String()})
		begin := time.Now()
		block, err = t.pad.EnterPIN(ctx, prompt, cd.pan)
		res.Timings.PIN = time.Since(begin)
		switch {
		case errors.Is(err, pinpad.ErrCancelled), ctx.Err() != nil:
			res.Status = StatusCancelled
			res.Message = MsgCancelled
			return
		case errors.Is(err, pinpad.ErrBypassed):
			// No PIN: the request goes without fields 52 and 53 and the
			// issuer decides.
		case err != nil:
			res.Status = StatusNotCompleted
			res.Message = "PIN pad error"
			return
		default:
			res.PINEntered = true
			res.KSN = block.KSN().String()
		}
	}

	req, err := t.buildRequest(kind, res.Amount, out, cd, block, now)
	if err != nil {
		res.Status = StatusNotCompleted
		res.Message = "Cannot build the authorisation: " + err.Error()
		return
	}
	res.STAN, res.RRN = req.STAN, req.RRN
	if out.UIOnOutcome == nil || out.UIOnOutcome.Message != kernel.MsgAuthorising {
		// After the PIN: the card's outcome asked for it instead.
		t.ui(kernel.UIRequest{Message: kernel.MsgAuthorising, Status: kernel.StatusNotReady})
	}
	resp, x := t.exchange(ctx, "authorisation", req)
	res.Exchanges = append(res.Exchanges, x)
	res.Online = true
	res.Timings.Host += x.Duration

	switch {
	case errors.Is(x.Err, client.ErrNotSent):
		res.Status = StatusHostUnavailable
		res.Message = MsgHostUnavailable
		return
	case x.Err != nil:
		// No valid answer in time: reverse (response too late).
		t.reverseTimedOut(ctx, res, req, isospec.RCResponseTooLate, "")
		if errors.Is(x.Err, errInvalidAnswer) {
			res.Message = MsgInvalidHostAnswer
			if res.Status == StatusReversalPending {
				res.Message = MsgReversalPending
			}
		}
		return
	}
	var ar isospec.AuthorizationResponse
	if err := isospec.Decode(resp, &ar); err != nil {
		// Cannot happen for a message that passed validAnswer.
		t.reverseTimedOut(ctx, res, req, isospec.RCResponseTooLate, "")
		return
	}
	t.apply(res, out, &ar)
	if res.Status == StatusApproved {
		// The journal keeps the acquirer's RRN (the one on the receipt and
		// at the issuer), which a void then carries.
		rec := *req
		rec.RRN = res.RRN
		if res.ApprovedAmount > 0 {
			rec.Amount = res.ApprovedAmount
		}
		_ = t.o.Journal.Add(NewRecord(rec, ar.AuthCode, now))
	}
}

// apply applies the acquirer's answer.
func (t *Terminal) apply(res *Result, out kernel.Outcome, ar *isospec.AuthorizationResponse) {
	res.ResponseCode = ar.ResponseCode
	res.AuthCode = ar.AuthCode
	if ar.RRN != "" {
		// The acquirer's retrieval reference number names the sale from
		// here on, as the issuer knows it.
		res.RRN = ar.RRN
	}
	if ar.PrivateData != "" {
		if p, err := isospec.ParsePrivateData(ar.PrivateData); err == nil {
			res.DeclineReason = p.DeclineReason
			res.StandIn = p.StandIn
		}
	}
	res.IssuerUpdate = issuerUpdateOf(ar.ICCData)
	res.IssuerUpdate.Requested = out.Start == kernel.StartB && out.OnlineResponseData != kernel.OnlineResponseNA
	if res.IssuerUpdate.Requested {
		t.emit(Event{Kind: EventDisplay, Text: "Issuer update requested by the card: " + res.IssuerUpdate.String()})
	}
	res.Balance = balanceOf(ar.AdditionalAmounts)
	switch {
	case ar.ResponseCode.Approved():
		res.Status = StatusApproved
		res.Message = MsgApproved
		if out.CVM == kernel.CVMSignature {
			res.Message = MsgApprovedSign
		}
		if res.StandIn {
			res.Message = MsgApprovedStandIn
		}
		return
	case ar.ResponseCode == isospec.RCPartialApproval && ar.Amount > 0 && ar.Amount <= res.Amount:
		// Approved for part of the amount (DE4 of the answer): the rest
		// is to be paid another way.
		res.Status = StatusApproved
		res.ApprovedAmount = ar.Amount
		res.Message = MsgApprovedPartial
		return
	case ar.ResponseCode == isospec.RCReferToIssuer:
		res.Status = StatusDeclined
		res.Message = MsgReferral
		return
	}
	res.Status = StatusDeclined
	res.Message = MsgDeclined + ": " + ar.ResponseCode.Meaning()
}

// balanceOf returns the available balance of DE54 (its first entry when
// none is typed available), nil when absent or malformed.
func balanceOf(de54 string) *int64 {
	if de54 == "" {
		return nil
	}
	list, err := isospec.ParseAdditionalAmounts(de54)
	if err != nil || len(list) == 0 {
		return nil
	}
	v := list[0].Amount
	for _, a := range list {
		if a.AmountType == isospec.AmountTypeAvailable {
			v = a.Amount
			break
		}
	}
	return &v
}

// errInvalidAnswer marks an answer the terminal cannot trust (bad MAC, an
// approval without MAC, the wrong message type): it is handled as no answer.
var errInvalidAnswer = errors.New("pos: invalid answer from host")

// exchange MACs and sends a request and checks the answer.
func (t *Terminal) exchange(ctx context.Context, purpose string, v any) (*iso8583.Message, HostExchange) {
	x := HostExchange{Purpose: purpose}
	pl, packs := t.link.(packedLink)
	msg, err := isospec.Encode(v)
	var packed []byte
	if err == nil {
		if packs {
			packed, err = isospec.PackWithMAC(msg, t.macFunc)
		} else {
			err = isospec.SetMAC(msg, t.macFunc)
		}
	}
	x.Request = msg
	if err != nil {
		x.Err = fmt.Errorf("%w: %w", client.ErrNotSent, err)
		return nil, x
	}
	if t.o.Events != nil { // the summary is only for a listener
		t.emit(Event{Kind: EventHostSend, Text: isospec.Summary(msg), Message: msg})
	}
	begin := time.Now()
	var (
		resp  *iso8583.Message
		frame []byte
	)
	if packs {
		resp, frame, err = pl.Exchange(ctx, msg, packed, t.cfg.ResponseTimeout)
	} else {
		resp, err = t.link.Send(ctx, msg, t.cfg.ResponseTimeout)
	}
	x.Duration = time.Since(begin)
	x.Response = resp
	if err != nil {
		x.Err = err
		return nil, x
	}
	if t.o.Events != nil {
		t.emit(Event{Kind: EventHostReceive, Text: isospec.Summary(resp), Message: resp})
	}
	if err := t.validAnswer(msg, resp, frame); err != nil {
		x.Err = err
		return nil, x
	}
	return resp, x
}

// validAnswer checks that resp answers req and is authentic. A response
// carrying a MAC must verify under the TAK; a response without one is
// accepted only when it approves nothing (an acquirer that could not check
// the request may answer unauthenticated), since an unauthenticated
// approval could be forged.
func (t *Terminal) validAnswer(req, resp *iso8583.Message, frame []byte) error {
	reqMTI, _ := req.GetMTI()
	want, err := isospec.MTI(reqMTI).Response()
	if err != nil {
		return fmt.Errorf("%w: %w", errInvalidAnswer, err)
	}
	got, _ := resp.GetMTI()
	if isospec.MTI(got) != want {
		return fmt.Errorf("%w: message type %s answers a %s", errInvalidAnswer, got, reqMTI)
	}
	if err := isospec.Validate(resp); err != nil {
		return fmt.Errorf("%w: %w", errInvalidAnswer, err)
	}
	packed := frame
	if packed == nil {
		var err error
		if packed, err = isospec.Pack(resp); err != nil {
			return fmt.Errorf("%w: %w", errInvalidAnswer, err)
		}
	}
	rc, _ := resp.GetString(isospec.FieldResponseCode)
	if !hasMACField(resp) {
		if c := isospec.ResponseCode(rc); c.Approved() || c == isospec.RCPartialApproval {
			return fmt.Errorf("%w: approval without MAC", errInvalidAnswer)
		}
		return nil
	}
	if err := isospec.VerifyMAC(packed, t.verifyMAC); err != nil {
		return fmt.Errorf("%w: %w", errInvalidAnswer, err)
	}
	return nil
}

// hasMACField reports whether m carries field 64 or 128.
func hasMACField(m *iso8583.Message) bool {
	for _, id := range []int{isospec.FieldMAC, isospec.FieldMAC2} {
		if b, err := m.GetBytes(id); err == nil && len(b) > 0 {
			return true
		}
	}
	return false
}

// macFunc is ISO/IEC 9797-1 MAC algorithm 3 with padding method 1 (ANSI
// X9.19) under the TAK.
func (t *Terminal) macFunc(data []byte) ([]byte, error) {
	return mac.Alg3(t.cfg.TAK, data, mac.Method1)
}

func (t *Terminal) verifyMAC(data, m []byte) error {
	want, err := t.macFunc(data)
	if err != nil {
		return err
	}
	if !mac.Equal(want[:len(m)], m) {
		return errors.New("pos: MAC does not verify under the TAK")
	}
	return nil
}

// reverseTimedOut reverses req after it got no valid answer and sets the
// result's status and message.
func (t *Terminal) reverseTimedOut(ctx context.Context, res *Result, req *isospec.AuthorizationRequest, reason isospec.ResponseCode, authCode string) {
	rev, err := isospec.NewReversal(req, isospec.FormatSTAN(t.o.STAN.NextSTAN()), t.o.Clock(), reason, authCode)
	if err != nil {
		res.Status = StatusReversalPending
		res.Message = MsgReversalPending
		return
	}
	t.emit(Event{Kind: EventReversal, Text: "no answer from host: reversing STAN " + req.STAN})
	if t.sendReversal(ctx, res, &pendingReversal{req: *rev, purpose: "reversal"}) {
		res.Status = StatusReversed
		res.Message = MsgReversed
		return
	}
	res.Status = StatusReversalPending
	res.Message = MsgReversalPending
}

// sendReversal sends a reversal up to ReversalAttempts times, each with a
// fresh transmission time, and reports whether the acquirer answered it
// for good: approved (taken over) or refused with a code that sending it
// again does not change, in an answer it MACed. An unanswered reversal,
// one answered 96 or 91 (the acquirer or the issuer could not take it)
// and an unauthenticated answer keep it pending. The context's
// cancellation does not stop a reversal: it must go out.
func (t *Terminal) sendReversal(ctx context.Context, res *Result, p *pendingReversal) bool {
	ctx = context.WithoutCancel(ctx)
	for range t.cfg.ReversalAttempts {
		p.req.TransmissionDateTime = isospec.TransmissionDateTime(t.o.Clock())
		p.req.MAC = nil
		resp, x := t.exchange(ctx, p.purpose, &p.req)
		if res != nil {
			res.Exchanges = append(res.Exchanges, x)
			res.Timings.Host += x.Duration
		}
		if x.Err != nil {
			continue
		}
		rc, _ := resp.GetString(isospec.FieldResponseCode)
		code := isospec.ResponseCode(rc)
		switch {
		case !hasMACField(resp):
			// Anyone on the path could have said it.
			t.emit(Event{Kind: EventReversal, Text: p.purpose + " STAN " + p.req.STAN + " answered " + rc + " without a MAC: kept"})
		case code == isospec.RCSystemMalfunction || code == isospec.RCIssuerInoperative:
			t.emit(Event{Kind: EventReversal, Text: p.purpose + " STAN " + p.req.STAN + " answered " + rc + ": kept"})
		case code.Approved():
			t.emit(Event{Kind: EventReversal, Text: p.purpose + " STAN " + p.req.STAN + " acknowledged"})
			return true
		default:
			// Refused for good (12: it does not match its original):
			// sending it again would not change the answer.
			t.emit(Event{Kind: EventReversal, Text: p.purpose + " STAN " + p.req.STAN + " refused " + rc + ": dropped"})
			return true
		}
	}
	t.mu.Lock()
	t.pending = append(t.pending, p)
	t.mu.Unlock()
	t.emit(Event{Kind: EventReversal, Text: p.purpose + " STAN " + p.req.STAN + " pending"})
	return false
}

// FlushReversals sends the pending reversals again (each once per attempt
// allowed) and returns how many are still pending. The terminal also does
// it before each transaction.
func (t *Terminal) FlushReversals(ctx context.Context) int {
	if !t.busy.TryLock() {
		return t.PendingReversals()
	}
	defer t.busy.Unlock()
	return t.flush(ctx)
}

func (t *Terminal) flush(ctx context.Context) int {
	t.mu.Lock()
	todo := t.pending
	t.pending = nil
	t.mu.Unlock()
	for _, p := range todo {
		t.sendReversal(ctx, nil, p)
	}
	return t.PendingReversals()
}

// Void reverses an earlier approved transaction of this terminal (0400
// with field 90 naming the original), found in the journal by STAN or RRN.
// An unanswered void is kept pending like any reversal.
func (t *Terminal) Void(ctx context.Context, ref Ref) (*Result, error) {
	if !t.busy.TryLock() {
		return nil, ErrBusy
	}
	defer t.busy.Unlock()
	start := time.Now()
	t.flush(ctx)
	rec, err := t.o.Journal.Find(ref)
	if err != nil {
		return nil, err
	}
	if rec.Voided {
		return nil, fmt.Errorf("%w: %s", ErrAlreadyVoided, ref)
	}
	if rec.Request.PAN == "" {
		return nil, fmt.Errorf("%w: %s", ErrNoPAN, ref)
	}
	now := t.o.Clock()
	res := &Result{Kind: KindVoid, Amount: rec.Request.Amount, RRN: rec.Request.RRN, AuthCode: rec.AuthCode}
	defer func() { res.Timings.Total = time.Since(start) }()
	rev, err := isospec.NewReversal(&rec.Request, isospec.FormatSTAN(t.o.STAN.NextSTAN()), now, "", rec.AuthCode)
	if err != nil {
		return nil, fmt.Errorf("pos: void: %w", err)
	}
	res.STAN = rev.STAN
	res.Online = true
	t.display("Voiding STAN " + rec.Request.STAN)
	t.ui(kernel.UIRequest{Message: kernel.MsgProcessing, Status: kernel.StatusProcessing})
	rev.TransmissionDateTime = isospec.TransmissionDateTime(now)
	resp, x := t.exchange(ctx, "void", rev)
	res.Exchanges = append(res.Exchanges, x)
	res.Timings.Host += x.Duration
	switch {
	case x.Err == nil:
		var rr isospec.ReversalResponse
		_ = isospec.Decode(resp, &rr)
		res.ResponseCode = rr.ResponseCode
		if rr.PrivateData != "" {
			if p, err := isospec.ParsePrivateData(rr.PrivateData); err == nil {
				res.DeclineReason = p.DeclineReason
			}
		}
		if rr.ResponseCode.Approved() {
			res.Status = StatusApproved
			res.Message = MsgVoided
			_ = t.o.Journal.MarkVoided(rec.Request.STAN)
		} else {
			res.Status = StatusDeclined
			res.Message = MsgDeclined + ": " + rr.ResponseCode.Meaning()
		}
	case errors.Is(x.Err, client.ErrNotSent) && !errors.Is(x.Err, errInvalidAnswer):
		res.Status = StatusHostUnavailable
		res.Message = MsgHostUnavailable
	default:
		// Sent, unanswered: the void must reach the host, like any
		// reversal.
		p := &pendingReversal{req: *rev, purpose: "void"}
		if t.sendReversal(ctx, res, p) {
			res.Status = StatusApproved
			res.Message = MsgVoided
		} else {
			res.Status = StatusReversalPending
			res.Message = MsgVoidPending
		}
		_ = t.o.Journal.MarkVoided(rec.Request.STAN)
	}
	t.display(res.Message)
	if u, ok := endUI(res, 0); ok {
		t.ui(u)
	}
	if !t.o.NoReceipt && res.Status != StatusHostUnavailable {
		res.Receipt = receipt.Render(receipt.Data{
			Merchant:     t.merchantLine(),
			MerchantID:   t.cfg.MerchantID,
			TerminalID:   t.cfg.TerminalID,
			Time:         now,
			Kind:         receipt.Void,
			Amount:       rec.Request.Amount,
			Currency:     int(t.cfg.Kernel.Currency),
			Exponent:     t.cfg.Kernel.CurrencyExponent,
			PAN:          rec.Request.PAN,
			STAN:         res.STAN,
			RRN:          rec.Request.RRN,
			AuthCode:     rec.AuthCode,
			Approved:     res.Status == StatusApproved,
			ResponseCode: string(res.ResponseCode),
			ResponseText: res.ResponseMeaning(),
			Notes:        notesFor(res),
		})
	}
	return res, nil
}

// notesFor gives the receipt's extra lines for a result.
func notesFor(res *Result) []string {
	switch res.Status {
	case StatusReversed, StatusReversalPending:
		return []string{res.Message}
	}
	if res.DeclineReason != "" && res.Status == StatusDeclined {
		return []string{"Reason: " + string(res.DeclineReason)}
	}
	return nil
}
