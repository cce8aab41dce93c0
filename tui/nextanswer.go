package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rivo/tview"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/rules"
	"github.com/tapsim/tapsim/tui/model"
)

// NextAnswerRule names the rule the next-answer menu puts at the front of
// the acquirer's rules; it is logged as "rule next-answer fired: ...".
const NextAnswerRule = "next-answer"

// defaultNextDelay is the delay the menu offers before one is typed.
const defaultNextDelay = "3000"

// nextChoice is one line of the next-answer menu.
type nextChoice struct {
	label, short string
	// action is the rule's action; nil takes the pending answer back.
	action func(delay time.Duration) *rules.Action
}

func respond(rc isospec.ResponseCode) func(time.Duration) *rules.Action {
	return func(time.Duration) *rules.Action { return &rules.Action{Respond: rc} }
}

// nextChoices is the next-answer menu, in order.
var nextChoices = []nextChoice{
	{"51 insufficient funds", "51", respond(isospec.RCInsufficientFunds)},
	{"05 do not honour", "05", respond(isospec.RCDoNotHonour)},
	{"54 expired card", "54", respond(isospec.RCExpiredCard)},
	{"61 exceeds amount limit", "61", respond(isospec.RCExceedsAmountLimit)},
	{"62 restricted card", "62", respond(isospec.RCRestrictedCard)},
	{"91 issuer inoperative", "91", respond(isospec.RCIssuerInoperative)},
	{"01 refer to issuer", "01", respond(isospec.RCReferToIssuer)},
	{"10 partial approval (half)", "10 half", func(time.Duration) *rules.Action {
		return &rules.Action{Respond: isospec.RCPartialApproval, PartialPercent: 50}
	}},
	{"delay", "delay", func(d time.Duration) *rules.Action { return &rules.Action{Delay: d} }},
	{"no answer: the terminal times out and reverses", "no answer", func(time.Duration) *rules.Action { return &rules.Action{NoAnswer: true} }},
	{"normal answer (take the pending one back)", "", nil},
}

// openNextAnswer shows the next-answer menu.
func (a *App) openNextAnswer() {
	if a.b.NextAnswer == nil {
		a.m.Notice = "no embedded acquirer: the next answer cannot be forced"
		return
	}
	if a.m.NextDelay == "" {
		a.m.NextDelay = defaultNextDelay
	}
	a.m.Screen = model.ScreenNextAnswer
}

// setNextAnswer puts the chosen answer in front of the acquirer's rules
// for the next sale only, replacing one still pending.
func (a *App) setNextAnswer() {
	c := nextChoices[a.m.NextCursor]
	a.b.NextAnswer.Cancel()
	a.m.Screen = model.ScreenMain
	if c.action == nil {
		a.m.NextAnswer, a.m.Notice = "", "next answer: the host's normal answer"
		return
	}
	ms, err := strconv.Atoi(a.m.NextDelay)
	if err != nil || ms <= 0 {
		ms, _ = strconv.Atoi(defaultNextDelay)
	}
	act := c.action(time.Duration(ms) * time.Millisecond)
	a.b.NextAnswer.Once(&rules.Rule{Name: NextAnswerRule, Limit: 1, Action: *act,
		Match: rules.Match{MTI: []string{string(isospec.MTIAuthorizationRequest), string(isospec.MTIFinancialRequest)}, ProcessingCode: "00"}})
	a.m.NextAnswer = c.short
	a.m.Notice = "the next sale is answered: " + c.label
	if c.short == "delay" {
		a.m.NextAnswer = fmt.Sprintf("delay %d ms", ms)
		a.m.Notice = "the next sale is answered: " + a.m.NextAnswer + ", then the normal answer"
	}
}

// nextAnswerText is the next-answer menu.
func nextAnswerText(m *model.Model) string {
	var b strings.Builder
	b.WriteString("How the host answers the next sale (once):\n")
	for i, c := range nextChoices {
		mark := "  "
		if i == m.NextCursor {
			mark = "> "
		}
		label := c.label
		if strings.HasPrefix(label, "delay") {
			label = "delay [::u]" + tview.Escape(m.NextDelay) + "[::-] ms (type digits), then the normal answer"
		}
		b.WriteString(mark + label + "\n")
	}
	return b.String()
}
