package e2e

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/otaagent"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/tsm/sqlstore"
	"github.com/tapsim/tapsim/provision/wire"
)

var otaAddrRE = regexp.MustCompile(`OTA on (\S+),`)

// tsmParty is a client of the pki directory presenting party name's
// certificate.
func tsmParty(t *testing.T, pki, name string) *wire.Client {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "provisioning", name+".pem"), filepath.Join(pki, "provisioning", name+"-key.pem"))
	require.NoError(t, err)
	return provisioningClient(t, pki, cert)
}

// R-M6, R-S4b, R-M1, R-M2, R-S3a, R-G1, R-G2, R-G5g: the SP TSM and the SE
// TSM as their own processes, with the keys and certificates of "tapsim
// pki init", the SE TSM's back office and OTA listener apart. The SE
// operator registers a phone's SE, the issuer orders its personalisation
// (an SE it owns, then a shared one), the phone's OTA agent relays the SP
// TSM's SCP03 session through the SE TSM, and the phone taps at the
// acquirer and issuer processes, approved. A client without a certificate
// or with one of another CA is refused at TLS, a party's certificate on a
// listener not its own is refused peer_not_allowed, garbage gets a
// refusal with its reason, and the services keep serving.
func TestTSMProcesses(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	out, err := run(t, "pki", "init", "--dir", pki, "--validity", "1h")
	require.NoError(t, err, out)
	require.Contains(t, out, "sp-tsm")
	require.Contains(t, out, "se-tsm-ota")

	// The issuer's ID&V checks each cardholder's code for the SP TSM
	// (R-S3c): no order carries anything of the code.
	issuerDir := filepath.Join(dir, "issuer")
	iss := start(t, "issuer", "--listen", "127.0.0.1:0", "--data", issuerDir, "--provisioning-listen", "127.0.0.1:0", "--pki", pki)
	provAddr := iss.provisioningAddr(t)

	spAddr, boAddr := freeAddr(t), freeAddr(t)
	spData, seData := filepath.Join(dir, "sp-tsm"), filepath.Join(dir, "se-tsm")
	seArgs := []string{"tsm", "se", "--listen", boAddr, "--ota-listen", "127.0.0.1:0", "--sp-tsm", "https://" + spAddr, "--pki", pki, "--data", seData}
	se := start(t, seArgs...)
	m := otaAddrRE.FindStringSubmatch(strings.Join(se.output(), "\n"))
	require.NotNil(t, m, se.output())
	otaAddr := m[1]
	spArgs := []string{"tsm", "sp", "--listen", spAddr, "--se-tsm", "https://" + se.addr, "--pki", pki, "--data", spData,
		"--issuer-idv", "https://" + provAddr}
	sp := start(t, spArgs...)
	require.Equal(t, spAddr, sp.addr)

	k := lab.ProvisioningPKI{Dir: pki}
	issuer, err := k.Party(lab.PartyIssuer)
	require.NoError(t, err)
	operator, err := k.Party(lab.PartySEOperator)
	require.NoError(t, err)
	dirList, err := k.Trust(lab.PartySPTSM, lab.PartySETSM)
	require.NoError(t, err)
	spKeys, _ := dirList.Party(lab.PartySPTSM)
	seKeys, _ := dirList.Party(lab.PartySETSM)
	issuerC := tsmParty(t, pki, lab.PartyIssuer)
	operatorC := tsmParty(t, pki, lab.PartySEOperator)
	phoneC := tsmParty(t, pki, lab.PartyPhone)
	ctx := context.Background()

	foreign := tlstest.NewPKI(t, lab.PartyIssuer)
	for name, url := range map[string]string{"SP TSM": "https://" + spAddr + "/order", "SE TSM back office": "https://" + se.addr + "/handover",
		"SE TSM OTA": "https://" + otaAddr + "/open"} {
		t.Run("R-G1 "+name+" refuses a certificate of another CA at TLS", func(t *testing.T) {
			c := provisioningClient(t, pki, foreign.Rogue(lab.PartyIssuer).TLSCertificate())
			_, _, err := c.Post(ctx, url, wire.MediaJOSE, []byte("x"))
			require.ErrorIs(t, err, wire.ErrTransport)
		})
		t.Run("R-G1 "+name+" refuses a client without a certificate at TLS", func(t *testing.T) {
			pool, err := tlsconf.LoadPool(filepath.Join(pki, "ca.pem"))
			require.NoError(t, err)
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
			t.Cleanup(tr.CloseIdleConnections)
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post(url, wire.MediaJOSE, nil)
			if err == nil {
				_ = resp.Body.Close()
			}
			require.Error(t, err)
		})
	}

	t.Run("R-S4b a party's certificate on a listener not its own is refused", func(t *testing.T) {
		for _, c := range []struct {
			cl  *wire.Client
			url string
		}{{phoneC, "https://" + spAddr + "/order"}, {phoneC, "https://" + se.addr + "/register"}, {issuerC, "https://" + spAddr + "/relay"}} {
			_, _, err := c.cl.Post(ctx, c.url, wire.MediaJOSE, []byte("garbage.garbage"))
			require.Equal(t, tsm.ReasonPeer, wire.RefusalFor(err).Reason, c.url)
		}
	})
	t.Run("R-G2 garbage is refused with a reason", func(t *testing.T) {
		for _, c := range []struct {
			cl      *wire.Client
			url, mt string
			body    string
			reason  string
		}{
			{issuerC, "https://" + spAddr + "/order", wire.MediaJOSE, "garbage.garbage", wire.ReasonMalformed},
			{operatorC, "https://" + se.addr + "/register", wire.MediaJOSE, "garbage", wire.ReasonMalformed},
			{phoneC, "https://" + otaAddr + "/open", wire.MediaJSON, "not json {", wire.ReasonMalformed},
			{phoneC, "https://" + otaAddr + "/step", wire.MediaJSON, `{"session":"x","step":1,"response":"zz"}`, wire.ReasonInvalid},
		} {
			_, _, err := c.cl.Post(ctx, c.url, c.mt, []byte(c.body))
			require.Equal(t, c.reason, wire.RefusalFor(err).Reason, c.url)
		}
	})

	hosts := startHosts(t)
	term := newTerminal(t, hosts.acquirer.addr, time.Now())
	type done struct {
		o      tsm.Order
		sc     tsm.Script
		secret []string // hex of keys no TSM store may hold in clear
	}
	var orders []done
	for i, c := range []struct {
		profile string
		shared  bool
	}{{"visa-se-phone", false}, {"mc-se-phone", true}} {
		t.Run(fmt.Sprintf("R-M6 %s personalised across the processes, tap approved", c.profile), func(t *testing.T) {
			// A phone whose SE the operator issued and registers, its ISD
			// keys sealed to the SE TSM (R-G5e).
			ph, err := phone.New(phone.Config{Kind: phone.SE, Passcode: "2468", Clock: time.Now, Rand: rand.Reader})
			require.NoError(t, err)
			ph.CardOn()
			isd, err := tsm.RandomKeys(rand.Reader)
			require.NoError(t, err)
			require.NoError(t, ph.SE().SetKeys(phone.ISDAID, 1, isd))
			ph.SE().SetCPLC(gp.CPLC{ICFabricator: [2]byte{0x47, 0x90}, ICType: [2]byte{0x50, 0x40}, ICSerial: [4]byte{0, 0xE2, 0xE0, byte(i)}, ICBatch: [2]byte{0, 1}})
			require.NoError(t, ph.SE().AddPaymentModule(emvapp.Env{Holder: ph.Holder(), Rand: rand.Reader}))
			// Its key-agreement key, certified by the SE authority of pki
			// init at manufacture: the SP TSM agrees the issuer's keys with it.
			certify, closeAuthority, ok, err := k.SEAuthorityCertifier()
			require.NoError(t, err)
			require.True(t, ok)
			defer closeAuthority()
			agree, err := ecdh.P256().GenerateKey(rand.Reader)
			require.NoError(t, err)
			cert, err := certify(ph.SE().SEID(), agree.PublicKey())
			require.NoError(t, err)
			ph.SE().SetAgreementKey(agree, cert)
			device := fmt.Sprintf("35209900E2E0%04X", i)
			isdSet := tsm.HandOver(phone.ISDAID, tsm.Keys{KVN: 1, Keys: isd})
			reg, err := wire.Seal(tsm.Registration{SEID: ph.SE().SEID(), DeviceID: device, PhoneNumber: lab.SamplePhoneNumber, ISD: &isdSet},
				operator, seKeys, wire.Header{Type: tsm.TypeRegister})
			require.NoError(t, err)
			_, _, err = operatorC.Post(ctx, "https://"+se.addr+"/register", wire.MediaJOSE, []byte(reg))
			require.NoError(t, err)

			prof, err := cards.Builtin(c.profile)
			require.NoError(t, err)
			ps, err := cards.PrepareSE(prof, cards.Options{Clock: time.Now, Rand: rand.Reader})
			require.NoError(t, err)
			p := ps[0]
			issuerKeys, err := tsm.RandomKeys(rand.Reader)
			require.NoError(t, err)
			var sc tsm.Script
			if c.shared {
				sc, err = tsm.Shared(tsm.Keys{KVN: 0x31, Keys: issuerKeys}, p)
			} else {
				sc, err = tsm.IssuerOwned(phone.ISDAID, tsm.Keys{KVN: 1, Keys: isd}, tsm.Keys{KVN: 0x30, Keys: issuerKeys}, p)
			}
			require.NoError(t, err)
			orderID := fmt.Sprintf("e2e-order-%d", i)
			o := tsm.Order{OrderID: orderID, CardRef: "card-" + c.profile, SEID: ph.SE().SEID(), DeviceID: device, PhoneNumber: lab.SamplePhoneNumber,
				SSD: fmt.Sprintf("%X", p.SD), Owner: p.Owner, Shared: c.shared, IssuerConsent: true}
			tok, err := tsm.OrderFor(issuer, spKeys, o, sc, wire.Header{})
			require.NoError(t, err)
			_, _, err = issuerC.Post(ctx, "https://"+spAddr+"/order", wire.MediaJOSE, []byte(tok))
			require.NoError(t, err)

			a := &otaagent.Agent{Client: phoneC, URL: "https://" + otaAddr, DeviceID: device, SE: ph.SE().Process}
			_, code, err := lab.BeginSEAtIssuer(ctx, issuerDir, orderID, c.profile, device)
			require.NoError(t, err)
			wrong := "000000"
			if code == wrong {
				wrong = "000001"
			}
			_, err = a.Run(ctx, orderID, wrong)
			require.Equal(t, tsm.ReasonOTPWrong, wire.RefusalFor(err).Reason, "R-S3c")
			res, err := a.Run(ctx, orderID, code)
			require.NoError(t, err)
			require.Equal(t, tsm.ReasonPersonalised, res.Outcome)
			require.Equal(t, tsm.ReasonOTAClosed, wire.RefusalFor(a.Replay(ctx, res.Last)).Reason, "R-G4: a replayed step")
			n, err := ph.SyncSE()
			require.NoError(t, err)
			require.Equal(t, 1, n)
			requireAnswer(t, term.sell(t, ph, 1500, "2468", ""), "00", "")
			var secret []string
			for _, k := range []keys.Key{isd.ENC, isd.MAC, isd.DEK, issuerKeys.ENC, issuerKeys.MAC, issuerKeys.DEK} {
				secret = append(secret, hex.EncodeToString(k.Bytes()), strings.ToUpper(hex.EncodeToString(k.Bytes())),
					base64.StdEncoding.EncodeToString(k.Bytes()))
			}
			orders = append(orders, done{o: o, sc: sc, secret: secret})
			// R-S4e: a second order for the same SE is refused.
			o.OrderID = orderID + "-again"
			tok, err = tsm.OrderFor(issuer, spKeys, o, sc, wire.Header{})
			require.NoError(t, err)
			_, _, err = issuerC.Post(ctx, "https://"+spAddr+"/order", wire.MediaJOSE, []byte(tok))
			require.Equal(t, tsm.ReasonAlreadyDone, wire.RefusalFor(err).Reason)
		})
	}
	t.Run("R-M6 provision se drives the phone and the issuer against the running TSMs", func(t *testing.T) {
		args := []string{"provision", "se", "--card", "mc-se-phone", "--device", "35209900E2E0F001", "--shared-se",
			"--sp-tsm", spAddr, "--se-tsm", se.addr, "--ota", otaAddr, "--pki", pki, "--data", issuerDir}
		// Fresh hosts: the card's counter starts again with each new SE.
		fresh := startHosts(t)
		out, err := run(t, append(args, "--tap", "1500", "--acquirer", fresh.acquirer.addr)...)
		require.NoError(t, err, out)
		require.Contains(t, out, "SE TSM: OTA session")
		require.Contains(t, out, "personalised")
		require.Contains(t, out, "DE39 00")
		require.Contains(t, out, "OTA  PUT KEY")
		require.Contains(t, out, "OTA  GET DATA 7F21", "R-M2: the SE's certificate read for the agreed key")
		args[5] = "35209900E2E0F002"
		out, err = run(t, append(args, "--otp", "000000")...)
		require.Error(t, err, out)
		require.Contains(t, out, tsm.ReasonOTPWrong, "R-S3c")
	})
	t.Run("R-G5g R-S4d the TSMs' stores hold no personalisation data and outlive a restart", func(t *testing.T) {
		require.Len(t, orders, 2)
		sp.stop()
		se.stop()
		for _, f := range []string{lab.StoreFile(spData, lab.PartySPTSM), lab.StoreFile(seData, lab.PartySETSM)} {
			st, err := sqlstore.Open(f)
			require.NoError(t, err)
			d, err := tsm.Dump(st, tsm.StoreKinds...)
			require.NoError(t, err)
			log, err := st.Log()
			require.NoError(t, err)
			require.NoError(t, st.Close())
			require.NotEmpty(t, d, f)
			require.NotEmpty(t, log, "R-S4d: "+f)
			all := strings.Join(d, "\n")
			require.NotRegexp(t, `eyJ[A-Za-z0-9_-]{16,}\.`, all, "no envelope or script kept: "+f)
			for _, o := range orders {
				for _, k := range o.secret {
					require.NotContains(t, all, k, f)
				}
			}
		}
		se = start(t, seArgs...)
		sp = start(t, spArgs...)
		o := orders[0].o
		o.OrderID += "-after-restart"
		tok, err := tsm.OrderFor(issuer, spKeys, o, orders[0].sc, wire.Header{})
		require.NoError(t, err)
		_, _, err = issuerC.Post(ctx, "https://"+spAddr+"/order", wire.MediaJOSE, []byte(tok))
		require.Equal(t, tsm.ReasonAlreadyDone, wire.RefusalFor(err).Reason, "R-S4e: remembered across the restart")
	})
}

// R-S3c, R-G3c, R-M6: with the issuer's ID&V on its provisioning listener
// and the SP TSM pointed at it (--issuer-idv), the issuer sends the
// cardholder's code by SMS to the card's registered phone and checks it
// for the SP TSM across the processes: a wrong code is refused otp_wrong
// with the tries left, the code from the inbox personalises the SE and
// the phone taps, approved; a certificate other than the SP TSM's is
// refused at the issuer's check.
func TestTSMProcessesWithIssuerIDV(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	out, err := run(t, "pki", "init", "--dir", pki, "--validity", "1h")
	require.NoError(t, err, out)
	issuerDir := filepath.Join(dir, "issuer")
	iss := start(t, "issuer", "--listen", "127.0.0.1:0", "--data", issuerDir, "--provisioning-listen", "127.0.0.1:0", "--pki", pki)
	provAddr := iss.provisioningAddr(t)
	acq := start(t, "acquirer", "--listen", "127.0.0.1:0", "--issuer", iss.addr, "--data", filepath.Join(dir, "acquirer"),
		"--issuer-timeout", "3s")
	acq.waitLine(t, "issuer links signed on")

	spAddr, boAddr := freeAddr(t), freeAddr(t)
	se := start(t, "tsm", "se", "--listen", boAddr, "--ota-listen", "127.0.0.1:0", "--sp-tsm", "https://"+spAddr, "--pki", pki)
	m := otaAddrRE.FindStringSubmatch(strings.Join(se.output(), "\n"))
	require.NotNil(t, m, se.output())
	start(t, "tsm", "sp", "--listen", spAddr, "--se-tsm", "https://"+se.addr, "--pki", pki, "--issuer-idv", "https://"+provAddr)

	c := tsmParty(t, pki, lab.PartyIssuer)
	_, _, err = c.Post(context.Background(), "https://"+provAddr+lab.PathSEVerify, wire.MediaJOSE, []byte("garbage"))
	require.Equal(t, tsm.ReasonPeer, wire.RefusalFor(err).Reason, "R-S4b: only the SP TSM's certificate")

	args := []string{"provision", "se", "--card", "visa-se-phone", "--device", "35209900E2E0A001", "--sp-tsm", spAddr,
		"--se-tsm", se.addr, "--ota", m[1], "--pki", pki, "--data", issuerDir}
	out, err = run(t, append(args, "--otp", "000000")...)
	require.Error(t, err, out)
	require.Contains(t, out, "issuer ID&V: one-time code sent by SMS")
	require.Contains(t, out, tsm.ReasonOTPWrong)
	require.Contains(t, out, "4 tries left", "R-G3c: the issuer's count")

	args[5] = "35209900E2E0A002"
	out, err = run(t, append(args, "--tap", "1500", "--acquirer", acq.addr)...)
	require.NoError(t, err, out)
	require.Contains(t, out, "personalised")
	require.Contains(t, out, "DE39 00")
}

// R-S3c, R-S4a: an SP TSM without the issuer's ID&V link refuses every
// order issuer_idv_required, and an order carries nothing of the
// cardholder's code: nothing about it reaches the SE TSM's store, where a
// reader could try the million 6-digit codes offline.
func TestTSMProcessesRefuseOrdersWithoutIssuerIDV(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	out, err := run(t, "pki", "init", "--dir", pki, "--validity", "1h")
	require.NoError(t, err, out)
	spAddr, boAddr := freeAddr(t), freeAddr(t)
	seData := filepath.Join(dir, "se-tsm")
	se := start(t, "tsm", "se", "--listen", boAddr, "--ota-listen", "127.0.0.1:0", "--sp-tsm", "https://"+spAddr, "--pki", pki, "--data", seData)
	start(t, "tsm", "sp", "--listen", spAddr, "--se-tsm", "https://"+se.addr, "--pki", pki)

	k := lab.ProvisioningPKI{Dir: pki}
	issuer, err := k.Party(lab.PartyIssuer)
	require.NoError(t, err)
	dirList, err := k.Trust(lab.PartySPTSM)
	require.NoError(t, err)
	spKeys, _ := dirList.Party(lab.PartySPTSM)
	issuerC := tsmParty(t, pki, lab.PartyIssuer)
	prof, err := cards.Builtin("visa-se-phone")
	require.NoError(t, err)
	ps, err := cards.PrepareSE(prof, cards.Options{Clock: time.Now, Rand: rand.Reader})
	require.NoError(t, err)
	isd, err := tsm.RandomKeys(rand.Reader)
	require.NoError(t, err)
	issuerKeys, err := tsm.RandomKeys(rand.Reader)
	require.NoError(t, err)
	sc, err := tsm.IssuerOwned(phone.ISDAID, tsm.Keys{KVN: 1, Keys: isd}, tsm.Keys{KVN: 0x30, Keys: issuerKeys}, ps[0])
	require.NoError(t, err)
	o := tsm.Order{OrderID: "no-idv-1", CardRef: "card-visa-se-phone", SEID: "4790504000E2E0B001", DeviceID: "35209900E2E0B001",
		PhoneNumber: lab.SamplePhoneNumber, SSD: fmt.Sprintf("%X", ps[0].SD), Owner: ps[0].Owner, IssuerConsent: true}
	tok, err := tsm.OrderFor(issuer, spKeys, o, sc, wire.Header{})
	require.NoError(t, err)
	_, _, err = issuerC.Post(context.Background(), "https://"+spAddr+"/order", wire.MediaJOSE, []byte(tok))
	require.Equal(t, tsm.ReasonIDVRequired, wire.RefusalFor(err).Reason)
	out, err = run(t, "provision", "se", "--card", "visa-se-phone", "--device", "35209900E2E0B002", "--sp-tsm", spAddr,
		"--se-tsm", se.addr, "--ota", "127.0.0.1:1", "--pki", pki)
	require.Error(t, err, out)
	require.Contains(t, out, "--sp-tsm needs --data")

	se.stop()
	st, err := sqlstore.Open(lab.StoreFile(seData, lab.PartySETSM))
	require.NoError(t, err)
	defer st.Close()
	d, err := tsm.Dump(st, tsm.StoreKinds...)
	require.NoError(t, err)
	require.NotContains(t, strings.Join(d, "\n"), "otp_check", "no code hash in the SE TSM's store")
}
