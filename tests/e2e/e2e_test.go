package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer/store"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/isospec"
	istore "github.com/tapsim/tapsim/issuerhost/store"
)

func dial(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 2*time.Second) }

// The demo's rows over real sockets: terminal -> acquirer process -> issuer
// process, with the issuer's and acquirer's state checked after.
func TestNetworkRows(t *testing.T) {
	h := startHosts(t)
	holder := newCardholder().at(h.issuerDir)
	term := newTerminal(t, h.acquirer.addr, holder.now)

	// No CVM below the CVM limit, online above the floor limit.
	res := term.sell(t, holder.card(t, "visa-plastic", false), 150000, "", "")
	requireAnswer(t, res, "00", "")
	require.NotEmpty(t, res.IssuerUpdate.AuthenticationData, "ARPC in tag 91")
	first := res

	// CDCVM on the phone above the limit.
	res = term.sell(t, holder.card(t, "visa-se-phone", false), 350000, "5791", "")
	requireAnswer(t, res, "00", "")

	// Online PIN above the limit.
	res = term.sell(t, holder.card(t, "visa-plastic", false), 350000, "", "1234")
	requireAnswer(t, res, "00", "")
	require.True(t, res.PINEntered)

	// R-G3c: five wrong PINs lock, the right one is refused after.
	mc := holder.card(t, "mc-plastic", false)
	for i := 0; i < 4; i++ {
		requireAnswer(t, term.sell(t, mc, 350000, "", "9999"), "55", isospec.ReasonPINIncorrect)
	}
	requireAnswer(t, term.sell(t, mc, 350000, "", "9999"), "75", isospec.ReasonPINTriesExceeded)
	requireAnswer(t, term.sell(t, mc, 350000, "", "1234"), "75", isospec.ReasonPINLocked)

	// HCE: the phone the issuer enrolled with its cloud platform (R-M7),
	// then the same key again from a restored backup (R-S5b).
	requireAnswer(t, term.sell(t, holder.card(t, "hce-phone", false), 150000, "5791", ""), "00", "")
	requireAnswer(t, term.sell(t, holder.card(t, "hce-phone", true), 120000, "5791", ""), "82", isospec.ReasonHCEKeyUsed)

	// R-G4: the first 0100 again with a new STAN and DE7: the acquirer
	// lets it through, the issuer refuses the cryptogram.
	var req isospec.AuthorizationRequest
	require.NoError(t, isospec.Decode(first.Exchanges[0].Request, &req))
	req.STAN, req.MAC = "900001", nil
	req.TransmissionDateTime = isospec.TransmissionDateTime(holder.now.Add(time.Second))
	msg, err := isospec.Encode(&req)
	require.NoError(t, err)
	cfg := term.t.Config()
	require.NoError(t, isospec.SetMAC(msg, takMAC(cfg.TAK)))
	resp, err := term.link.Send(context.Background(), msg, 10*time.Second)
	require.NoError(t, err)
	var ar isospec.AuthorizationResponse
	require.NoError(t, isospec.Decode(resp, &ar))
	require.Equal(t, isospec.RCCryptogramFailure, ar.ResponseCode)
	pd, err := isospec.ParsePrivateData(ar.PrivateData)
	require.NoError(t, err)
	require.Equal(t, isospec.ReasonCryptogramReplay, pd.DeclineReason)
	// The very same message again: the acquirer's duplicate check (94).
	resp, err = term.link.Send(context.Background(), msg, 10*time.Second)
	require.NoError(t, err)
	require.NoError(t, isospec.Decode(resp, &ar))
	require.Equal(t, isospec.ResponseCode("94"), ar.ResponseCode)

	// The token suspended through the issuer's token service.
	out, err := run(t, "issuer", "suspend", "wallet-phone", "--data", h.issuerDir)
	require.NoError(t, err, out)
	requireAnswer(t, term.sell(t, holder.card(t, "wallet-phone", false), 350000, "2468", ""), "62", isospec.ReasonTokenSuspended)

	issuerState(t, h.issuerDir, func(ctx context.Context, tx *istore.Tx) {
		c, err := tx.Card(ctx, "mc-plastic")
		require.NoError(t, err)
		require.True(t, c.PINLocked)
		atc, ok, err := tx.ATC(ctx, "card:visa-plastic")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, uint16(2), atc, "ATC high-water after two taps")
		tok, err := tx.Token(ctx, "wallet-phone")
		require.NoError(t, err)
		require.Equal(t, istore.TokenSuspended, tok.Status)
	})

	// The issuer's ledger of cloud keys: of the phone's five, the one it
	// spent served one transaction, the others none (R-S5b).
	requireCloudKeysUsed(t, h.issuerDir, "hce-phone", 1, 4)

	// The acquirer's journal: masked PANs only (R-G5g), nothing pending.
	h.acquirer.stop()
	st, err := store.Open(h.acquirerDir)
	require.NoError(t, err)
	defer st.Close()
	requireJournalMasked(t, st)
}

// R-G4, R-S5b across a crash: the issuer host is killed (SIGKILL) between
// requests and started again on the same data.
func TestIssuerCrash(t *testing.T) {
	h := startHosts(t)
	holder := newCardholder().at(h.issuerDir)
	term := newTerminal(t, h.acquirer.addr, holder.now)

	visa := holder.card(t, "visa-plastic", false)
	requireAnswer(t, term.sell(t, visa, 150000, "", ""), "00", "")
	requireAnswer(t, term.sell(t, visa, 150000, "", ""), "00", "")
	requireAnswer(t, term.sell(t, holder.card(t, "hce-phone", false), 150000, "5791", ""), "00", "")

	h.issuer.kill()
	h.restartIssuer(t)
	waitPort(t, h.issuer.addr)

	// Until the acquirer's link is back, sales get 91; then the old ATC
	// (a card from its profile: ATC 1 again) is refused.
	old := holder.card(t, "visa-plastic", true)
	var res = term.sell(t, old, 150000, "", "")
	for deadline := time.Now().Add(20 * time.Second); res.ResponseCode == "91" && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		old = holder.card(t, "visa-plastic", true)
		res = term.sell(t, old, 150000, "", "")
	}
	requireAnswer(t, res, "82", isospec.ReasonATCReplay)
	requireAnswer(t, term.sell(t, holder.card(t, "hce-phone", true), 150000, "5791", ""), "82", isospec.ReasonHCEKeyUsed)
	// The card going on from where it was is still served.
	requireAnswer(t, term.sell(t, visa, 150000, "", ""), "00", "")
	issuerState(t, h.issuerDir, func(ctx context.Context, tx *istore.Tx) {
		atc, _, err := tx.ATC(ctx, "card:visa-plastic")
		require.NoError(t, err)
		require.Equal(t, uint16(3), atc)
	})
}

// Garbage on both hosts' ports: 1,000 malformed frames each, then a good
// sale is answered.
func TestMalformedFrames(t *testing.T) {
	h := startHosts(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, addr := range []string{h.issuer.addr, h.acquirer.addr} {
		var c net.Conn
		for i := 0; i < 1000; i++ {
			if c == nil {
				var err error
				c, err = dial(addr)
				require.NoError(t, err)
			}
			body := make([]byte, 1+rnd.IntN(200))
			for j := range body {
				body[j] = byte(rnd.UintN(256))
			}
			if i%3 == 0 {
				copy(body, "0100") // a readable MTI and a broken rest
			}
			frame := append([]byte{byte(len(body) >> 8), byte(len(body))}, body...)
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write(frame); err != nil {
				c.Close()
				c = nil
			}
			if i%50 == 49 && c != nil {
				c.Close()
				c = nil
			}
		}
		if c != nil {
			c.Close()
		}
	}
	holder := newCardholder()
	term := newTerminal(t, h.acquirer.addr, holder.now)
	requireAnswer(t, term.sell(t, holder.card(t, "visa-plastic", false), 150000, "", ""), "00", "")
}

// BenchmarkAuthorisation is one full online sale: the kernel on the card,
// the 0100 MACed by the terminal, checked and forwarded by the acquirer,
// decided by the issuer (ARQC, replay, limits, durable commit), and back.
func BenchmarkAuthorisation(b *testing.B) {
	h := startHosts(b)
	holder := newCardholder()
	term := newTerminal(b, h.acquirer.addr, holder.now)
	card := holder.card(b, "visa-plastic", false)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := term.sell(b, card, 100100, "", "")
		if !res.Online || res.ResponseCode == "" || res.ResponseCode == "91" {
			b.Fatalf("no answer: %s", res)
		}
	}
}

func requireJournalMasked(t *testing.T, st *store.SQL) {
	t.Helper()
	ctx := context.Background()
	entries, err := st.Since(ctx, time.Time{})
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		s := strings.ToUpper(fmtEntry(e))
		for _, p := range []string{"4761739001010010", "5413330089010012", "4895370012340011", "4895370098760017"} {
			require.NotContains(t, s, p)
		}
	}
	n, err := st.Pending(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// fmtEntry is every field of a journal line as text.
func fmtEntry(e store.Entry) string { return fmt.Sprintf("%+v", e) }

// run runs one tapsim command to its end.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(tapsimBin, args...).CombinedOutput()
	return string(out), err
}

// takMAC is the terminal's MAC: ISO 9797-1 algorithm 3 under the TAK.
func takMAC(tak keys.Key) isospec.MACFunc {
	return func(data []byte) ([]byte, error) { return mac.Alg3(tak, data, mac.Method1) }
}
