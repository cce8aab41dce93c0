package seflow_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/otaagent"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

var ctx = context.Background()

const phoneNo = "+886912345678"

func keySet(b byte) scp03.StaticKeys {
	k := func(o byte) keys.Key { return keys.MustNew(keys.AES, bytes.Repeat([]byte{b + o}, 16)) }
	return scp03.StaticKeys{ENC: k(0), MAC: k(1), DEK: k(2)}
}

// rig is the issuer, the SP TSM, the SE TSM (back office and OTA
// listeners apart, R-S4b) and the clients between them.
type rig struct {
	t        *testing.T
	seStore  *tsm.MemoryStore // the SE TSM's store, as a reader of it sees it
	clock    *wiretest.Clock
	pki      *tlstest.PKI
	issuer   *wire.Party
	spParty  *wire.Party
	seParty  *wire.Party
	sp       *tsm.SPTSM
	se       *tsm.SETSM
	spURL    string
	otaURL   string
	boURL    string
	issuerCl *wire.Client
	phoneCl  *wire.Client
	phone2Cl *wire.Client
	seq      byte
	// initial are the SSD key sets the SE TSM drew, by SEID: the copy a
	// dishonest operator keeps (R-M2).
	// seCA certifies the SEs' key-agreement keys; the SP TSM trusts it.
	seCA    *ecdsa.PrivateKey
	mu      sync.Mutex
	initial map[string]tsm.Keys
	seq2    byte
}

// operatorCopy is the initial key set the SE TSM drew for seid.
func (r *rig) operatorCopy(seid string) tsm.Keys {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.initial[seid]
	require.True(r.t, ok, "no SSD created on %s", seid)
	return k
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigSweeping(t, 0)
}

// newRigSweeping is newRig with the TSMs applying their TTLs every sweep
// without a request (their default when 0).
func newRigSweeping(t *testing.T, sweep time.Duration) *rig {
	t.Helper()
	r := &rig{t: t, clock: wiretest.NewClock(wiretest.Epoch)}
	r.pki = tlstest.NewPKI(t, "sp-tsm", "se-tsm", "se-tsm-ota", "issuer", "phone", "phone-2")
	r.issuer = wiretest.Party(t, "issuer", 1)
	r.spParty = wiretest.Party(t, "sp-tsm", 2)
	r.seParty = wiretest.Party(t, "se-tsm", 3)
	spTrust, err := wire.NewTrustList(r.issuer.Public(), r.seParty.Public())
	require.NoError(t, err)
	seTrust, err := wire.NewTrustList(r.issuer.Public(), r.spParty.Public())
	require.NoError(t, err)

	vault, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"), Rand: wiretest.NewSeeded(30)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = vault.Close() })
	dek, err := vault.GenerateKey("se-tsm/isd-keys", hsm.UsageDEK, keys.AES, 32)
	require.NoError(t, err)
	spVault, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F"), Rand: wiretest.NewSeeded(31)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = spVault.Close() })
	spDEK, err := spVault.GenerateKey("sp-tsm/scripts", hsm.UsageDEK, keys.AES, 32)
	require.NoError(t, err)
	// Each TSM calls the other: both listeners first.
	boLn, bo := r.listener()
	spLn, spURL := r.listener()
	r.boURL, r.spURL = bo, spURL
	seCl, err := wire.NewClient(r.pki.Client("se-tsm", ""), wire.ClientLimits{Timeout: 30 * time.Second})
	require.NoError(t, err)
	r.initial = map[string]tsm.Keys{}
	newKeys := func(seid string) (scp03.StaticKeys, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.seq2++
		ks := keySet(0xA0 + r.seq2)
		r.initial[seid] = tsm.Keys{KVN: tsm.InitialKVN, Keys: ks}
		return ks, nil
	}
	r.seStore = tsm.NewMemoryStore()
	r.se, err = tsm.NewSETSM(tsm.SEConfig{Store: r.seStore, Vault: vault, DEK: dek, Party: r.seParty, Trust: seTrust, SPTSMs: []string{"sp-tsm"}, Issuers: []string{"issuer"}, BackOfficePeers: []string{"sp-tsm"},
		SPTSMURLs: map[string]string{"sp-tsm": spURL}, Client: seCl, NewKeys: newKeys, Now: r.clock.Now, Rand: wiretest.NewSeeded(4), SweepEvery: sweep})
	require.NoError(t, err)
	t.Cleanup(r.se.Close)
	r.serve(r.se.BackOffice(), boLn, "se-tsm")
	r.otaURL = r.listen(r.se.OTA(), "se-tsm-ota")

	spCl, err := wire.NewClient(r.pki.Client("sp-tsm", ""), wire.ClientLimits{Timeout: 30 * time.Second})
	require.NoError(t, err)
	r.seCA, err = ecdsa.GenerateKey(elliptic.P256(), wiretest.NewSeeded(32))
	require.NoError(t, err)
	r.sp, err = tsm.NewSPTSM(tsm.SPConfig{Verifier: &issuerIDV{wrong: map[string]int{}}, SEAuthority: &r.seCA.PublicKey, Party: r.spParty, Trust: spTrust, Issuers: []string{"issuer"}, Peers: []string{"issuer"}, SETSMPeers: []string{"se-tsm"},
		SETSM: "se-tsm", SETSMURL: bo, Client: spCl, Vault: spVault, DEK: spDEK, Now: r.clock.Now, Rand: wiretest.NewSeeded(5), SweepEvery: sweep})
	require.NoError(t, err)
	t.Cleanup(r.sp.Close)
	r.serve(r.sp.Handler(), spLn, "sp-tsm")
	r.issuerCl, err = wire.NewClient(r.pki.Client("issuer", ""), wire.ClientLimits{Timeout: 30 * time.Second})
	require.NoError(t, err)
	r.phoneCl, err = wire.NewClient(r.pki.Client("phone", ""), wire.ClientLimits{Timeout: 30 * time.Second})
	require.NoError(t, err)
	r.phone2Cl, err = wire.NewClient(r.pki.Client("phone-2", ""), wire.ClientLimits{Timeout: 30 * time.Second})
	require.NoError(t, err)
	return r
}

func (r *rig) listener() (net.Listener, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(r.t, err)
	return ln, "https://" + ln.Addr().String()
}

func (r *rig) serve(h http.Handler, ln net.Listener, name string) {
	srv, err := tsm.Serve(h, ln, r.pki.Server(name))
	require.NoError(r.t, err)
	r.t.Cleanup(func() { _ = srv.Close() })
}

func (r *rig) listen(h http.Handler, name string) string {
	ln, url := r.listener()
	r.serve(h, ln, name)
	return url
}

// device is a phone with an SE, its CPLC and ISD keys, registered by the
// SE operator for phoneNo.
type device struct {
	id      string
	ph      *phone.Phone
	isdKeys tsm.Keys
	seid    string
}

func (r *rig) device(id string, serial byte, register bool) *device {
	r.t.Helper()
	ph, err := phone.New(phone.Config{Kind: phone.SE, Passcode: "5791", Clock: r.clock.Now, Rand: wiretest.NewSeeded(serial, 6)})
	require.NoError(r.t, err)
	ph.CardOn()
	d := &device{id: id, ph: ph, isdKeys: tsm.Keys{KVN: 1, Keys: keySet(0x40 + serial)}}
	require.NoError(r.t, ph.SE().SetKeys(phone.ISDAID, d.isdKeys.KVN, d.isdKeys.Keys))
	ph.SE().SetCPLC(gp.CPLC{ICFabricator: [2]byte{0x47, 0x90}, ICType: [2]byte{0x50, 0x40}, ICSerial: [4]byte{0, 0, 1, serial}, ICBatch: [2]byte{0, 7}})
	require.NoError(r.t, ph.SE().AddPaymentModule(emvapp.Env{Holder: ph.Holder(), Rand: wiretest.NewSeeded(serial, 7)}))
	d.seid = ph.SE().SEID()
	agree, err := ecdh.P256().GenerateKey(wiretest.NewSeeded(serial, 8))
	require.NoError(r.t, err)
	cert, err := gp.SignSECert(r.seCA, d.seid, agree.PublicKey(), wiretest.NewSeeded(serial, 9))
	require.NoError(r.t, err)
	ph.SE().SetAgreementKey(agree, cert)
	if register {
		isd := d.isdKeys
		require.NoError(r.t, r.se.Register(tsm.Binding{SEID: d.seid, DeviceID: id, PhoneNumber: phoneNo, ISDKeys: &isd}))
	}
	return d
}

func (d *device) transport() gp.Transport {
	return func(c []byte) ([]byte, error) { return d.ph.SE().Process(c), nil }
}

func (r *rig) agent(d *device) *otaagent.Agent {
	return &otaagent.Agent{Client: r.phoneCl, URL: r.otaURL, DeviceID: d.id, SE: d.ph.SE().Process}
}

// download submits o and runs its download with d's agent: its outcome.
func (r *rig) download(t *testing.T, d *device, o order) string {
	t.Helper()
	require.NoError(t, r.submit(o))
	res, err := r.agent(d).Run(ctx, o.OrderID, o.otp)
	require.NoError(t, err)
	return res.Outcome
}

func perso(t *testing.T, profile string) cards.SEPerso {
	p, err := cards.Builtin(profile)
	require.NoError(t, err)
	ps, err := cards.PrepareSE(p, cards.Options{Rand: wiretest.NewSeeded(9)})
	require.NoError(t, err)
	require.Len(t, ps, 1)
	return ps[0]
}

// order is the issuer's order for d, its script sealed within.
type order struct {
	tsm.Order
	script tsm.Script
	otp    string
}

func (r *rig) order(d *device, p cards.SEPerso, sc tsm.Script, shared bool) order {
	r.seq++
	id := "order-" + string('a'+rune(r.seq))
	o := tsm.Order{OrderID: id, CardRef: "card-" + d.id, SEID: d.seid, DeviceID: d.id, PhoneNumber: phoneNo,
		SSD: strings.ToUpper(hexs(p.SD)), Owner: p.Owner, Shared: shared, IssuerConsent: true}
	return order{Order: o, script: sc, otp: rigCode}
}

// rigCode is the one-time code the rig's issuer sends for every order.
const rigCode = "482913"

// rigTries is the wrong codes the rig's issuer takes before it locks the
// cardholder's provisioning.
const rigTries = 3

// issuerIDV is the rig's issuer ID&V, which the SP TSM asks to check the
// cardholder's code (R-S3c): rigCode is right, rigTries wrong ones lock.
type issuerIDV struct {
	mu    sync.Mutex
	wrong map[string]int
}

// VerifyOTP implements tsm.CardholderVerifier.
func (v *issuerIDV) VerifyOTP(_ context.Context, orderID, otp string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case v.wrong[orderID] >= rigTries:
		return wire.Refuse(http.StatusForbidden, tsm.ReasonIDVLocked, "locked")
	case otp == rigCode:
		return nil
	}
	v.wrong[orderID]++
	if v.wrong[orderID] >= rigTries {
		return wire.Refuse(http.StatusForbidden, tsm.ReasonIDVLocked, "locked")
	}
	ref := wire.Refuse(http.StatusForbidden, tsm.ReasonOTPWrong, "wrong code")
	ref.TriesLeft = rigTries - v.wrong[orderID]
	return ref
}

// submit sends the order to the SP TSM.
func (r *rig) submit(o order) error {
	tok, err := tsm.OrderFor(r.issuer, r.spParty.Public(), o.Order, o.script, wire.Header{Clock: r.clock.Now})
	require.NoError(r.t, err)
	_, _, err = r.issuerCl.Post(ctx, r.spURL+"/order", wire.MediaJOSE, []byte(tok))
	return err
}

func reason(t *testing.T, err error) string {
	t.Helper()
	require.Error(t, err)
	return wire.RefusalFor(err).Reason
}

func hexs(b []byte) string { return hex.EncodeToString(b) }
