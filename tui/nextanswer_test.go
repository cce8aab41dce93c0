package tui

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	emvkeys "github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/rules"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/pos"
)

// rulesLink is an acquirer link that answers as the rules of set say:
// their DE39 (a partial approval for half the amount, balance 0), MACed
// under the default TAK, or no answer; without a rule
// it declines 05. Reversals are answered 12, MACed: refused for good, so
// the terminal does not keep the reversal.
type rulesLink struct{ set *rules.Set }

func (l rulesLink) Send(_ context.Context, req *iso8583.Message, _ time.Duration) (*iso8583.Message, error) {
	mti, _ := req.GetMTI()
	switch isospec.MTI(mti) {
	case isospec.MTIAuthorizationRequest:
		var ar isospec.AuthorizationRequest
		if err := isospec.Decode(req, &ar); err != nil {
			return nil, err
		}
		rc := isospec.RCDoNotHonour
		if d, ok := l.set.Match(rules.Request{MTI: isospec.MTI(mti), ProcessingCode: string(ar.ProcessingCode), Amount: ar.Amount}); ok {
			if d.NoAnswer {
				return nil, fmt.Errorf("%w: timed out", client.ErrNoAnswer)
			}
			rc = d.Respond
		}
		resp, err := isospec.NewAuthorizationResponse(&ar, rc)
		if err != nil {
			return nil, err
		}
		if rc == isospec.RCPartialApproval {
			resp.Amount, resp.AuthCode = ar.Amount/2, "P00001"
			if resp.AdditionalAmounts, err = (isospec.AdditionalAmount{Currency: "901"}).Encode(); err != nil {
				return nil, err
			}
		}
		msg, err := isospec.Encode(resp)
		if err == nil {
			err = isospec.SetMAC(msg, func(data []byte) ([]byte, error) {
				return mac.Alg3(emvkeys.MustHex(emvkeys.TDES, pos.DefaultTAKHex), data, mac.Method1)
			})
		}
		return msg, err
	case isospec.MTIReversalRequest:
		var rr isospec.ReversalRequest
		if err := isospec.Decode(req, &rr); err != nil {
			return nil, err
		}
		resp, err := isospec.NewReversalResponse(&rr, isospec.RCInvalidTransaction)
		if err != nil {
			return nil, err
		}
		msg, err := isospec.Encode(resp)
		if err == nil {
			err = isospec.SetMAC(msg, func(data []byte) ([]byte, error) {
				return mac.Alg3(emvkeys.MustHex(emvkeys.TDES, pos.DefaultTAKHex), data, mac.Method1)
			})
		}
		return msg, err
	}
	return nil, fmt.Errorf("%w: %s", client.ErrNotSent, mti)
}

func rulesBackend(set *rules.Set) Backend {
	b := testBackend("visa-plastic")
	b.NextAnswer = set
	newTerm := b.NewTerminal
	b.NewTerminal = func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
		t, err := newTerm(cfg, o)
		if err != nil {
			return nil, err
		}
		c := t.Config()
		return pos.New(c, rulesLink{set}, o)
	}
	return b
}

// chooseNext picks line of the next-answer menu, which reads label.
func (r *rig) chooseNext(line int, label string) {
	r.t.Helper()
	r.keys("n")
	for range line {
		r.key(tcell.KeyDown)
	}
	r.wait("> " + label)
	r.key(tcell.KeyEnter)
	r.wait("the next sale is answered")
}

func TestGoldenNextAnswerForced51(t *testing.T) {
	set := rules.New(nil, rules.Options{})
	r := newRig(t, rulesBackend(set))
	r.chooseNext(0, "51 insufficient funds")
	r.keys("150000t")
	golden(t, "next-answer-51", r.wait("DECLINED", "DE39 51 insufficient funds", "Not Authorised", "ready"))
}

func TestGoldenNextAnswerNoAnswerReverses(t *testing.T) {
	set := rules.New(nil, rules.Options{})
	r := newRig(t, rulesBackend(set))
	r.chooseNext(9, "no answer")
	r.keys("150000t")
	s := r.wait("No answer from host", "Not Authorised", "ready")
	golden(t, "next-answer-no-answer", s)
	require.Contains(t, s, "REVERSED sale")
	require.Contains(t, s, "No answer from host: reversed")
}

func TestGoldenNextAnswerPartialApproval(t *testing.T) {
	set := rules.New(nil, rules.Options{})
	r := newRig(t, rulesBackend(set))
	r.chooseNext(7, "10 partial approval")
	r.keys("150000t")
	golden(t, "next-answer-partial", r.wait("APPROVED sale NT$750.00 of NT$1,500.00 requested", "Approved for a partial amount", "ready"))
}

// heldLink holds each request until release is closed, then answers as
// next does.
type heldLink struct {
	release chan struct{}
	next    rulesLink
}

func (l heldLink) Send(ctx context.Context, req *iso8583.Message, d time.Duration) (*iso8583.Message, error) {
	select {
	case <-l.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return l.next.Send(ctx, req, d)
}

// While the host has not answered the display says Authorising, Please
// Wait; then Not Authorised, the host's reason on the operator's side.
func TestGoldenDisplayWhileAuthorising(t *testing.T) {
	set := rules.New(nil, rules.Options{})
	release := make(chan struct{})
	b := rulesBackend(set)
	newTerm := b.NewTerminal
	b.NewTerminal = func(cfg *pos.Config, o pos.Options) (*pos.Terminal, error) {
		t, err := newTerm(cfg, o)
		if err != nil {
			return nil, err
		}
		return pos.New(t.Config(), heldLink{release: release, next: rulesLink{set}}, o)
	}
	r := newRig(t, b)
	r.keys("150000t")
	golden(t, "display-authorising", r.wait("Authorising, Please Wait", "in progress"))
	close(release)
	s := r.wait("Not Authorised", "DE39 05", "ready")
	require.NotContains(t, s, "Authorising")
}
