package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/client"
)

// sampleZAK is the sample network's zone MAC key between acquirer and
// issuer (a public test key, KCV E5DF32): the attacker on the issuer link
// of the direct rows holds it, as a compromised acquirer would.
const sampleZAK = "649783F2378020FEC7B95EFB52AE7010"

// tamperCard is one card type of the matrix with the tap that gets a
// genuine approval: an amount below the no-signature limit and, for a
// phone, the passcode that unlocks it (consumer-device CVM).
type tamperCard struct {
	profile  string
	passcode string
	token    bool // the PAN the terminal reads is a token
	bound    bool // the token is bound to the phone's device ID (R-S5d)
	cdcvm    bool // the genuine tap carries a verified CDCVM
	keys     int  // single-use keys the phone starts with (0: not an HCE phone)
}

var tamperCards = []tamperCard{
	{profile: "visa-plastic"},
	{profile: "mc-plastic"},
	{profile: "visa-se-phone", passcode: "5791", cdcvm: true},
	{profile: "mc-se-phone", passcode: "5791", cdcvm: true},
	{profile: "hce-phone", passcode: "5791", token: true, bound: true, cdcvm: true, keys: 5},
	{profile: "hce-phone-mc", passcode: "5791", token: true, bound: true, cdcvm: true, keys: 5},
	{profile: "wallet-phone", passcode: "2468", token: true, bound: true, cdcvm: true},
}

// tamperAmount is the genuine sale: NT$1,500.00, below the no-signature
// limit, so that no element but the one tampered with decides.
const tamperAmount = 150000

// advisory lists the elements of an 0100 the issuer does not rely on for
// its decision, with why: changing one of them may still be approved.
// Every other element, changed to a plausible other value by a terminal
// that knows its MAC key, must never be approved (R-G2, R-G4). The
// acquirer re-stamps DE7, DE11, DE32 and DE37 on the issuer link, and the
// terminal-facing MAC decides on DE41.
var advisory = map[string]string{
	"DE7":            "transmission date and time: message identity for duplicates and reversals, not a card fact",
	"DE11":           "STAN: message identity, not a card fact",
	"DE12":           "local time: the card signs the date (9A), not the time",
	"DE18":           "MCC: no control on these cards' accounts restricts it (a token domain with an MCC list would)",
	"DE25":           "POS condition code: the channel is taken from the entry mode for these cards",
	"DE32":           "acquiring institution: routing and reversal identity",
	"DE37":           "RRN: reference for the merchant and reversals",
	"DE41":           "terminal ID: the acquirer checks it through the terminal's MAC key; the issuer logs it",
	"DE42":           "merchant ID: no control on these cards restricts it (a token domain with a merchant list would)",
	"DE43":           "card acceptor name and location: for statements",
	"DE22":           "entry mode of a card that is not a token: both chip entry modes are accepted; a token's domain restricts it",
	"DE48 device":    "device ID claimed by the terminal for a card that is not device-bound: ignored",
	"DE48 requestor": "token requestor ID claimed for a card that is not a token: ignored",
	"DE48 CDCVM":     "a CDCVM claim the covered CVR agrees with (the phone did verify its cardholder)",
	"9F34":           "CVM Results: advisory; only a claim the CVR contradicts declines",
	"9F6C":           "Card Transaction Qualifiers: advisory; only a CDCVM claim the CVR contradicts declines",
	"9F66":           "Terminal Transaction Qualifiers: terminal capabilities, not covered by the cryptogram",
	"9F33":           "Terminal Capabilities: not covered by the cryptogram",
	"9F35":           "Terminal Type: not covered by the cryptogram",
	"9F1E":           "IFD serial number: not covered by the cryptogram",
	"9F09":           "application version number (terminal): not covered by the cryptogram",
	"9F6E":           "form factor indicator: advisory",
	"9F53":           "transaction category code: advisory",
	"9F41":           "transaction sequence counter (terminal): advisory",
	"84":             "DF name: the issuer finds the card by PAN",
	"4F":             "AID: the issuer finds the card by PAN",
	"50":             "application label: display only",
	"9F12":           "application preferred name: display only",
	"5F2D":           "language preference: display only",
	"9F7C":           "customer exclusive data: advisory",
	"9F19":           "token requestor ID in the card data: checked only for a token whose domain names its requestor",
	"9F21":           "transaction time: the card signs the date (9A), not the time",
	"9F06":           "AID (terminal): the issuer finds the card by PAN",
	"9F25":           "last 4 digits of the funding PAN (token data): display only",
	"9F7E":           "mobile support indicator: terminal capability, not covered by the cryptogram",
	"9F10 last byte": "issuer-discretionary tail of the IAD: covered only by the CVNs that MAC the whole IAD (visa18, visa22, aes); the device binding there is checked against the single-use key's device for HCE",
}

// tamperRow is one line of the matrix.
type tamperRow struct {
	card, element, host string
	code                isospec.ResponseCode
	reason              isospec.DeclineReason
}

// compromised is a terminal link in an attacker's hands: the terminal's
// own MAC key (and, on the issuer link, the zone MAC key) lets it rewrite
// each authorisation request and MAC it again before it leaves. Direct
// sends to the issuer host instead of the acquirer, as an attacker on the
// issuer link would.
type compromised struct {
	acq, iss  *client.Client
	tak, zak  keys.Key
	direct    bool
	directSTN int

	mu     sync.Mutex
	mutate func(r *isospec.AuthorizationRequest) error
	badMAC string // "", "none" or "wrong"
	sent   *isospec.AuthorizationRequest
	answer *isospec.AuthorizationResponse
}

func (c *compromised) Send(ctx context.Context, req *iso8583.Message, timeout time.Duration) (*iso8583.Message, error) {
	mti, _ := req.GetMTI()
	c.mu.Lock()
	mutate, badMAC, direct := c.mutate, c.badMAC, c.direct
	c.mu.Unlock()
	if mti != string(isospec.MTIAuthorizationRequest) {
		if direct {
			// The attacker sits on the issuer link: the terminal's own
			// reversals are not his business.
			return nil, fmt.Errorf("%w: not forwarded", client.ErrNotSent)
		}
		return c.acq.Send(ctx, req, timeout)
	}
	var ar isospec.AuthorizationRequest
	if err := isospec.Decode(req, &ar); err != nil {
		return nil, fmt.Errorf("%w: %w", client.ErrNotSent, err)
	}
	ar.MAC = nil
	if direct {
		// As the acquirer forwards it: its own STAN, no terminal PIN data.
		c.mu.Lock()
		c.directSTN++
		ar.STAN = fmt.Sprintf("%06d", 500000+c.directSTN)
		c.mu.Unlock()
	}
	if mutate != nil {
		if err := mutate(&ar); err != nil {
			return nil, fmt.Errorf("%w: %w", client.ErrNotSent, err)
		}
	}
	msg, err := isospec.Encode(&ar)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", client.ErrNotSent, err)
	}
	key := c.tak
	if direct {
		key = c.zak
	}
	switch badMAC {
	case "":
		err = isospec.SetMAC(msg, takMAC(key))
	case "wrong":
		other := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
		err = isospec.SetMAC(msg, takMAC(other))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", client.ErrNotSent, err)
	}
	link := c.acq
	if direct {
		link = c.iss
	}
	resp, err := link.Send(ctx, msg, timeout)
	var r isospec.AuthorizationResponse
	if err == nil {
		err = isospec.Decode(resp, &r)
	}
	c.mu.Lock()
	c.sent, c.answer = &ar, nil
	if err == nil {
		c.answer = &r
	}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if direct {
		// Hand the terminal an answer it accepts, so that it does not try
		// to reverse what the attacker did.
		if err := isospec.SetMAC(resp, takMAC(c.tak)); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// result is the host's answer to the last authorisation sent.
func (c *compromised) result() (*isospec.AuthorizationRequest, *isospec.AuthorizationResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent, c.answer
}

// mutation is one tampered element: apply changes the request as it
// leaves; it reports false when the element is absent (the row is
// skipped).
type mutation struct {
	element string
	apply   func(r *isospec.AuthorizationRequest) (bool, error)
	badMAC  string
}

// deMutations are the data-element changes, each to a plausible other
// value.
func deMutations(c tamperCard) []mutation {
	set := func(name string, f func(r *isospec.AuthorizationRequest) bool) mutation {
		return mutation{element: name, apply: func(r *isospec.AuthorizationRequest) (bool, error) { return f(r), nil }}
	}
	private := func(name string, f func(p *isospec.PrivateData)) mutation {
		return mutation{element: name, apply: func(r *isospec.AuthorizationRequest) (bool, error) {
			var p isospec.PrivateData
			if r.PrivateData != "" {
				var err error
				if p, err = isospec.ParsePrivateData(r.PrivateData); err != nil {
					return false, err
				}
			}
			f(&p)
			s, err := p.Encode()
			r.PrivateData = s
			return true, err
		}}
	}
	return []mutation{
		set("DE2", func(r *isospec.AuthorizationRequest) bool {
			if r.PAN == "" {
				return false
			}
			r.PAN = otherPAN(r.PAN)
			return true
		}),
		set("DE3 refund", func(r *isospec.AuthorizationRequest) bool { r.ProcessingCode = isospec.ProcRefund; return true }),
		set("DE4 NT$2,900", func(r *isospec.AuthorizationRequest) bool { r.Amount = 290000; return true }),
		set("DE4 NT$0.01", func(r *isospec.AuthorizationRequest) bool { r.Amount = 1; return true }),
		set("DE7", func(r *isospec.AuthorizationRequest) bool {
			r.TransmissionDateTime = shiftDE7(r.TransmissionDateTime)
			return true
		}),
		set("DE11", func(r *isospec.AuthorizationRequest) bool { r.STAN = "777777"; return true }),
		set("DE12", func(r *isospec.AuthorizationRequest) bool {
			if r.LocalTime == "" {
				return false
			}
			r.LocalTime = "235959"
			return true
		}),
		set("DE13 two days off", func(r *isospec.AuthorizationRequest) bool {
			if r.LocalDate == "" {
				return false
			}
			r.LocalDate = shiftMMDD(r.LocalDate, -2)
			return true
		}),
		set("DE14", func(r *isospec.AuthorizationRequest) bool {
			if r.Expiry == "" {
				return false
			}
			r.Expiry = otherExpiry(r.Expiry)
			return true
		}),
		set("DE18", func(r *isospec.AuthorizationRequest) bool { r.MCC = "7995"; return true }),
		set("DE22", func(r *isospec.AuthorizationRequest) bool { r.POSEntryMode = "051"; return true }),
		set("DE23", func(r *isospec.AuthorizationRequest) bool {
			if r.CardSequenceNumber == "" {
				return false
			}
			r.CardSequenceNumber = "009"
			return true
		}),
		set("DE25", func(r *isospec.AuthorizationRequest) bool { r.POSConditionCode = "59"; return true }),
		set("DE32", func(r *isospec.AuthorizationRequest) bool { r.AcquirerID = "999999"; return true }),
		set("DE35", func(r *isospec.AuthorizationRequest) bool {
			if r.Track2 == "" {
				return false
			}
			p, exp, rest, err := isospec.SplitTrack2(r.Track2)
			if err != nil {
				return false
			}
			r.Track2 = p + "=" + otherExpiry(exp) + rest
			return true
		}),
		set("DE37", func(r *isospec.AuthorizationRequest) bool { r.RRN = "633100999999"; return true }),
		set("DE41", func(r *isospec.AuthorizationRequest) bool { r.TerminalID = "T0000002"; return true }),
		set("DE42", func(r *isospec.AuthorizationRequest) bool { r.MerchantID = "000000000000999"; return true }),
		set("DE43", func(r *isospec.AuthorizationRequest) bool {
			loc, err := isospec.CardAcceptorLocation{Name: "OTHER STORE", City: "TAINAN", Country: "TW"}.Encode()
			r.CardAcceptor = loc
			return err == nil
		}),
		private("DE48 CDCVM", func(p *isospec.PrivateData) { p.CDCVM = true }),
		private("DE48 device", func(p *isospec.PrivateData) { p.DeviceID = "0102030405060708" }),
		private("DE48 requestor", func(p *isospec.PrivateData) { p.TokenRequestorID = "40000000099" }),
		set("DE49", func(r *isospec.AuthorizationRequest) bool { r.Currency = "840"; return true }),
		{element: "DE64 none", badMAC: "none"},
		{element: "DE64 wrong", badMAC: "wrong"},
	}
}

// tagMutation changes one tag of DE55 to a plausible other value: a CVM
// claim where the tag carries one, else the last bit of its value flipped.
func tagMutation(tag tlv.Tag) mutation {
	name := fmt.Sprintf("%X", uint32(tag))
	return mutation{element: name, apply: func(r *isospec.AuthorizationRequest) (bool, error) {
		l, err := tlv.Decode(r.ICCData)
		if err != nil {
			return false, err
		}
		found := false
		for i := range l {
			if l[i].Tag != tag || len(l[i].Value) == 0 {
				continue
			}
			v := bytes.Clone(l[i].Value)
			switch {
			case tag == 0x9F34 && len(v) == 3:
				v = []byte{0x01, 0x00, 0x02} // "on-device CVM, successful"
			case tag == 0x9F6C && len(v) == 2:
				v[1] ^= 0x80 // "consumer device CVM performed" toggled
			case tag == 0x9F27:
				v[0] = 0x40 // a TC instead of the ARQC
			default:
				v[len(v)-1] ^= 0x01
			}
			l[i].Value = v
			found = true
		}
		if !found {
			return false, nil
		}
		r.ICCData, err = l.Encode()
		return true, err
	}}
}

// iadMutation flips the low bit of byte at of 9F10 (-1: the last byte).
func iadMutation(name string, at int) mutation {
	return mutation{element: name, apply: func(r *isospec.AuthorizationRequest) (bool, error) {
		l, err := tlv.Decode(r.ICCData)
		if err != nil {
			return false, err
		}
		for i := range l {
			if l[i].Tag != 0x9F10 {
				continue
			}
			v := bytes.Clone(l[i].Value)
			j := at
			if j < 0 {
				j = len(v) - 1
			}
			if j >= len(v) {
				return false, nil
			}
			v[j] ^= 0x01
			l[i].Value = v
			r.ICCData, err = l.Encode()
			return true, err
		}
		return false, nil
	}}
}

// The tamper matrix (R-G2, R-G4, R-S2d, R-S2e, R-S5b, R-S5d): for a
// genuine 0100 of each card type, a terminal that knows its MAC key (or an
// attacker on the issuer link with the zone MAC key) changes one data
// element or one DE55 tag to a plausible other value, MACs the message
// again and sends it to the acquirer, and in another run straight to the
// issuer host. Nothing is approved unless the element is one the issuer
// does not rely on (advisory); without a MAC, or with a wrong one, nothing
// is approved anywhere. Every row starts from a fresh tap, so that no
// decision hides behind a replay check. Run with -v to print the matrix;
// TAPSIM_TAMPER_REPORT=FILE writes it to a file.
func TestTamperMatrix(t *testing.T) {
	var (
		rows []tamperRow
		mu   sync.Mutex
	)
	for _, tc := range tamperCards {
		for _, direct := range []bool{false, true} {
			host := "acquirer"
			if direct {
				host = "issuer"
			}
			t.Run(tc.profile+"/"+host, func(t *testing.T) {
				got := tamperRun(t, tc, direct)
				mu.Lock()
				rows = append(rows, got...)
				mu.Unlock()
			})
		}
	}
	report := formatMatrix(rows)
	t.Log("\n" + report)
	if f := os.Getenv("TAPSIM_TAMPER_REPORT"); f != "" {
		require.NoError(t, os.WriteFile(f, []byte(report), 0o600))
	}
}

// tamperRun runs every mutation of one card type against one host and
// checks the answers.
func tamperRun(t *testing.T, tc tamperCard, direct bool) []tamperRow {
	host := "acquirer"
	if direct {
		host = "issuer"
	}
	var (
		h     *hosts
		link  *compromised
		term  *terminal
		left  int
		taps  int
		rows  []tamperRow
		holdr = newCardholder()
	)
	// fresh starts a new network and a new card: an HCE phone holds a few
	// single-use keys, so it gets a fresh issuer (and phone) when they run
	// out.
	fresh := func() {
		if h != nil {
			h.acquirer.stop()
			h.issuer.stop()
		}
		// The acquirer waits long for the issuer: a busy machine must not
		// turn a row into a 91.
		h = startHostsTimeout(t, 20*time.Second)
		acq := client.New(h.acquirer.addr, client.Options{})
		iss := client.New(h.issuer.addr, client.Options{})
		t.Cleanup(func() { acq.Close(); iss.Close() })
		link = &compromised{acq: acq, iss: iss, zak: keys.MustHex(keys.TDES, sampleZAK), direct: direct}
		term = newTerminalOn(t, link, holdr.now)
		link.tak = term.t.Config().TAK
		holdr.at(h.issuerDir)
		holdr.card(t, tc.profile, true)
		delete(holdr.cards, tc.profile)
		holdr.card(t, tc.profile, false)
		left = tc.keys
	}
	fresh()
	tap := func(m *mutation) (*isospec.AuthorizationRequest, *isospec.AuthorizationResponse) {
		t.Helper()
		if tc.keys > 0 && left == 0 {
			fresh()
		}
		left--
		taps++
		applied := true
		link.mu.Lock()
		link.mutate, link.badMAC = nil, ""
		if m != nil {
			link.badMAC = m.badMAC
			if m.apply != nil {
				link.mutate = func(r *isospec.AuthorizationRequest) error {
					ok, err := m.apply(r)
					applied = ok
					return err
				}
			}
		}
		link.sent, link.answer = nil, nil
		link.mu.Unlock()
		term.sell(t, holdr.card(t, tc.profile, false), tamperAmount, tc.passcode, "")
		sent, answer := link.result()
		if !applied {
			return nil, nil
		}
		require.NotNil(t, sent, "the terminal sent an authorisation")
		return sent, answer
	}

	// The genuine tap is approved, and tells which tags DE55 carries.
	sent, answer := tap(nil)
	require.NotNil(t, answer, "the %s answered the genuine tap", host)
	require.Equal(t, isospec.RCApproved, answer.ResponseCode, "genuine %s tap at the %s: %s", tc.profile, host, reasonOf(answer))
	rows = append(rows, tamperRow{card: tc.profile, element: "(genuine)", host: host, code: answer.ResponseCode})
	icc, err := tlv.Decode(sent.ICCData)
	require.NoError(t, err)

	muts := deMutations(tc)
	for _, o := range icc {
		if o.Tag == 0x9F10 {
			// Issuer Application Data: a bit of the CVR, which every CVN's
			// cryptogram covers, and its last byte, which only some cover.
			muts = append(muts, iadMutation("9F10 CVR", 4), iadMutation("9F10 last byte", -1))
			continue
		}
		muts = append(muts, tagMutation(o.Tag))
	}
	for i := range muts {
		m := &muts[i]
		_, answer := tap(m)
		if answer == nil {
			// The element is absent from this card's request, or the
			// acquirer refused to forward and nobody answered: recorded as
			// no approval.
			if m.apply != nil {
				continue
			}
		}
		row := tamperRow{card: tc.profile, element: m.element, host: host, code: "--"}
		if answer != nil {
			row.code, row.reason = answer.ResponseCode, reasonOf(answer)
		}
		rows = append(rows, row)
		if row.code == isospec.RCApproved {
			if _, ok := mayApprove(tc, m.element); !ok {
				t.Errorf("%s: %s changed at the %s was approved, but the issuer relies on it", tc.profile, m.element, host)
			}
		}
	}
	t.Logf("%s at the %s: %d taps", tc.profile, host, taps)
	return rows
}

// mayApprove reports whether a change of element may still be approved
// for card c, and why.
func mayApprove(c tamperCard, element string) (string, bool) {
	switch element {
	case "DE64 none", "DE64 wrong":
		return "", false
	case "DE22", "DE25":
		if c.token {
			return "", false // the token's domain restricts the channel
		}
	case "DE48 device":
		if c.bound {
			return "", false
		}
	case "DE48 requestor":
		if c.token {
			return "", false
		}
	case "DE48 CDCVM", "9F34", "9F6C":
		if !c.cdcvm {
			// A claim of cardholder verification the cryptogram's CVR
			// contradicts (R-S2d, R-S2e).
			return "", false
		}
	}
	why, ok := advisory[element]
	return why, ok
}

// reasonOf is the decline reason of an answer's DE48, if any.
func reasonOf(r *isospec.AuthorizationResponse) isospec.DeclineReason {
	if r == nil || r.PrivateData == "" {
		return ""
	}
	p, err := isospec.ParsePrivateData(r.PrivateData)
	if err != nil {
		return ""
	}
	return p.DeclineReason
}

// formatMatrix prints the rows as a table, one line per element and host.
func formatMatrix(rows []tamperRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %-16s %-9s %-4s %s\n", "card", "element", "host", "DE39", "reason")
	approved := 0
	for _, r := range rows {
		fmt.Fprintf(&b, "%-14s %-16s %-9s %-4s %s\n", r.card, r.element, r.host, r.code, r.reason)
		if r.code == isospec.RCApproved && r.element != "(genuine)" {
			approved++
		}
	}
	fmt.Fprintf(&b, "%d rows, %d tampered rows approved (each on the advisory list)\n", len(rows), approved)
	return b.String()
}

// otherPAN is another PAN of the same BIN with a valid check digit.
func otherPAN(p string) string {
	b := []byte(p)
	i := len(b) - 3
	b[i] = '0' + (b[i]-'0'+1)%10
	body := string(b[:len(b)-1])
	for d := byte('0'); d <= '9'; d++ {
		if pan.LuhnValid(body + string(d)) {
			return body + string(d)
		}
	}
	return p
}

// otherExpiry is a year later.
func otherExpiry(yymm string) string {
	if len(yymm) != 4 {
		return yymm
	}
	y := (int(yymm[0]-'0')*10 + int(yymm[1]-'0') + 1) % 100
	return fmt.Sprintf("%02d%s", y, yymm[2:])
}

// shiftMMDD moves an MMDD date by days (in the current year).
func shiftMMDD(mmdd string, days int) string {
	d, err := time.Parse("0102", mmdd)
	if err != nil {
		return mmdd
	}
	d = time.Date(time.Now().Year(), d.Month(), d.Day(), 12, 0, 0, 0, time.UTC).AddDate(0, 0, days)
	return d.Format("0102")
}

// shiftDE7 moves an MMDDhhmmss time by an hour.
func shiftDE7(s string) string {
	d, err := time.Parse("0102150405", s)
	if err != nil {
		return s
	}
	return d.Add(time.Hour).Format("0102150405")
}
