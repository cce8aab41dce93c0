package acquirer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/internal/fakeissuer"
	"github.com/tapsim/tapsim/isospec"
)

func frame(b []byte) []byte {
	out := binary.BigEndian.AppendUint16(nil, uint16(len(b)))
	return append(out, b...)
}

// malformedFrames returns n frames, each of them broken in its own way but
// with an MTI that names a request, so each is answered with 30.
func malformedFrames(t testing.TB, r *rig, n int) [][]byte {
	good, err := isospec.Pack(r.encode(r.authReq(visaPAN, 100)))
	require.NoError(t, err)
	rnd := rand.New(rand.NewPCG(1, 2))
	var out [][]byte
	for len(out) < n {
		var b []byte
		switch len(out) % 5 {
		case 0: // truncated
			b = bytes.Clone(good[:4+rnd.IntN(len(good)-5)])
		case 1: // a byte flipped after the MTI
			b = bytes.Clone(good)
			i := 4 + rnd.IntN(len(b)-4)
			b[i] ^= byte(1 + rnd.IntN(255))
		case 2: // trailing garbage
			b = append(bytes.Clone(good), byte(rnd.IntN(256)))
		case 3: // bitmap naming a field the dialect lacks (DE5)
			b = bytes.Clone(good)
			b[4] |= 0x08
		case 4: // random bytes after a request MTI
			b = append([]byte("0100"), make([]byte, rnd.IntN(64))...)
			for i := 4; i < len(b); i++ {
				b[i] = byte(rnd.IntN(256))
			}
		}
		if _, err := isospec.Unpack(b); err == nil {
			continue // still well formed: not what this test wants
		}
		out = append(out, b)
	}
	return out
}

// 1,000 malformed frames on one connection are each answered with 30,
// the connection stays up, and a good request is then answered.
func TestThousandMalformedFramesThenGood(t *testing.T) {
	r := newRig(t, nil)
	conn, err := net.Dial("tcp", r.acq.Addr())
	require.NoError(t, err)
	defer conn.Close()
	frames := malformedFrames(t, r, 1000)
	go func() {
		w := bufio.NewWriter(conn)
		for _, f := range frames {
			w.Write(frame(f))
		}
		w.Flush()
	}()
	rd := bufio.NewReader(conn)
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	for i := range frames {
		b, err := isospec.ReadFrame(rd)
		require.NoError(t, err, "answer %d", i)
		m, err := isospec.Unpack(b)
		require.NoError(t, err)
		require.Equal(t, "0110", de(t, m, 0))
		require.Equal(t, "30", de(t, m, isospec.FieldResponseCode))
	}

	// The same connection still serves a good request.
	req := r.authReq(visaPAN, 100)
	good, err := isospec.Pack(r.encode(req))
	require.NoError(t, err)
	_, err = conn.Write(frame(good))
	require.NoError(t, err)
	b, err := isospec.ReadFrame(rd)
	require.NoError(t, err)
	m, err := isospec.Unpack(b)
	require.NoError(t, err)
	require.Equal(t, "00", de(t, m, isospec.FieldResponseCode))
	require.Equal(t, req.STAN, de(t, m, isospec.FieldSTAN))

	// And so do new connections.
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	require.Len(t, r.journal(), 2, "malformed frames are not journaled")
}

// Frames too broken to answer close the connection cleanly; the server
// keeps serving others.
func TestGarbageClosesConnection(t *testing.T) {
	r := newRig(t, nil)
	for _, g := range [][]byte{
		{},                        // empty frame
		[]byte("01"),              // shorter than an MTI
		[]byte("AB00xxxxxxxx"),    // MTI not digits
		append([]byte("0190"), 0), // function digit 9: no response
		[]byte("9999"),            // no response either
	} {
		conn, err := net.Dial("tcp", r.acq.Addr())
		require.NoError(t, err)
		_, err = conn.Write(frame(g))
		require.NoError(t, err)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var buf [64]byte
		_, err = conn.Read(buf[:])
		require.ErrorIs(t, err, io.EOF, "clean close for %q", g)
		conn.Close()
	}
	// A message with a well-formed frame but an MTI the dialect lacks.
	m := isospec.NewMessage()
	m.MTI("0300")
	require.NoError(t, m.Field(isospec.FieldSTAN, "000777"))
	resp := r.send(m)
	require.Equal(t, "0310", de(t, resp, 0))
	require.Equal(t, "30", de(t, resp, isospec.FieldResponseCode))
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
}

// R-G5g: the acquirer's files hold no full PAN, track 2, PIN block, KSN
// or ICC data (cryptogram), in any form, after authorisations with PIN,
// track 2, timeouts, advices and reversals.
func TestNoSensitiveDataAtRest(t *testing.T) {
	r := newRig(t, nil)
	var secrets [][]byte
	addSecret := func(b []byte) {
		secrets = append(secrets, b, []byte(hex.EncodeToString(b)), []byte(strings.ToUpper(hex.EncodeToString(b))))
	}
	for _, p := range []string{visaPAN, mcPAN, tokenPAN, otherPAN} {
		secrets = append(secrets, []byte(p))
	}
	addSecret(arqc)
	addSecret(iccData)

	withPIN := r.authReq(visaPAN, 500000)
	r.withPIN(withPIN, "1234")
	addSecret(withPIN.PINBlock)
	require.Equal(t, isospec.RCApproved, r.authorise(withPIN).ResponseCode)

	t2 := r.authReq(mcPAN, 100)
	t2.PAN, t2.Track2 = "", mcPAN+"=28122011234567"
	secrets = append(secrets, []byte(t2.Track2), []byte("28122011234567"))
	require.Equal(t, isospec.RCApproved, r.authorise(t2).ResponseCode)

	require.Equal(t, isospec.RCInvalidCardNumber, r.authorise(r.authReq(otherPAN, 100)).ResponseCode)

	r.iss.SetAuth(fakeissuer.Silent)
	late := r.authReq(tokenPAN, 777)
	require.Equal(t, isospec.RCIssuerInoperative, r.authorise(late).ResponseCode)
	r.iss.SetAuth(fakeissuer.Answer)
	require.Equal(t, isospec.RCApproved, r.reverse(r.reversalOf(withPIN)).ResponseCode)
	_, err := r.acq.RetryAdvices(context.Background())
	require.NoError(t, err)

	j := r.journal()
	require.GreaterOrEqual(t, len(j), 5)
	require.NoError(t, r.acq.Close()) // checkpoints the WAL into the file

	files, err := filepath.Glob(filepath.Join(r.dir, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	sawMasked := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, s := range secrets {
			require.False(t, bytes.Contains(b, s), "%s holds sensitive data %q...", filepath.Base(f), s[:min(len(s), 4)])
		}
		sawMasked = sawMasked || bytes.Contains(b, []byte("476173******0010"))
	}
	require.True(t, sawMasked, "the masked PAN is journaled (the scan reads the right files)")
}

func TestStartClose(t *testing.T) {
	r := newRig(t, nil)
	require.NotEmpty(t, r.acq.Addr())
	require.Error(t, r.acq.Start(context.Background()), "already started")
	require.NoError(t, r.acq.Close())
	require.NoError(t, r.acq.Close(), "idempotent")
	require.ErrorIs(t, r.acq.Start(context.Background()), acquirer.ErrClosed)
	_, err := net.DialTimeout("tcp", r.acq.Addr(), time.Second)
	require.Error(t, err, "no longer listening")
	// The issuer saw the sign-off.
	var codes []string
	for _, m := range r.iss.ReceivedMTI(isospec.MTINetworkRequest) {
		codes = append(codes, de(t, m, isospec.FieldNetworkCode))
	}
	require.Equal(t, []string{"001", "002"}, codes)
}

func TestContextEndStops(t *testing.T) {
	r := newRig(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	r.cfg.DataDir = t.TempDir()
	acq, err := acquirer.New(r.cfg)
	require.NoError(t, err)
	require.NoError(t, acq.Start(ctx))
	addr := acq.Addr()
	cancel()
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
}

func TestConfigRejected(t *testing.T) {
	r := newRig(t, nil)
	for name, mod := range map[string]func(*acquirer.Config){
		"no listen":        func(c *acquirer.Config) { c.Listen = "" },
		"no hsm":           func(c *acquirer.Config) { c.HSM = nil },
		"no routes":        func(c *acquirer.Config) { c.Routes = nil },
		"bad acquirer id":  func(c *acquirer.Config) { c.AcquirerID = "12A" },
		"issuer no link":   func(c *acquirer.Config) { c.Issuers = nil },
		"issuer twice":     func(c *acquirer.Config) { c.Issuers = append(c.Issuers, c.Issuers[0]) },
		"issuer no zpk":    func(c *acquirer.Config) { c.Issuers[0].ZPK = c.Terminals[0].BDK },
		"terminal twice":   func(c *acquirer.Config) { c.Terminals = append(c.Terminals, c.Terminals[0]) },
		"terminal no tak":  func(c *acquirer.Config) { c.Terminals = append(c.Terminals, acquirer.Terminal{TID: "T2"}) },
		"terminal id long": func(c *acquirer.Config) { c.Terminals[0].TID = "T000000001" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := r.cfg
			cfg.Issuers = append([]acquirer.Issuer(nil), r.cfg.Issuers...)
			cfg.Terminals = append([]acquirer.Terminal(nil), r.cfg.Terminals...)
			mod(&cfg)
			_, err := acquirer.New(cfg)
			require.ErrorIs(t, err, acquirer.ErrConfig)
		})
	}
}
