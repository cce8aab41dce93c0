package issuerhost_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
)

// FuzzHandleFrame feeds arbitrary frames to the message entry: the answer
// is a well-formed response carrying a response code, or ErrClose (no
// message type with a response); never nothing, never a panic, never
// another error.
func FuzzHandleFrame(f *testing.F) {
	n := issuertest.New(f)
	s, err := issuerhost.New(n.DB, n.HSM, issuerhost.Config{Now: n.Clock.Now})
	require.NoError(f, err)

	req := isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 1234}))
	good, err := isospec.Marshal(req)
	require.NoError(f, err)
	f.Add(good)
	m, err := isospec.Encode(isoRequest(n.Request(issuertest.HCE, issuertest.Tap{Amount: 99, CDCVM: true})))
	require.NoError(f, err)
	require.NoError(f, isospec.SetMAC(m, zakMAC))
	macked, err := isospec.Pack(m)
	require.NoError(f, err)
	f.Add(macked)
	rev, err := isospec.NewReversal(req, "000777", issuertest.Start, isospec.RCResponseTooLate, "")
	require.NoError(f, err)
	b, err := isospec.Marshal(rev)
	require.NoError(f, err)
	f.Add(b)
	b, err = isospec.Marshal(isospec.NewNetworkManagement(isospec.NetEcho, "000001", issuertest.Start))
	require.NoError(f, err)
	f.Add(b)
	f.Add(good[:len(good)/2])
	f.Add([]byte("0100"))
	f.Add([]byte{})
	f.Add([]byte("0110\x00\x20\x00\x00\x00\x00\x00\x00000001"))
	f.Add([]byte("9999\x00\x20\x00\x00\x00\x00\x00\x00000001"))

	f.Fuzz(func(t *testing.T, frame []byte) {
		out, err := s.HandleFrame(ctx, frame)
		if err != nil {
			require.True(t, errors.Is(err, issuerhost.ErrClose), "unexpected error: %v", err)
			require.Nil(t, out)
			return
		}
		require.NotNil(t, out, "every frame is answered or closes")
		msg, err := isospec.Unpack(out)
		require.NoError(t, err, "answers are well formed")
		mti, _ := msg.GetMTI()
		require.True(t, isospec.MTI(mti).IsResponse(), mti)
		rc, err := msg.GetString(isospec.FieldResponseCode)
		require.NoError(t, err)
		require.True(t, isospec.ResponseCode(rc).Known(), rc)
	})
}
