package isospec_test

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

func TestLengthHeader(t *testing.T) {
	var buf bytes.Buffer
	n, err := isospec.WriteMessageLength(&buf, 300)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, []byte{0x01, 0x2C}, buf.Bytes()) // binary, big-endian
	l, err := isospec.ReadMessageLength(&buf)
	require.NoError(t, err)
	require.Equal(t, 300, l)

	buf.Reset()
	_, err = isospec.WriteMessageLength(&buf, isospec.MaxFrameLen)
	require.NoError(t, err)
	require.Equal(t, []byte{0xFF, 0xFF}, buf.Bytes())
	for _, bad := range []int{-1, isospec.MaxFrameLen + 1} {
		_, err = isospec.WriteMessageLength(&buf, bad)
		require.ErrorIs(t, err, isospec.ErrFrame)
	}
	_, err = isospec.ReadMessageLength(bytes.NewReader([]byte{0x01}))
	require.ErrorIs(t, err, isospec.ErrFrame)
	_, err = isospec.ReadMessageLength(bytes.NewReader(nil))
	require.ErrorIs(t, err, isospec.ErrFrame)
}

func TestReadWriteFrame(t *testing.T) {
	packed := mustMarshal(t, sample0100(t))
	var buf bytes.Buffer
	require.NoError(t, isospec.WriteFrame(&buf, packed))
	require.Equal(t, []byte{byte(len(packed) >> 8), byte(len(packed))}, buf.Bytes()[:2])
	buf.WriteString("next")
	got, err := isospec.ReadFrame(&buf)
	require.NoError(t, err)
	require.Equal(t, packed, got)
	require.Equal(t, "next", buf.String()) // nothing read past the frame

	_, err = isospec.ReadFrame(bytes.NewReader([]byte{0x00, 0x10, '0', '1'}))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.ErrorIs(t, isospec.WriteFrame(io.Discard, make([]byte, isospec.MaxFrameLen+1)), isospec.ErrFrame)
	empty, err := isospec.ReadFrame(bytes.NewReader([]byte{0, 0}))
	require.NoError(t, err)
	require.Empty(t, empty)
}

func TestFramer(t *testing.T) {
	var buf bytes.Buffer
	var f isospec.Framer
	require.NoError(t, f.WriteMessage(&buf, encode(t, sample0100(t))))
	msg, err := f.ReadMessage(&buf)
	require.NoError(t, err)
	var back isospec.AuthorizationRequest
	require.NoError(t, isospec.Decode(msg, &back))
	require.Equal(t, *sample0100(t), back)

	// A malformed frame is an UnpackError (the connection keeps reading)
	// wrapping the *FieldError, and carries no raw message.
	require.NoError(t, isospec.WriteFrame(&buf, frame("0100", "4000000000000000", "164761739A01010119")))
	_, err = f.ReadMessage(&buf)
	requireFieldError(t, err, 2, isospec.ErrCharset)
	require.NotContains(t, err.Error(), "4761739")

	bad := sample0100(t)
	bad.STAN = "1"
	m := isospec.NewMessage()
	require.NoError(t, m.Marshal(bad))
	requireFieldError(t, f.WriteMessage(&buf, m), 11, isospec.ErrLength)
}

func TestRequestIDGenerator(t *testing.T) {
	var g isospec.RequestIDGenerator
	id, err := g.GenerateRequestID(encode(t, sample0100(t)))
	require.NoError(t, err)
	require.Equal(t, "TERM0001/000123", id)
	resp, err := g.GenerateRequestID(encode(t, sample0110(t)))
	require.NoError(t, err)
	require.Equal(t, id, resp)
	_, err = g.GenerateRequestID(isospec.NewMessage())
	require.ErrorIs(t, err, isospec.ErrMissing)
	_, err = g.GenerateRequestID(nil)
	require.ErrorIs(t, err, isospec.ErrType)
}

// host answers 0800 and 0100 the way an acquirer or issuer host does,
// checking the request's MAC (63 if bad) and format (30).
func host(t *testing.T, served *atomic.Int32) func(*connection.Connection, *iso8583.Message) {
	return func(c *connection.Connection, m *iso8583.Message) {
		served.Add(1)
		mti, _ := m.GetMTI()
		var reply *iso8583.Message
		var err error
		switch isospec.MTI(mti) {
		case isospec.MTINetworkRequest:
			var n isospec.NetworkManagement
			if err = isospec.Decode(m, &n); err == nil {
				var r *isospec.NetworkManagement
				if r, err = n.Response(isospec.RCApproved); err == nil {
					reply, err = isospec.Encode(r)
				}
			}
		case isospec.MTIAuthorizationRequest:
			rc := isospec.RCApproved
			packed, perr := isospec.Pack(m)
			switch {
			case perr != nil || isospec.Validate(m) != nil:
				rc = isospec.RCFormatError
			case isospec.VerifyMAC(packed, retailVerify(macKey)) != nil:
				rc = isospec.RCSecurityViolation
			}
			var req isospec.AuthorizationRequest
			if err = isospec.Decode(m, &req); err != nil {
				break
			}
			var resp *isospec.AuthorizationResponse
			if resp, err = isospec.NewAuthorizationResponse(&req, rc); err != nil {
				break
			}
			if rc.Approved() {
				resp.AuthCode = "A1B2C3"
				resp.ICCData = tlvs(t, [2]string{"91", sampleARPC + "0012"})
			}
			if reply, err = isospec.Encode(resp); err == nil {
				err = isospec.SetMAC(reply, retailMAC(macKey))
			}
		default:
			return
		}
		if err != nil {
			t.Errorf("host: %v", err)
			return
		}
		if err := c.Reply(reply); err != nil {
			t.Errorf("host: reply: %v", err)
		}
	}
}

func startHost(t *testing.T, served *atomic.Int32, opts ...connection.Option) *server.Server {
	opts = append(opts, connection.InboundMessageHandler(host(t, served)))
	srv := server.New(isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength, opts...)
	require.NoError(t, srv.Start("127.0.0.1:0"))
	t.Cleanup(srv.Close)
	return srv
}

// A 0800 sign-on and a MACed 0100 with DE55 round-trip through a real
// loopback connection of moov-io/iso8583-connection, with the dialect's
// spec and 2-byte length header, with and without the strict Framer.
func TestLoopbackConnection(t *testing.T) {
	variants := map[string][]connection.Option{
		"library framing": nil,
		"strict framer": {
			connection.SetMessageReader(isospec.Framer{}),
			connection.SetMessageWriter(isospec.Framer{}),
			connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}),
		},
	}
	for name, opts := range variants {
		t.Run(name, func(t *testing.T) {
			var served atomic.Int32
			srv := startHost(t, &served, opts...)
			opts := append([]connection.Option{connection.SendTimeout(5 * time.Second)}, opts...)
			c, err := connection.New(srv.Addr, isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength, opts...)
			require.NoError(t, err)
			require.NoError(t, c.Connect())
			defer c.Close()

			signOn := isospec.NewNetworkManagement(isospec.NetSignOn, "000001", when)
			signOn.TerminalID = "TERM0001"
			resp, err := c.Send(encode(t, signOn))
			require.NoError(t, err)
			var nm isospec.NetworkManagement
			require.NoError(t, isospec.Decode(resp, &nm))
			require.Equal(t, isospec.MTINetworkResponse, nm.MTI)
			require.Equal(t, isospec.RCApproved, nm.ResponseCode)
			require.Equal(t, isospec.NetSignOn, nm.NetworkCode)

			req := encode(t, sample0100(t))
			require.NoError(t, isospec.SetMAC(req, retailMAC(macKey)))
			resp, err = c.Send(req)
			require.NoError(t, err)
			packed, err := isospec.Pack(resp)
			require.NoError(t, err)
			require.NoError(t, isospec.VerifyMAC(packed, retailVerify(macKey)))
			var ar isospec.AuthorizationResponse
			require.NoError(t, isospec.Decode(resp, &ar))
			require.Equal(t, isospec.MTIAuthorizationResponse, ar.MTI)
			require.Equal(t, isospec.RCApproved, ar.ResponseCode, isospec.Describe(resp))
			require.Equal(t, "A1B2C3", ar.AuthCode)
			require.Equal(t, "000123", ar.STAN)
			require.Equal(t, int64(150000), ar.Amount)
			require.Equal(t, tlvs(t, [2]string{"91", sampleARPC + "0012"}), ar.ICCData)

			// A request MACed under another key is answered 63.
			bad := sample0100(t)
			bad.STAN = "000124"
			req = encode(t, bad)
			require.NoError(t, isospec.SetMAC(req, retailMAC(otherKey)))
			resp, err = c.Send(req)
			require.NoError(t, err)
			require.NoError(t, isospec.Decode(resp, &ar))
			require.Equal(t, isospec.RCSecurityViolation, ar.ResponseCode)
			require.Equal(t, int32(3), served.Load())
		})
	}
}

// Behind the strict Framer, malformed frames are skipped and the
// connection still answers a good request afterwards.
func TestLoopbackMalformedFramesSkipped(t *testing.T) {
	var served atomic.Int32
	srv := startHost(t, &served, connection.SetMessageReader(isospec.Framer{}), connection.SetMessageWriter(isospec.Framer{}))
	conn, err := net.Dial("tcp", srv.Addr)
	require.NoError(t, err)
	defer conn.Close()

	good := packedWithMAC(t, sample0100(t))
	for i := range 50 {
		b := bytes.Clone(good)
		b[4+8+2+i%16] = 'X' // a letter in the PAN
		require.NoError(t, isospec.WriteFrame(conn, b[:len(b)-i]))
	}
	require.NoError(t, isospec.WriteFrame(conn, good))
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	b, err := isospec.ReadFrame(conn)
	require.NoError(t, err)
	msg, err := isospec.Unpack(b)
	require.NoError(t, err)
	rc, err := msg.GetString(isospec.FieldResponseCode)
	require.NoError(t, err)
	require.Equal(t, "00", rc)
	require.Equal(t, int32(1), served.Load())
}
