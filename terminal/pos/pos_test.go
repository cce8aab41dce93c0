package pos_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/dukpt"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/terminal/client"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pinpad"
	"github.com/tapsim/tapsim/terminal/pos"
	"github.com/tapsim/tapsim/terminal/receipt"
)

func decodeAuth(t *testing.T, m *iso8583.Message) isospec.AuthorizationRequest {
	t.Helper()
	mti, _ := m.GetMTI()
	require.Equal(t, "0100", mti)
	var ar isospec.AuthorizationRequest
	require.NoError(t, isospec.Decode(m, &ar))
	return ar
}

func decodeReversal(t *testing.T, m *iso8583.Message) isospec.ReversalRequest {
	t.Helper()
	mti, _ := m.GetMTI()
	require.Equal(t, "0400", mti)
	var rr isospec.ReversalRequest
	require.NoError(t, isospec.Decode(m, &rr))
	return rr
}

// movingClock is a clock a test sets between transactions.
type movingClock struct {
	mu  sync.Mutex
	now time.Time
}

// Now is the time set last.
func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *movingClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// A terminal's transactions run on one Entry Point: each carries its own
// date and time, in the message and in the data the card signed.
func TestConsecutiveSalesTheirOwnDates(t *testing.T) {
	clock := &movingClock{now: testNow}
	r := newRig(t, approveAll, pos.Options{Clock: clock.Now})
	card := newCard(t, "visa-plastic")
	for i, want := range []struct{ de7, date string }{{"1124132010", "261124"}, {"1126012010", "261126"}} {
		clock.Set(testNow.Add(time.Duration(i) * 36 * time.Hour))
		res, err := r.term.Sale(context.Background(), 150000+int64(i), inproc.New(card))
		require.NoError(t, err)
		require.Equal(t, pos.StatusApproved, res.Status, res.String())
		reqs := r.acq.waitRequests(t, i+1)
		ar := decodeAuth(t, reqs[i])
		require.Equal(t, want.de7, ar.TransmissionDateTime)
		require.Equal(t, int64(150000+i), ar.Amount)
		icc, err := tlv.Decode(ar.ICCData)
		require.NoError(t, err)
		date, ok := icc.Find(0x9A)
		require.True(t, ok)
		require.Equal(t, want.date, hex.EncodeToString(date.Value), "9A of sale %d", i+1)
	}
}

// A sale below the no-signature limit: the request carries the chip data,
// no PIN, and the MAC verifies under the TAK.
func TestSaleNoCVMRequestFields(t *testing.T) {
	r := newRig(t, approveAll, pos.Options{})
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status, res.String())
	require.Equal(t, pos.MsgApproved, res.Message)
	require.Equal(t, isospec.RCApproved, res.ResponseCode)
	require.Equal(t, "A1B2C3", res.AuthCode)
	require.Equal(t, kernel.CVMNone, res.Outcome.CVM)
	require.True(t, res.Online)
	require.False(t, res.PINEntered)
	require.Equal(t, 1, res.Taps)

	reqs, macErrs := r.acq.received()
	require.Len(t, reqs, 1)
	require.NoError(t, macErrs[0], "MAC verifies under the TAK")
	require.NoError(t, isospec.Validate(reqs[0]))
	ar := decodeAuth(t, reqs[0])
	require.Equal(t, "4761739001010010", ar.PAN)
	require.Equal(t, isospec.ProcPurchase, ar.ProcessingCode)
	require.Equal(t, int64(150000), ar.Amount)
	require.Equal(t, "1124132010", ar.TransmissionDateTime, "DE7 is UTC")
	require.Equal(t, "000001", ar.STAN)
	require.Equal(t, "212010", ar.LocalTime)
	require.Equal(t, "1124", ar.LocalDate)
	require.Equal(t, "2912", ar.Expiry)
	require.Equal(t, "5411", ar.MCC)
	require.Equal(t, isospec.POSEntryMode("071"), ar.POSEntryMode)
	require.True(t, ar.POSEntryMode.ContactlessChip())
	require.Equal(t, "001", ar.CardSequenceNumber)
	require.Equal(t, "00", ar.POSConditionCode)
	require.Equal(t, pos.DefaultAcquirerID, ar.AcquirerID)
	require.True(t, strings.HasPrefix(ar.Track2, "4761739001010010=2912"), "DE35 from tag 57")
	require.Equal(t, "632821000001", ar.RRN)
	require.Equal(t, "T0000001", ar.TerminalID)
	require.Equal(t, "000000000000001", ar.MerchantID)
	loc, err := isospec.ParseCardAcceptorLocation(ar.CardAcceptor)
	require.NoError(t, err)
	require.Equal(t, isospec.CardAcceptorLocation{Name: "TAPSIM STORE", City: "TAIPEI", Country: "TW"}, loc)
	require.Equal(t, "901", ar.Currency)
	require.Empty(t, ar.PINBlock, "no DE52 without online PIN")
	require.Empty(t, ar.SecurityControl, "no DE53 without online PIN")
	require.Len(t, ar.MAC, 8)

	icc, err := tlv.Decode(ar.ICCData)
	require.NoError(t, err)
	for _, tag := range []tlv.Tag{0x9F26, 0x9F27, 0x9F10, 0x9F36, 0x9F37, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A} {
		_, ok := icc.Find(tag)
		require.True(t, ok, "DE55 carries %X", uint32(tag))
	}
	for _, tag := range []tlv.Tag{0x5A, 0x57, 0x5F24, 0x5F20} {
		_, ok := icc.Find(tag)
		require.False(t, ok, "DE55 leaves %X to its own field", uint32(tag))
	}
	// DE55 holds what the kernel's data record holds.
	for _, tag := range []tlv.Tag{0x9F26, 0x9F36, 0x9F37, 0x9F02, 0x95} {
		got, _ := icc.Find(tag)
		require.Equal(t, res.Outcome.Record(tag), got.Value)
	}
	got, _ := icc.Find(0x9F37)
	require.Equal(t, []byte{0x12, 0x34, 0x56, 0x78}, got.Value)
	got, _ = icc.Find(0x9F02)
	require.Equal(t, []byte{0, 0, 0, 0x15, 0, 0}, got.Value)

	require.Contains(t, res.Receipt, receipt.LineNoSignature)
	require.Contains(t, res.Receipt, "476173******0010")
	require.Contains(t, res.Receipt, "AUTH CODE                         A1B2C3")
	require.Len(t, res.Exchanges, 1)
	require.Contains(t, res.Exchanges[0].Describe(), "476173******0010")
}

// A terminal without receipts (and without an event listener, as the load
// generator's) approves the same sale and prints nothing.
func TestSaleNoReceipt(t *testing.T) {
	r := newRigEvents(t, approveAll, pos.Options{NoReceipt: true}, false)
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status, res.String())
	require.Equal(t, "A1B2C3", res.AuthCode)
	require.Empty(t, res.Receipt)
	reqs, macErrs := r.acq.received()
	require.Len(t, reqs, 1)
	require.NoError(t, macErrs[0], "MAC verifies under the TAK")
}

// Online PIN: DE52 and DE53 are present and the PIN block decrypts under
// the DUKPT PIN key of that KSN (derived from the BDK as the acquirer's
// security module does) to the PIN typed, bound to the PAN.
func TestSaleOnlinePIN(t *testing.T) {
	for _, tc := range []struct {
		card, pan string
	}{
		{"visa-plastic", "4761739001010010"},
		{"mc-plastic", "5413330089010012"},
	} {
		t.Run(tc.card, func(t *testing.T) {
			keypad := pinpad.NewScript("1234")
			r := newRig(t, approveAll, pos.Options{Keypad: keypad})
			res, err := r.term.Sale(context.Background(), 350000, inproc.New(newCard(t, tc.card)))
			require.NoError(t, err)
			require.Equal(t, pos.StatusApproved, res.Status, res.String())
			require.Equal(t, kernel.CVMOnlinePIN, res.Outcome.CVM)
			require.True(t, res.PINEntered)
			require.Equal(t, "FFFF9876543210E00001", res.KSN)
			require.Len(t, keypad.Prompts(), 1)
			require.Contains(t, keypad.Prompts()[0].String(), "TWD 3,500.00")
			require.Contains(t, keypad.Prompts()[0].MaskedPAN, "******")

			reqs, macErrs := r.acq.received()
			require.Len(t, reqs, 1)
			require.NoError(t, macErrs[0])
			ar := decodeAuth(t, reqs[0])
			require.Len(t, ar.PINBlock, 8)
			require.Equal(t, "FFFF9876543210E00001", strings.ToUpper(hex.EncodeToString(ar.SecurityControl)))
			pk, err := dukpt.HostWorkingKey(testBDK, ar.SecurityControl, dukpt.VariantPIN)
			require.NoError(t, err)
			clear, err := pin.Decrypt(pk, ar.PINBlock)
			require.NoError(t, err)
			got, err := pin.Decode(pin.Format0, clear, tc.pan)
			require.NoError(t, err)
			require.Equal(t, "1234", got)

			require.Contains(t, res.Receipt, receipt.LinePIN)
			require.NotContains(t, res.Receipt, receipt.LineNoSignature)
			require.Equal(t, "FFFF9876543210E00002", r.term.NextKSN().String())
		})
	}
}

func TestSaleSignatureReceipt(t *testing.T) {
	r := newRig(t, approveAll, pos.Options{})
	res, err := r.term.Sale(context.Background(), 350000, inproc.New(newCard(t, "visa-plastic-cvn10")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status, res.String())
	require.Equal(t, kernel.CVMSignature, res.Outcome.CVM)
	require.Equal(t, pos.MsgApprovedSign, res.Message)
	require.Contains(t, res.Receipt, receipt.LineSignature)
	require.Contains(t, res.Receipt, "CARDHOLDER SIGNATURE")
	require.NotContains(t, res.Receipt, receipt.LineNoSignature)
}

// "See Phone": the locked phone answers the first tap with a request to
// verify on the phone; the presenter unlocks it and presents it again, and
// the second tap goes online with CDCVM (R-S2e).
func TestSeePhoneSecondTap(t *testing.T) {
	for _, name := range []string{"hce-phone", "visa-se-phone", "hce-phone-mc"} {
		t.Run(name, func(t *testing.T) {
			card := newCard(t, name)
			reader := inproc.New(card)
			r := newRig(t, approveAll, pos.Options{
				Presenter: pos.PhonePresenter{Reader: reader, Card: card, Passcode: "5791"},
			})
			res, err := r.term.Sale(context.Background(), 350000, reader)
			require.NoError(t, err)
			require.Equal(t, 2, res.Taps)
			require.Equal(t, pos.StatusApproved, res.Status, res.String())
			require.Equal(t, kernel.CVMConfirmationCode, res.Outcome.CVM)
			require.Contains(t, res.Receipt, receipt.LineDevice)
			require.Contains(t, strings.Join(r.eventTexts(), "\n"), kernel.MsgSeePhone.String())

			reqs, _ := r.acq.received()
			require.Len(t, reqs, 1)
			ar := decodeAuth(t, reqs[0])
			pd, err := isospec.ParsePrivateData(ar.PrivateData)
			require.NoError(t, err)
			require.True(t, pd.CDCVM, "DE48 says the phone verified the holder")
			require.Empty(t, ar.PINBlock)
		})
	}
}

// Without a way to unlock the phone, the transaction ends on the phone's
// message and nothing is sent.
func TestSeePhoneNotPresented(t *testing.T) {
	card := newCard(t, "hce-phone")
	reader := inproc.New(card)
	r := newRig(t, approveAll, pos.Options{Presenter: pos.PhonePresenter{Reader: reader, Card: card}})
	res, err := r.term.Sale(context.Background(), 150000, reader)
	require.NoError(t, err)
	require.Equal(t, pos.StatusNotCompleted, res.Status)
	require.Equal(t, kernel.MsgSeePhone.String(), res.Message)
	require.Equal(t, 1, res.Taps)
	require.Empty(t, res.Receipt)
	reqs, _ := r.acq.received()
	require.Empty(t, reqs)

	// No presenter at all: same.
	r2 := newRig(t, approveAll, pos.Options{})
	res, err = r2.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "hce-phone")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusNotCompleted, res.Status)
}

// The host declines with a reason in the private field.
func TestSaleDeclinedWithReason(t *testing.T) {
	r := newRig(t, func(req *iso8583.Message) *iso8583.Message {
		return answer(req, isospec.RCInsufficientFunds, isospec.ReasonInsufficientFunds)
	}, pos.Options{})
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusDeclined, res.Status)
	require.Equal(t, isospec.RCInsufficientFunds, res.ResponseCode)
	require.Equal(t, "insufficient funds", res.ResponseMeaning())
	require.Equal(t, isospec.ReasonInsufficientFunds, res.DeclineReason)
	require.Empty(t, res.AuthCode)
	require.Contains(t, res.Receipt, "DECLINED")
	require.Contains(t, res.Receipt, "INSUFFICIENT FUNDS")
	require.NotContains(t, res.Receipt, receipt.LineNoSignature)
	require.Contains(t, res.String(), "reason insufficient_funds")
}

// No answer in time: the terminal reverses on its own with a 0400 carrying
// DE90 (the original's MTI, STAN, transmission time and acquirer) and DE39
// 68, MACed in DE128.
func TestTimeoutReverses(t *testing.T) {
	r := newRig(t, func(req *iso8583.Message) *iso8583.Message {
		if mti, _ := req.GetMTI(); mti == "0100" {
			return nil // silent
		}
		return approveAll(req)
	}, pos.Options{})
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusReversed, res.Status, res.String())
	require.Equal(t, pos.MsgReversed, res.Message)
	require.Equal(t, "No answer from host: reversed", res.Message)
	require.Contains(t, res.Receipt, "NO ANSWER FROM HOST: REVERSED")
	require.Contains(t, res.Receipt, "DECLINED")
	require.Len(t, res.Exchanges, 2)
	require.ErrorIs(t, res.Exchanges[0].Err, client.ErrNoAnswer)

	reqs, macErrs := r.acq.received()
	require.Len(t, reqs, 2)
	orig := decodeAuth(t, reqs[0])
	rev := decodeReversal(t, reqs[1])
	require.NoError(t, macErrs[1], "the reversal's MAC verifies")
	require.Len(t, rev.MAC, 8)
	require.Equal(t, isospec.FieldMAC2, isospec.MACField(reqs[1]), "DE128 with a secondary bitmap")
	require.NoError(t, isospec.Validate(reqs[1]))
	od, err := isospec.ParseOriginalData(rev.OriginalData)
	require.NoError(t, err)
	require.Equal(t, isospec.OriginalData{
		MTI: "0100", STAN: orig.STAN, TransmissionDateTime: orig.TransmissionDateTime, AcquirerID: orig.AcquirerID,
	}, od)
	require.Equal(t, isospec.RCResponseTooLate, rev.ResponseCode)
	require.Equal(t, "000002", rev.STAN, "a reversal has its own STAN")
	require.Equal(t, orig.PAN, rev.PAN)
	require.Equal(t, orig.Amount, rev.Amount)
	require.Equal(t, orig.RRN, rev.RRN)
	require.Empty(t, rev.ICCData)
	require.Equal(t, 0, r.term.PendingReversals())
}

// A reversal that gets no answer either stays pending and goes out before
// the next transaction.
func TestReversalPendingThenFlushed(t *testing.T) {
	var silent atomic.Bool
	silent.Store(true)
	r := newRig(t, func(req *iso8583.Message) *iso8583.Message {
		if silent.Load() {
			return nil
		}
		return approveAll(req)
	}, pos.Options{})
	res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusReversalPending, res.Status)
	require.Equal(t, pos.MsgReversalPending, res.Message)
	require.Equal(t, 1, r.term.PendingReversals())
	reqs := r.acq.waitRequests(t, 3)
	require.Len(t, reqs, 3, "0100 then the reversal twice (two attempts)")
	first := decodeReversal(t, reqs[1])
	second := decodeReversal(t, reqs[2])
	require.Equal(t, first.STAN, second.STAN, "a repeated reversal keeps its STAN")
	require.Equal(t, first.OriginalData, second.OriginalData)

	silent.Store(false)
	res, err = r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status)
	require.Equal(t, 0, r.term.PendingReversals())
	reqs, _ = r.acq.received()
	require.Len(t, reqs, 5)
	flushed := decodeReversal(t, reqs[3])
	require.Equal(t, first.OriginalData, flushed.OriginalData, "the pending reversal goes before the new sale")
	decodeAuth(t, reqs[4])
}

// What the acquirer answers a reversal decides whether the terminal keeps
// it: a 96 (it could not keep it) leaves it pending, sent again at each
// attempt; a MACed refusal for good (12) drops it after one send.
func TestReversalAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rc       isospec.ResponseCode
		reason   isospec.DeclineReason
		status   pos.Status
		pending  int
		requests int // the 0100 and the 0400s
	}{
		{"96 kept", isospec.RCSystemMalfunction, isospec.ReasonSystemError, pos.StatusReversalPending, 1, 3},
		{"12 dropped", isospec.RCInvalidTransaction, "reversal_mismatch", pos.StatusReversed, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(req *iso8583.Message) *iso8583.Message {
				switch mti, _ := req.GetMTI(); mti {
				case "0100":
					return nil // silent: the terminal reverses
				case "0400":
					return answer(req, tc.rc, tc.reason)
				}
				return approveAll(req)
			}, pos.Options{})
			res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
			require.NoError(t, err)
			require.Equal(t, tc.status, res.Status, res.String())
			require.Equal(t, tc.pending, r.term.PendingReversals())
			require.Len(t, r.acq.waitRequests(t, tc.requests), tc.requests)
		})
	}
}

// Answers the terminal cannot trust are handled as no answer: reversed.
func TestUntrustedAnswersReverse(t *testing.T) {
	for _, tc := range []struct {
		name          string
		noMAC, badMAC bool
		rc            isospec.ResponseCode
		status        pos.Status
	}{
		{"approval with a bad MAC", false, true, isospec.RCApproved, pos.StatusReversed},
		{"approval without MAC", true, false, isospec.RCApproved, pos.StatusReversed},
		{"decline without MAC is accepted", true, false, isospec.RCSecurityViolation, pos.StatusDeclined},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r *rig
			r = newRig(t, func(req *iso8583.Message) *iso8583.Message {
				if mti, _ := req.GetMTI(); mti == "0100" {
					return answer(req, tc.rc, "")
				}
				r.acq.mu.Lock()
				r.acq.noMAC, r.acq.badMAC = false, false
				r.acq.mu.Unlock()
				return approveAll(req)
			}, pos.Options{})
			r.acq.mu.Lock()
			r.acq.noMAC, r.acq.badMAC = tc.noMAC, tc.badMAC
			r.acq.mu.Unlock()
			res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
			require.NoError(t, err)
			require.Equal(t, tc.status, res.Status, res.String())
			if tc.status == pos.StatusReversed {
				require.Equal(t, pos.MsgInvalidHostAnswer, res.Message)
				reqs := r.acq.waitRequests(t, 2)
				decodeReversal(t, reqs[1])
			}
		})
	}
}

// Nothing listens: the request is not sent and there is nothing to undo.
func TestHostUnavailable(t *testing.T) {
	link := client.New(deadAddr(t), client.Options{ConnectTimeout: time.Second})
	defer link.Close()
	term, err := pos.New(testConfig(t), link, pos.Options{Clock: func() time.Time { return testNow }})
	require.NoError(t, err)
	res, err := term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusHostUnavailable, res.Status)
	require.Equal(t, pos.MsgHostUnavailable, res.Message)
	require.ErrorIs(t, res.Exchanges[0].Err, client.ErrNotSent)
	require.Equal(t, 0, term.PendingReversals())
	require.Empty(t, res.Receipt)
}

func TestPINCancelledSendsNothing(t *testing.T) {
	r := newRig(t, approveAll, pos.Options{Keypad: pinpad.NewScript(pinpad.Cancel)})
	res, err := r.term.Sale(context.Background(), 350000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusCancelled, res.Status)
	require.Equal(t, pos.MsgCancelled, res.Message)
	require.False(t, res.Online)
	reqs, _ := r.acq.received()
	require.Empty(t, reqs)
	require.Equal(t, "FFFF9876543210E00001", r.term.NextKSN().String(), "no DUKPT key used")
}

// A PIN bypass sends the request without DE52/DE53; the issuer decides.
func TestPINBypassed(t *testing.T) {
	r := newRig(t, func(req *iso8583.Message) *iso8583.Message {
		return answer(req, isospec.RCNotPermittedCardholder, isospec.ReasonCVMRequired)
	}, pos.Options{Keypad: pinpad.NewScript(pinpad.Bypass)})
	res, err := r.term.Sale(context.Background(), 350000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusDeclined, res.Status)
	require.False(t, res.PINEntered)
	reqs, _ := r.acq.received()
	ar := decodeAuth(t, reqs[0])
	require.Empty(t, ar.PINBlock)
	require.Empty(t, ar.SecurityControl)
	require.Equal(t, isospec.ReasonCVMRequired, res.DeclineReason)
}

// A refund: the card answers with an AAC and the refund goes online as an
// authorisation with processing code 20.
func TestRefund(t *testing.T) {
	for _, name := range []string{"visa-plastic", "mc-plastic"} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, approveAll, pos.Options{})
			res, err := r.term.Refund(context.Background(), 50000, inproc.New(newCard(t, name)))
			require.NoError(t, err)
			require.Equal(t, pos.KindRefund, res.Kind)
			require.Equal(t, pos.StatusApproved, res.Status, res.String())
			reqs, macErrs := r.acq.received()
			require.Len(t, reqs, 1)
			require.NoError(t, macErrs[0])
			ar := decodeAuth(t, reqs[0])
			require.Equal(t, isospec.ProcRefund, ar.ProcessingCode)
			icc, err := tlv.Decode(ar.ICCData)
			require.NoError(t, err)
			cid, ok := icc.Find(0x9F27)
			require.True(t, ok)
			require.Equal(t, byte(0x00), cid.Value[0]&0xC0, "the card gave an AAC")
			got, _ := icc.Find(0x9C)
			require.Equal(t, []byte{0x20}, got.Value)
			require.Contains(t, res.Receipt, "REFUND")
			require.Contains(t, res.Receipt, "AAC")
			require.Contains(t, res.Receipt, "-TWD 500.00")
		})
	}
}

// A void reverses an approved sale found by STAN or RRN, once.
func TestVoid(t *testing.T) {
	r := newRig(t, approveAll, pos.Options{})
	sale, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, sale.Status)

	_, err = r.term.Void(context.Background(), pos.Ref{STAN: "999999"})
	require.ErrorIs(t, err, pos.ErrNotFound)

	v, err := r.term.Void(context.Background(), pos.Ref{RRN: sale.RRN})
	require.NoError(t, err)
	require.Equal(t, pos.KindVoid, v.Kind)
	require.Equal(t, pos.StatusApproved, v.Status, v.String())
	require.Equal(t, pos.MsgVoided, v.Message)
	require.Equal(t, "000002", v.STAN)
	require.Contains(t, v.Receipt, "VOID")
	require.Contains(t, v.Receipt, "476173******0010")

	reqs, macErrs := r.acq.received()
	require.Len(t, reqs, 2)
	require.NoError(t, macErrs[1])
	orig := decodeAuth(t, reqs[0])
	rev := decodeReversal(t, reqs[1])
	require.NoError(t, isospec.Validate(reqs[1]))
	od, err := isospec.ParseOriginalData(rev.OriginalData)
	require.NoError(t, err)
	require.Equal(t, orig.STAN, od.STAN)
	require.Equal(t, orig.TransmissionDateTime, od.TransmissionDateTime)
	require.Equal(t, "A1B2C3", rev.AuthCode)
	require.Equal(t, orig.PAN, rev.PAN)
	require.Empty(t, rev.ICCData)

	_, err = r.term.Void(context.Background(), pos.Ref{STAN: sale.STAN})
	require.ErrorIs(t, err, pos.ErrAlreadyVoided)
}

// A void the host does not answer is reversed like any unanswered message
// and kept pending.
func TestVoidUnanswered(t *testing.T) {
	var silent atomic.Bool
	r := newRig(t, func(req *iso8583.Message) *iso8583.Message {
		if silent.Load() {
			return nil
		}
		return approveAll(req)
	}, pos.Options{})
	sale, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	silent.Store(true)
	v, err := r.term.Void(context.Background(), pos.Ref{STAN: sale.STAN})
	require.NoError(t, err)
	require.Equal(t, pos.StatusReversalPending, v.Status)
	require.Equal(t, pos.MsgVoidPending, v.Message)
	require.Equal(t, 1, r.term.PendingReversals())
	silent.Store(false)
	require.Equal(t, 0, r.term.FlushReversals(context.Background()))
}

// The issuer's data for the card (tag 91, scripts) is recorded, and so is
// the kernel's request for it when the reader and card both support Issuer
// Update Processing (C-3: TTQ byte 3 b8, CTQ byte 2 b7).
func TestIssuerUpdateRecorded(t *testing.T) {
	script := []byte{0x72, 0x0F, 0x9F, 0x18, 0x04, 0, 0, 0, 1, 0x86, 0x06, 0x84, 0x24, 0, 0, 0x02, 0x00}
	decide := func(req *iso8583.Message) *iso8583.Message {
		resp := approveAll(req)
		icc, _ := resp.GetBytes(isospec.FieldICCData)
		_ = resp.BinaryField(isospec.FieldICCData, append(icc, script...))
		return resp
	}
	p, err := cards.Builtin("visa-plastic")
	require.NoError(t, err)
	p.App.CTQ = cards.Hex{0x20, 0x40}
	card := cardFrom(t, p)

	acq := startAcquirer(t, decide)
	link := client.New(acq.addr(), client.Options{})
	defer link.Close()
	cfg := testConfig(t)
	cfg.Kernel.Combinations[0].TTQ = kernel.HexBytes{0x36, 0x00, 0xC0, 0x00}
	term, err := pos.New(cfg, link, pos.Options{Clock: func() time.Time { return testNow }})
	require.NoError(t, err)
	res, err := term.Sale(context.Background(), 150000, inproc.New(card))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status, res.String())
	require.True(t, res.IssuerUpdate.Requested)
	require.True(t, res.IssuerUpdate.Available())
	require.Equal(t, []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x30, 0x30}, res.IssuerUpdate.AuthenticationData)
	require.Equal(t, [][]byte{script}, res.IssuerUpdate.Scripts)
	s := fmt.Sprintf("%v %+v", res.IssuerUpdate, res.IssuerUpdate)
	require.NotContains(t, strings.ToUpper(s), "1122334455667788")
	require.Contains(t, s, "1 issuer script")

	require.False(t, res.IssuerUpdate.Done, "no presenter: recorded only")

	// With a presenter the card is presented again and the kernel delivers
	// the data: the card refuses this ARPC (not made with its key) and does
	// not know the script's command; the approval stands.
	card = cardFrom(t, p)
	reader := inproc.New(card)
	term, err = pos.New(cfg, link, pos.Options{Clock: func() time.Time { return testNow },
		Presenter: pos.PhonePresenter{Reader: reader, Card: card}})
	require.NoError(t, err)
	res, err = term.Sale(context.Background(), 150000, reader)
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status, res.String())
	require.True(t, res.IssuerUpdate.Done)
	require.True(t, res.IssuerUpdate.AuthenticationFailed)
	require.Equal(t, []byte{0x11, 0, 0, 0, 1}, res.IssuerUpdate.ScriptResults)
	require.Equal(t, 2, res.Taps)
	require.Contains(t, res.IssuerUpdate.String(), "issuer authentication failed")

	// The default reader does not support it: data recorded, not requested.
	r := newRig(t, decide, pos.Options{})
	res, err = r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.False(t, res.IssuerUpdate.Requested)
	require.True(t, res.IssuerUpdate.Available())
}

// Offline decisions of the card need no host.
func TestOfflineDecisions(t *testing.T) {
	r := newRig(t, approveAll, pos.Options{})
	res, err := r.term.Sale(context.Background(), 50000, inproc.New(newCard(t, "mc-plastic")))
	require.NoError(t, err)
	require.Equal(t, kernel.Approved, res.Outcome.Type, res.Outcome.String())
	require.Equal(t, pos.StatusApproved, res.Status)
	require.Equal(t, pos.RCOfflineApproved, res.ResponseCode)
	require.Equal(t, pos.MsgApprovedOffline, res.Message)
	require.False(t, res.Online)
	require.Contains(t, res.Receipt, "TC ")
	require.Contains(t, res.Receipt, "APPROVED                              Y1")
	reqs, _ := r.acq.received()
	require.Empty(t, reqs)
}

// Cardholder data never appears in clear in what the terminal shows or
// returns: events, result, receipt, errors and exchange descriptions.
func TestNoSensitiveDataInOutput(t *testing.T) {
	r := newRig(t, approveAll, pos.Options{Keypad: pinpad.Always("1234")})
	res, err := r.term.Sale(context.Background(), 350000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.True(t, res.PINEntered)
	reqs, _ := r.acq.received()
	ar := decodeAuth(t, reqs[0])
	secrets := []string{
		ar.PAN,
		ar.Track2,
		strings.ToUpper(hex.EncodeToString(ar.PINBlock)),
		strings.ToUpper(hex.EncodeToString(res.Outcome.Record(0x9F26))),
		strings.ToUpper(hex.EncodeToString(res.Outcome.Record(0x57))),
	}
	var out []string
	out = append(out, r.eventTexts()...)
	for _, e := range r.events {
		out = append(out, fmt.Sprintf("%v %+v %#v", e, e, e))
	}
	out = append(out, res.String(), fmt.Sprintf("%v %+v %#v %s", res, res, res, res), res.Receipt)
	for _, x := range res.Exchanges {
		out = append(out, x.Describe(), x.String(), fmt.Sprintf("%v %+v", x, x))
	}
	out = append(out, fmt.Sprintf("%v %+v", r.term.Config(), r.term.Config()))
	all := strings.ToUpper(strings.Join(out, "\n"))
	for _, s := range secrets {
		require.NotEmpty(t, s)
		require.NotContains(t, all, strings.ToUpper(s))
	}
	require.NotContains(t, all, pos.DefaultTAKHex)
	require.NotContains(t, all, pos.DefaultIPEKHex)
	require.Contains(t, all, "476173******0010")
}

// Events report the kernel's messages, the APDUs and the host messages.
func TestEvents(t *testing.T) {
	var apdus int
	rr := newRig(t, approveAll, pos.Options{Trace: func(kernel.Exchange) { apdus++ }})
	_, err := rr.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	kinds := map[pos.EventKind]int{}
	for _, e := range rr.events {
		kinds[e.Kind]++
	}
	require.Positive(t, kinds[pos.EventUI])
	require.Equal(t, apdus, kinds[pos.EventAPDU])
	require.Positive(t, apdus)
	require.Equal(t, 1, kinds[pos.EventHostSend])
	require.Equal(t, 1, kinds[pos.EventHostReceive])
	texts := strings.Join(rr.eventTexts(), "\n")
	require.Contains(t, texts, "ui: Present Card")
	require.Contains(t, texts, "apdu: SELECT PPSE")
	require.Contains(t, texts, "ui: Authorising, Please Wait")
	require.Contains(t, texts, "ui: Approved")
	require.Contains(t, texts, "display: Approved")
}

func TestBadInput(t *testing.T) {
	r := newRig(t, approveAll, pos.Options{})
	_, err := r.term.Sale(context.Background(), -1, inproc.New(newCard(t, "visa-plastic")))
	require.ErrorIs(t, err, pos.ErrAmount)
	_, err = pos.New(testConfig(t), nil, pos.Options{})
	require.ErrorIs(t, err, pos.ErrConfig)
	cfg := testConfig(t)
	cfg.TerminalID = "TOO-LONG-ID"
	_, err = pos.New(cfg, r.link, pos.Options{})
	require.ErrorIs(t, err, pos.ErrConfig)
}

// The STAN goes up by one per message originated, the reversal included.
func TestSTANSequence(t *testing.T) {
	r := newRig(t, approveAll, pos.Options{})
	for i := 1; i <= 3; i++ {
		res, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("%06d", i), res.STAN)
	}
	c := pos.NewCounter(999_999)
	require.Equal(t, uint32(1), c.NextSTAN())
	require.Equal(t, uint32(1), c.Last())
}

// Every sample card that goes online gets its authorisation built, sent and
// approved by an approving acquirer: field 55 fits, the card data parses.
func TestEveryBuiltinCard(t *testing.T) {
	for _, name := range cards.BuiltinNames() {
		for _, amount := range []int64{150000, 350000} {
			t.Run(fmt.Sprintf("%s/%d", name, amount), func(t *testing.T) {
				card := newCard(t, name)
				reader := inproc.New(card)
				passcode := "5791"
				if name == "wallet-phone" {
					passcode = "2468"
				}
				r := newRig(t, approveAll, pos.Options{
					Keypad:    pinpad.Always("1234"),
					Presenter: pos.PhonePresenter{Reader: reader, Card: card, Passcode: passcode},
				})
				res, err := r.term.Sale(context.Background(), amount, reader)
				require.NoError(t, err)
				if res.Outcome.Type == kernel.OnlineRequest {
					require.Equal(t, pos.StatusApproved, res.Status, "%s: %s", res, res.Message)
					reqs, macErrs := r.acq.received()
					require.Len(t, reqs, 1)
					require.NoError(t, macErrs[0])
					require.NoError(t, isospec.Validate(reqs[0]))
				}
				t.Logf("%s", res)
			})
		}
	}
}

// The acquirer's retrieval reference number replaces the terminal's: the
// receipt shows it and a void carries it, so that one RRN names the sale
// at the terminal, the acquirer and the issuer.
func TestHostRRNNamesTheSale(t *testing.T) {
	const hostRRN = "634100000777"
	r := newRig(t, func(req *iso8583.Message) *iso8583.Message {
		resp := approveAll(req)
		if mti, _ := req.GetMTI(); resp != nil && mti == string(isospec.MTIAuthorizationRequest) {
			require.NoError(t, resp.Field(isospec.FieldRRN, hostRRN))
		}
		return resp
	}, pos.Options{})
	sale, err := r.term.Sale(context.Background(), 150000, inproc.New(newCard(t, "visa-plastic")))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, sale.Status)
	require.Equal(t, hostRRN, sale.RRN)
	require.Contains(t, sale.Receipt, hostRRN)

	v, err := r.term.Void(context.Background(), pos.Ref{RRN: hostRRN})
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, v.Status, v.String())
	reqs, _ := r.acq.received()
	require.Len(t, reqs, 2)
	require.Equal(t, hostRRN, decodeReversal(t, reqs[1]).RRN)
}

// A GENERATE AC whose response is lost tears the sale; the card presented
// again is asked RECOVER AC from the terminal's torn log and the lost ARQC
// goes to the host (C-2 torn transaction recovery).
func TestTornSaleRecovered(t *testing.T) {
	p, err := cards.Builtin("mc-plastic")
	require.NoError(t, err)
	p.App.TornRecovery = true
	card := cardFrom(t, p)
	reader := inproc.New(card)
	reader.LoseResponseAfter(9) // PPSE, SELECT, GPO, six records: GENERATE AC's answer is lost
	r := newRig(t, approveAll, pos.Options{Presenter: pos.PhonePresenter{Reader: reader, Card: card}})
	res, err := r.term.Sale(context.Background(), 150000, reader)
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status, res.String())
	require.Equal(t, 2, res.Taps)
	require.Contains(t, res.Outcome.Reason, "RECOVER AC")
	require.Equal(t, []byte{0x00, 0x01}, res.Outcome.Record(0x9F36), "the torn transaction's ATC")
}

// A card torn at one sale, with no way to present it again then, is
// recovered at its next tap on the same terminal while the torn record
// lives (five minutes by default), and not after: the terminal's kernel
// reads each sale's own clock.
func TestTornRecoveredAtALaterSale(t *testing.T) {
	for _, tc := range []struct {
		name      string
		later     time.Duration
		recovered bool
	}{
		{"within the lifetime", 4 * time.Minute, true},
		{"after the lifetime", 6 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := cards.Builtin("mc-plastic")
			require.NoError(t, err)
			p.App.TornRecovery = true
			card := cardFrom(t, p)
			clock := &movingClock{now: testNow}
			r := newRig(t, approveAll, pos.Options{Clock: clock.Now})
			torn := inproc.New(card)
			torn.LoseResponseAfter(9) // GENERATE AC's answer is lost
			res, err := r.term.Sale(context.Background(), 150000, torn)
			require.NoError(t, err)
			require.NotEqual(t, pos.StatusApproved, res.Status, res.String())

			clock.Set(testNow.Add(tc.later))
			res, err = r.term.Sale(context.Background(), 150000, inproc.New(card))
			require.NoError(t, err)
			require.Equal(t, pos.StatusApproved, res.Status, res.String())
			if tc.recovered {
				require.Contains(t, res.Outcome.Reason, "RECOVER AC")
				require.Equal(t, []byte{0x00, 0x01}, res.Outcome.Record(0x9F36), "the torn transaction's ATC")
			} else {
				require.NotContains(t, res.Outcome.Reason, "RECOVER AC")
				require.Equal(t, []byte{0x00, 0x02}, res.Outcome.Record(0x9F36), "a new cryptogram")
			}
		})
	}
}

// A card without M/Chip read in C-2 mag-stripe mode goes to the host with
// entry mode 91, the filled track in field 35 and no field 55.
func TestMagStripeSale(t *testing.T) {
	p, err := cards.Builtin("mc-plastic")
	require.NoError(t, err)
	p.App.MagStripe = &cards.MagStripeProfile{}
	card := cardFrom(t, p)
	acq := startAcquirer(t, approveAll)
	link := client.New(acq.addr(), client.Options{})
	defer link.Close()
	cfg := testConfig(t)
	cfg.Kernel.Combinations[1].KernelConfiguration = kernel.HexBytes{0x30}
	term, err := pos.New(cfg, link, pos.Options{Clock: func() time.Time { return testNow }})
	require.NoError(t, err)
	res, err := term.Sale(context.Background(), 150000, inproc.New(card))
	require.NoError(t, err)
	require.Equal(t, pos.StatusApproved, res.Status, res.String())
	require.True(t, res.Outcome.MagStripe)
	reqs, _ := acq.received()
	require.Len(t, reqs, 1)
	entry, err := reqs[0].GetString(isospec.FieldPOSEntryMode)
	require.NoError(t, err)
	require.Equal(t, "911", entry)
	track, err := reqs[0].GetString(isospec.FieldTrack2)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(track, "5413330089010012"), "the card's track")
	icc, _ := reqs[0].GetBytes(isospec.FieldICCData)
	require.Empty(t, icc)
}
