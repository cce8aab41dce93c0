package hceflow_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/hceapp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/store"
)

const zakHex = "649783F2378020FEC7B95EFB52AE7010"

// issuer is the issuer host on loopback TCP, deciding on the cloud
// cards through the world's key ledger, and an acquirer's connection.
type issuer struct {
	w    *world
	conn *connection.Connection
	stan int
}

// startIssuer records the cloud account numbers as the issuer's tokens
// of the cardholders' cards (the token ID is the platform's card
// reference) and starts the issuer host.
func (w *world) startIssuer() *issuer {
	t := w.t
	t.Helper()
	k := issuerhost.DefaultKeys()
	for _, key := range []struct {
		label string
		usage hsm.Usage
		hex   string
		alg   keys.Alg
	}{
		{k.ZAK, hsm.UsageZAK, zakHex, keys.TDES},
		{k.ZPK, hsm.UsageZPK, "BFE3DAFE23CB9B570EF4238616F12FD9", keys.TDES},
		{k.PVK, hsm.UsagePVK, "B34552BC6B5EAE9B793B3EEFE96EEA4C", keys.TDES},
		{k.KEK, hsm.UsageKEK, "2AE0E02C3B68752AC86E4649B334AEEC", keys.AES},
	} {
		_, err := w.hsm.ImportKey(key.label, key.usage, keys.MustHex(key.alg, key.hex))
		require.NoError(t, err)
	}
	require.NoError(t, w.db.Update(ctx, func(tx *store.Tx) error {
		for _, tok := range []store.Token{
			{ID: aliceRef, Number: aliceCloudPAN, CardID: "c-alice", Expiry: cloudExpiry, Status: store.TokenActive, PSN: "01",
				CVN: authz.CVNVisaCloud, IMKRef: imkLabel, FormFactor: "hce-phone", DeviceBound: true},
			{ID: carolRef, Number: carolCloudPAN, CardID: "c-carol", Expiry: cloudExpiry, Status: store.TokenActive, PSN: "01",
				CVN: authz.CVNMCCloud, IMKRef: imkLabel, FormFactor: "hce-phone", DeviceBound: true},
		} {
			if err := tx.PutToken(ctx, tok); err != nil {
				return err
			}
		}
		return nil
	}))
	s, err := issuerhost.New(w.db, w.hsm, issuerhost.Config{Now: w.clock.Now, CloudVerifier: w.verifier})
	require.NoError(t, err)
	require.NoError(t, s.Start(ctx))
	t.Cleanup(func() { _ = s.Close() })
	c, err := connection.New(s.Addr(), isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}), connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}), connection.SendTimeout(10*time.Second))
	require.NoError(t, err)
	require.NoError(t, c.Connect())
	t.Cleanup(func() { _ = c.Close() })
	return &issuer{w: w, conn: c}
}

func zakMAC(data []byte) ([]byte, error) {
	return mac.Alg3(keys.MustHex(keys.TDES, zakHex), data, mac.Method1)
}

// authorise sends the tap as the acquirer's 0100 over TCP, MACed, and
// returns the response code and decline reason.
func (is *issuer) authorise(tap hceapp.Tap, account string, amount int64) (isospec.ResponseCode, isospec.DeclineReason) {
	t := is.w.t
	t.Helper()
	var list tlv.List
	for _, tag := range []tlv.Tag{0x9F26, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03} {
		list = append(list, tlv.TLV{Tag: tag, Value: tap.Tags[uint32(tag)]})
	}
	list = append(list, tlv.TLV{Tag: 0x9F27, Value: []byte{0x80}})
	icc, err := list.Encode()
	require.NoError(t, err)
	return is.authoriseICC(icc, account, amount)
}

// authoriseICC sends DE55 icc as the acquirer's 0100 over TCP, MACed, and
// returns the response code and decline reason.
func (is *issuer) authoriseICC(icc []byte, account string, amount int64) (isospec.ResponseCode, isospec.DeclineReason) {
	t := is.w.t
	t.Helper()
	is.stan++
	now := is.w.clock.Now()
	m, err := isospec.Encode(&isospec.AuthorizationRequest{
		MTI: isospec.MTIAuthorizationRequest, PAN: account, ProcessingCode: "000000", Amount: amount,
		TransmissionDateTime: now.Format("0102150405"), STAN: fmt.Sprintf("%06d", is.stan), LocalTime: now.Format("150405"),
		LocalDate: now.Format("0102"), Expiry: cloudExpiry, MCC: "5411", POSEntryMode: "071", POSConditionCode: "00",
		AcquirerID: "400001", RRN: fmt.Sprintf("634100%06d", is.stan), TerminalID: "T0000001", MerchantID: "M00000000000001",
		Currency: "901", ICCData: icc,
	})
	require.NoError(t, err)
	require.NoError(t, isospec.SetMAC(m, zakMAC))
	resp, err := is.conn.Send(m)
	require.NoError(t, err)
	return decode(t, resp)
}

func decode(t *testing.T, m *iso8583.Message) (isospec.ResponseCode, isospec.DeclineReason) {
	t.Helper()
	var r isospec.AuthorizationResponse
	require.NoError(t, isospec.Decode(m, &r))
	if r.PrivateData == "" {
		return r.ResponseCode, ""
	}
	p, err := isospec.ParsePrivateData(r.PrivateData)
	require.NoError(t, err)
	return r.ResponseCode, p.DeclineReason
}

// R-M3, R-M7, R-S2e, R-S5b, R-S5d, R-C1: the whole path: the phones enrol
// with the cloud platform over mutual TLS, tap, and the acquirer's 0100
// reaches the issuer host over TCP, which approves a verified tap and
// declines, each with its reason, a key used again, a tap without
// cardholder verification at NT$0.01, a wrong mobile PIN, and a lost
// phone's key, while the account's other phone goes on.
func TestHCEAtIssuerHost(t *testing.T) {
	w := newWorld(t)
	is := w.startIssuer()
	a1, a2 := w.phone("alice-phone-1", 1), w.phone("alice-phone-2", 2)
	c1 := w.enrol(a1, aliceRef, alicePAN, alicePhoneNo)
	c2 := w.enrol(a2, aliceRef, alicePAN, alicePhoneNo)
	carol := w.phone("carol-phone", 5)
	res, err := carol.Register(ctx, w.requestID(), carolRef, w.codes[carolPAN], "", "2580")
	require.NoError(t, err)
	_, err = carol.VerifyRegistration(ctx, res.RegistrationID, w.lastOTP(carolPhoneNo))
	require.NoError(t, err)
	cc, err := carol.Download(ctx, carolRef)
	require.NoError(t, err)

	tap := func(c *hceapp.Card, v hceapp.Verification) hceapp.Tap {
		tp, err := c.Pay(terminal(1200, byte(is.stan)), v)
		require.NoError(t, err)
		return tp
	}
	verified := hceapp.Verification{CDCVM: true}

	good := tap(c1, verified)
	code, why := is.authorise(good, aliceCloudPAN, 1200)
	require.Equal(t, isospec.RCApproved, code, why)

	code, why = is.authorise(good, aliceCloudPAN, 1200)
	require.Equal(t, isospec.DeclineReason(authz.KeyUsed), why)
	require.Equal(t, isospec.ResponseCode("82"), code)

	small, err := c1.Pay(terminal(1, 9), hceapp.Verification{})
	require.NoError(t, err)
	_, why = is.authorise(small, aliceCloudPAN, 1)
	require.Equal(t, isospec.DeclineReason(authz.CDCVMRequired), why)

	code, why = is.authorise(tap(cc, hceapp.Verification{MobilePIN: "2580"}), carolCloudPAN, 1200)
	require.Equal(t, isospec.RCApproved, code, why)
	code, why = is.authorise(tap(cc, hceapp.Verification{MobilePIN: "0852"}), carolCloudPAN, 1200)
	require.Equal(t, isospec.DeclineReason(authz.CloudUMDInvalid), why)
	require.Equal(t, isospec.ResponseCode("55"), code)

	_, err = w.platform.ReportLost("call-centre", aliceRef, "alice-phone-1")
	require.NoError(t, err)
	code, why = is.authorise(tap(c1, verified), aliceCloudPAN, 1200)
	require.Equal(t, isospec.DeclineReason(authz.DeviceLost), why)
	require.Equal(t, isospec.ResponseCode("62"), code)
	code, why = is.authorise(tap(c2, verified), aliceCloudPAN, 1200)
	require.Equal(t, isospec.RCApproved, code, why)
}
