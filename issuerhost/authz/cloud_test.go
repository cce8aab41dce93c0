package authz_test

import (
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// cloudRig is the sample issuer with two cloud tokens (visa-cloud and
// mc-cloud) of the SE phone's card, their key ledger and an engine that
// checks them.
type cloudRig struct {
	t      *testing.T
	n      *issuertest.Net
	e      *authz.Engine
	ledger *cloud.Ledger
	visaMK keys.Key
	mdMK   keys.Key
	umdMK  keys.Key
	stan   int
}

const (
	visaCloudTok = "cloud-visa"
	visaCloudPAN = "4895370012345671"
	mcCloudTok   = "cloud-mc"
	mcCloudPAN   = "5204740000009997"
	cloudPhone1  = "3520990017614849"
	cloudPhone2  = "3520990017614856"
	mobilePIN    = "2468"
)

var cloudSalt = []byte("0123456789abcdef")

func newCloudRig(t *testing.T) *cloudRig {
	t.Helper()
	n := issuertest.New(t)
	require.NoError(t, n.DB.Update(ctx, func(tx *store.Tx) error {
		for _, k := range []store.Token{
			{ID: visaCloudTok, Number: visaCloudPAN, CardID: issuertest.VisaSE, Expiry: "2812", Status: store.TokenActive,
				PSN: "00", CVN: authz.CVNVisaCloud, IMKRef: "issuer/imk/token", FormFactor: "hce-phone", DeviceBound: true},
			{ID: mcCloudTok, Number: mcCloudPAN, CardID: issuertest.VisaSE, Expiry: "2812", Status: store.TokenActive,
				PSN: "00", CVN: authz.CVNMCCloud, IMKRef: "issuer/imk/token", FormFactor: "hce-phone", DeviceBound: true},
		} {
			if err := tx.PutToken(ctx, k); err != nil {
				return err
			}
		}
		return nil
	}))
	r := &cloudRig{t: t, n: n, ledger: cloud.NewLedger(n.Clock.Now)}
	var err error
	r.e, err = authz.New(n.DB, n.HSM, authz.Config{ZPK: n.Keys.ZPK, PVK: n.Keys.PVK, Now: n.Clock.Now, Rand: fixedRand{},
		Cloud: &cloud.Verifier{HSM: n.HSM, Ledger: r.ledger, Now: n.Clock.Now}})
	require.NoError(t, err)
	imk := keys.MustHex(keys.TDES, issuertest.IMKTok)
	r.visaMK, err = cryptogram.DeriveICCMK(cryptogram.OptionA, imk, visaCloudPAN, "00")
	require.NoError(t, err)
	r.mdMK, err = cryptogram.DeriveICCMK(cryptogram.OptionA, imk, mcCloudPAN, "00")
	require.NoError(t, err)
	r.umdMK, err = cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, issuertest.IMKTokUMD), mcCloudPAN, "00")
	require.NoError(t, err)
	return r
}

// issue records key counter of this hour as issued to device, and
// returns its key index.
func (r *cloudRig) issue(device string, counter int) emvcloud.KeyIndex {
	r.t.Helper()
	ki, err := emvcloud.NewKeyIndex(r.n.Clock.Now(), counter)
	require.NoError(r.t, err)
	require.NoError(r.t, r.ledger.IssueLUK(visaCloudTok, device, ki, 1))
	return ki
}

func cloudTerminal(amount int64, atc uint16) cryptogram.Values {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	return cryptogram.Values{
		0x9F02: h(fmt.Sprintf("%012d", amount)), 0x9F03: h("000000000000"), 0x9F1A: h("0158"), 0x95: h("0000000000"),
		0x5F2A: h("0901"), 0x9A: h("260315"), 0x9C: h("00"), 0x9F37: h(fmt.Sprintf("1A2B%04X", atc)), 0x82: h("1980"),
		0x9F36: {byte(atc >> 8), byte(atc)},
	}
}

func (r *cloudRig) request(pan string, amount int64, tags cryptogram.Values, ac []byte, device string) authz.Request {
	r.t.Helper()
	list := tlv.List{{Tag: 0x9F26, Value: ac}, {Tag: 0x9F27, Value: []byte{0x80}}}
	for _, tag := range []tlv.Tag{0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03} {
		list = append(list, tlv.TLV{Tag: tag, Value: tags[uint32(tag)]})
	}
	icc, err := list.Encode()
	require.NoError(r.t, err)
	r.stan++
	return authz.Request{MTI: "0100", PAN: pan, Expiry: "2812", ProcessingCode: "000000", Amount: amount, Currency: 901,
		EntryMode: "071", TransmissionTime: r.n.Clock.Now().Format("0102150405"), STAN: fmt.Sprintf("%06d", r.stan),
		RRN: fmt.Sprintf("606820%06d", r.stan), AcquirerID: "12345", TerminalID: "T0000001",
		MerchantID: "M00000000000001", ICC: icc, DeviceID: device}
}

// visa is a visa-cloud tap with the key ki at ATC atc.
func (r *cloudRig) visa(ki emvcloud.KeyIndex, atc uint16, amount int64, cdcvm bool, device string) authz.Request {
	r.t.Helper()
	tags := cloudTerminal(amount, atc)
	var cvr [emvcloud.CVRLength]byte
	cvr[1] = 0x20 // an ARQC (MODEL)
	if cdcvm {
		cvr[0] = emvcloud.CVRCDCVM
	}
	tags[0x9F10] = emvcloud.VisaIAD(1, cvr, ki)
	luk, err := emvcloud.DeriveLUK(r.visaMK, 1, ki)
	require.NoError(r.t, err)
	ac, err := emvcloud.GenerateLUKAC(luk, tags)
	require.NoError(r.t, err)
	return r.request(visaCloudPAN, amount, tags, ac, device)
}

// mc is an mc-cloud tap at ATC atc with the mobile PIN pin.
func (r *cloudRig) mc(atc uint16, amount int64, pin string, mdKey *keys.Key) authz.Request {
	r.t.Helper()
	tags := cloudTerminal(amount, atc)
	tags[0x9F10] = emvcloud.MCIAD(1, [4]byte{0, 0x20}, [4]byte{}) // an ARQC (MODEL)
	skMD, skUMD, err := emvcloud.SessionKeys(r.mdMK, r.umdMK, atc)
	require.NoError(r.t, err)
	suk, err := emvcloud.MakeSUK(skUMD, mobilePIN, cloudSalt, mcCloudTok)
	require.NoError(r.t, err)
	k, err := emvcloud.UnlockSUK(suk, pin, cloudSalt, mcCloudTok)
	require.NoError(r.t, err)
	if mdKey != nil {
		skMD = *mdKey
	}
	ac, iad, err := emvcloud.GenerateMC(skMD, k, tags)
	require.NoError(r.t, err)
	tags[0x9F10] = iad
	return r.request(mcCloudPAN, amount, tags, ac, "")
}

// R-S5b, R-S5d, R-S2e, R-C1: the authorisation engine checks a cloud
// token's cryptograms through the key ledger; each refusal has its
// reason and code.
func TestCloudTokens(t *testing.T) {
	r := newCloudRig(t)
	other := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")

	ki0, ki1, ki2, ki3 := r.issue(cloudPhone1, 0), r.issue(cloudPhone1, 1), r.issue(cloudPhone2, 2), r.issue(cloudPhone2, 3)
	never, err := emvcloud.NewKeyIndex(r.n.Clock.Now(), 50)
	require.NoError(t, err)
	for atc := uint16(1); atc <= 4; atc++ {
		require.NoError(t, r.ledger.IssueSUK(mcCloudTok, cloudPhone1, atc))
	}
	used := r.visa(ki0, 1, 1000, true, "")

	for _, tc := range []struct {
		name   string
		req    func() authz.Request
		reason authz.Reason
		code   string
		device string
	}{
		{"visa-cloud approved", func() authz.Request { return used }, authz.Approved, "00", cloudPhone1},
		{"visa-cloud key used twice", func() authz.Request { return r.visa(ki0, 2, 1000, true, "") }, authz.KeyUsed, "82", ""},
		{"visa-cloud key never issued", func() authz.Request { return r.visa(never, 3, 1000, true, "") }, authz.KeyNotIssued, "82", ""},
		{"visa-cloud key of another phone", func() authz.Request { return r.visa(ki1, 4, 1000, true, cloudPhone2) }, authz.DeviceMismatch, "63", ""},
		{"visa-cloud no cardholder verification, NT$1", func() authz.Request { return r.visa(ki2, 1, 100, false, "") }, authz.CDCVMRequired, "", cloudPhone2},
		{"visa-cloud altered amount", func() authz.Request {
			req := r.visa(ki3, 2, 1000, true, "")
			req.ICC = replaceTag(t, req.ICC, 0x9F02, []byte{0, 0, 0, 0, 0x99, 0})
			req.Amount = 9900
			return req
		}, authz.ARQCInvalid, "", ""},
		{"mc-cloud approved", func() authz.Request { return r.mc(1, 1000, mobilePIN, nil) }, authz.Approved, "00", cloudPhone1},
		{"mc-cloud wrong mobile PIN", func() authz.Request { return r.mc(2, 1000, "1357", nil) }, authz.CloudUMDInvalid, "55", cloudPhone1},
		{"mc-cloud key used (after the wrong PIN)", func() authz.Request { return r.mc(2, 1000, mobilePIN, nil) }, authz.KeyUsed, "82", ""},
		{"mc-cloud MD under another key", func() authz.Request { return r.mc(3, 1000, mobilePIN, &other) }, authz.CloudMDInvalid, "82", ""},
		{"mc-cloud key never issued", func() authz.Request { return r.mc(9, 1000, mobilePIN, nil) }, authz.KeyNotIssued, "82", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, r.e, tc.req())
			require.Equal(t, tc.reason, d.Reason, d.String())
			if tc.code != "" {
				require.Equal(t, tc.code, d.Code)
			}
			if tc.device != "" {
				require.Equal(t, tc.device, d.DeviceID)
			}
			if d.Approved() {
				require.Equal(t, authz.CVMCDCVM, d.CVM)
				require.Nil(t, d.IssuerAuthData, "the cloud model has no ARPC")
			}
		})
	}

	// R-C1: phone 2 reported lost: its keys are refused, phone 1's serve.
	// (ki1 was spent by the tap that named phone 2: its cryptogram
	// verified.)
	ki5 := r.issue(cloudPhone1, 5)
	require.NoError(t, r.ledger.SuspendDevice(visaCloudTok, cloudPhone2))
	d := decide(t, r.e, r.visa(ki3, 5, 1000, true, ""))
	require.Equal(t, authz.DeviceLost, d.Reason)
	d = decide(t, r.e, r.visa(ki5, 6, 1000, true, ""))
	require.Equal(t, authz.Approved, d.Reason, d.String())

	// Past its time to live.
	ki4 := r.issue(cloudPhone1, 4)
	r.n.Clock.Advance(25 * time.Hour)
	d = decide(t, r.e, r.visa(ki4, 7, 1000, true, ""))
	require.Equal(t, authz.KeyExpired, d.Reason)
}

// Without a cloud verifier a cloud token cannot be checked.
func TestCloudTokenWithoutVerifier(t *testing.T) {
	r := newCloudRig(t)
	e, err := authz.New(r.n.DB, r.n.HSM, authz.Config{ZPK: r.n.Keys.ZPK, PVK: r.n.Keys.PVK, Now: r.n.Clock.Now, Rand: fixedRand{}})
	require.NoError(t, err)
	d := decide(t, e, r.visa(r.issue(cloudPhone1, 0), 1, 1000, true, ""))
	require.Equal(t, authz.CheckNotAvailable, d.Reason)
	require.Equal(t, "57", d.Code)
}

func replaceTag(t *testing.T, icc []byte, tag tlv.Tag, v []byte) []byte {
	t.Helper()
	l, err := tlv.Decode(icc)
	require.NoError(t, err)
	for i := range l {
		if l[i].Tag == tag {
			l[i].Value = v
		}
	}
	b, err := l.Encode()
	require.NoError(t, err)
	return b
}
