package se

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/apdu"
	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

// The GlobalPlatform side of the SE: the card manager a TSM talks to over
// the OTA (or contact) interface with Process. The first domain created is
// the Issuer Security Domain (ISD), owned by the SE's owner; it creates
// Supplementary Security Domains (SSDs) with INSTALL [for install] of the
// Security Domain module, and each domain manages only its own applet
// instances and the SSDs associated with it (R-G5d).
//
// MODEL choices where the GP text leaves the card free:
//   - every management command (INSTALL, PUT KEY, STORE DATA, SET STATUS,
//     DELETE, GET STATUS) needs a secure channel at least at C-MAC, and
//     STORE DATA one with C-DECRYPTION: the record data is cardholder data
//     and travels enciphered too (R-S3b);
//   - the associated domain (the ISD) may put an SSD's first key set, through
//     INSTALL [for personalization] of the SSD and PUT KEY, only until the
//     SSD replaces a key set in a session of its own (key rotation by its
//     provider): the SSD is then PERSONALIZED and the ISD can no longer load
//     its keys (R-M2);
//   - STORE DATA blocks are numbered from 0 without gaps; a block out of
//     order ('6A86'), a malformed or clear sensitive DGI ('6A80') abandons
//     the personalisation, which restarts with INSTALL [for
//     personalization]; an applet instance personalised once refuses a
//     second personalisation ('6985', R-S4e);
//   - an enciphered STORE DATA block carries exactly one DGI whose data is
//     enciphered under the session's K-DEK (dgi.Encipher); clear blocks
//     carry a stream of DGIs that may continue in the next clear block;
//   - a domain asked about an AID that belongs to another domain answers as
//     if the AID did not exist ('6A88'), and GET STATUS lists only what the
//     domain may see: the firewall does not even reveal another domain's
//     content;
//   - the ISD keeps the SE owner's powers over the SSDs associated with it:
//     it may lock, unlock and delete them (with their content), never read
//     or change what is inside;
//   - at most 8 key sets per domain.

// AIDs of the Security Domain load file and module built into the SE, for
// INSTALL [for install] of an SSD.
var (
	SDLoadFile = gp.SDLoadFile
	SDModule   = gp.SDModule
)

// Param is the SCP03 "i" parameter the SE announces: S8 mode,
// pseudo-random card challenge, R-MAC and R-ENCRYPTION supported.
const Param = scp03.ParamPseudoRandom | scp03.ParamRMAC | scp03.ParamREnc

// maxKeySets bounds the key sets of a domain.
const maxKeySets = 8

// maxPerso bounds the personalisation data buffered for one instance.
const maxPerso = 64 << 10

// Personaliser makes an applet instance from its personalisation data
// once the last STORE DATA block arrived: the code of an executable module
// (a payment applet), given the instance AID and the DGIs, sensitive ones
// deciphered. An error leaves the instance unpersonalised.
type Personaliser func(aid []byte, data []dgi.DGI) (Applet, error)

type module struct {
	elf, aid    []byte
	personalise Personaliser
}

type keySet struct {
	kvn     byte
	keys    scp03.StaticKeys
	counter uint32
}

type instance struct {
	aid    []byte
	mod    *module
	state  byte
	applet Applet
}

// gpSession is the state of the GP interface between two resets.
type gpSession struct {
	sel       *domain
	pending   *scp03.Card
	pendingSD *domain
	pendingKS *keySet
	ch        *scp03.Channel
	sd        *domain
	// dek is the K-DEK the session opened with: it stays the session's
	// even if PUT KEY replaces the key set.
	dek       keys.Key
	persoInst *instance
	persoSD   *domain
	block     int
	buf       []byte
	dgis      []dgi.DGI
	// statusRest are the GET STATUS entries of P1 statusP1 and search
	// data statusQuery left for the next occurrences (P2 b1), after an
	// answer '6310'.
	statusRest  []gp.StatusEntry
	statusP1    byte
	statusQuery []byte
}

// AddModule makes an executable module available for INSTALL [for
// install]: load file elf, module aid, and the code that personalises its
// instances (the SE's ROM content; loading code over the air is not
// modelled).
func (s *SE) AddModule(elf, aid []byte, p Personaliser) error {
	if err := checkAID(elf); err != nil {
		return err
	}
	if err := checkAID(aid); err != nil {
		return err
	}
	if p == nil {
		return errors.New("se: module without code")
	}
	if s.findModule(elf, aid) != nil || (bytes.Equal(elf, SDLoadFile) && bytes.Equal(aid, SDModule)) {
		return fmt.Errorf("%w: module %X", ErrExists, aid)
	}
	s.modules = append(s.modules, &module{elf: bytes.Clone(elf), aid: bytes.Clone(aid), personalise: p})
	return nil
}

func (s *SE) findModule(elf, aid []byte) *module {
	for _, m := range s.modules {
		if bytes.Equal(m.elf, elf) && bytes.Equal(m.aid, aid) {
			return m
		}
	}
	return nil
}

// SetKeys gives the domain sd an SCP03 key set with version kvn (1 to
// '7F'), replacing the set with that version: the SE's own personalisation
// at the factory, or the SE owner's. Later changes go through PUT KEY.
func (s *SE) SetKeys(sd []byte, kvn byte, ks scp03.StaticKeys) error {
	d := s.find(sd)
	if d == nil {
		return fmt.Errorf("%w: %X", ErrNoDomain, sd)
	}
	if kvn == 0 || kvn > 0x7F {
		return fmt.Errorf("se: key version %02X (1 to 7F)", kvn)
	}
	if _, err := gp.KeySetKCVs(ks); err != nil {
		return fmt.Errorf("se: key set: %w", err)
	}
	for _, k := range d.keySets {
		if k.kvn == kvn {
			k.keys, k.counter = ks, 0
			return nil
		}
	}
	if len(d.keySets) >= maxKeySets {
		return fmt.Errorf("se: domain %X holds %d key sets already", sd, maxKeySets)
	}
	d.keySets = append(d.keySets, &keySet{kvn: kvn, keys: ks})
	return nil
}

// KeyVersions lists the key versions the domain sd holds.
func (s *SE) KeyVersions(sd []byte) ([]byte, error) {
	d := s.find(sd)
	if d == nil {
		return nil, fmt.Errorf("%w: %X", ErrNoDomain, sd)
	}
	out := make([]byte, len(d.keySets))
	for i, k := range d.keySets {
		out[i] = k.kvn
	}
	return out, nil
}

// SetCPLC sets the Card Production Life Cycle data that GET DATA '9F7F'
// returns and from which the SE identifier comes.
func (s *SE) SetCPLC(c gp.CPLC) { s.cplc = c }

// SetAgreementKey gives the SE its static key-agreement key pair, made at
// manufacture, and its authority's certificate of it (gp.SignSECert),
// which GET DATA '7F21' answers: a service provider then sends an SSD's
// new keys enciphered under a key agreed with it (gp.PutKeyAgreedCmd).
func (s *SE) SetAgreementKey(priv *ecdh.PrivateKey, cert []byte) {
	s.agreement, s.cert = priv, bytes.Clone(cert)
}

// CPLC returns the Card Production Life Cycle data.
func (s *SE) CPLC() gp.CPLC { return s.cplc }

// SEID is the SE identifier (gp.CPLC.SEID).
func (s *SE) SEID() string { return s.cplc.SEID() }

// Kind says what a registry entry is.
type Kind int

const (
	// KindISD is the Issuer Security Domain.
	KindISD Kind = iota + 1
	// KindSSD is a Supplementary Security Domain.
	KindSSD
	// KindApp is an applet instance.
	KindApp
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindISD:
		return "ISD"
	case KindSSD:
		return "SSD"
	case KindApp:
		return "application"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Entry is one line of the SE's registry: never keys or data.
type Entry struct {
	AID   []byte
	Kind  Kind
	State byte
	// SD is the associated Security Domain (nil for the ISD).
	SD []byte
	// Owner names the owner of a domain.
	Owner string
	// Personalised reports an applet instance whose personalisation is
	// complete.
	Personalised bool
}

// Registry lists the domains and applet instances, domains first in
// creation order, each followed by its instances.
func (s *SE) Registry() []Entry {
	var out []Entry
	for _, d := range s.domains {
		e := Entry{AID: bytes.Clone(d.aid), Kind: KindSSD, State: d.gpState, Owner: d.owner}
		if d.isd {
			e.Kind = KindISD
		}
		if d.parent != nil {
			e.SD = bytes.Clone(d.parent.aid)
		}
		if d.locked {
			e.State |= gp.StateLockedBit
		}
		out = append(out, e)
		for _, in := range d.instances {
			out = append(out, Entry{AID: bytes.Clone(in.aid), Kind: KindApp, State: in.state, SD: bytes.Clone(d.aid), Personalised: in.applet != nil})
		}
	}
	return out
}

// Reset ends the GP session: the secure channel and any personalisation in
// progress (the SE powered off, or the OTA session over).
func (s *SE) Reset() {
	s.clearPerso()
	s.gp = gpSession{}
}

func (s *SE) clearPerso() {
	for _, d := range s.gp.dgis {
		clear(d.Data)
	}
	clear(s.gp.buf)
	s.gp.persoInst, s.gp.persoSD, s.gp.block, s.gp.buf, s.gp.dgis = nil, nil, 0, nil, nil
}

func (s *SE) endSession() {
	s.clearPerso()
	if s.gp.ch != nil {
		s.gp.ch.Close()
	}
	s.gp.ch, s.gp.sd, s.gp.dek, s.gp.pending, s.gp.pendingSD, s.gp.pendingKS = nil, nil, keys.Key{}, nil, nil, nil
}

func sw(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

func okData(b []byte) []byte { return append(b, 0x90, 0x00) }

func (s *SE) isd() *domain {
	for _, d := range s.domains {
		if d.isd {
			return d
		}
	}
	return nil
}

// Process answers a command APDU of the GlobalPlatform interface (the TSM's
// side, over the OTA agent): SELECT of a Security Domain, GET DATA,
// INITIALIZE UPDATE and EXTERNAL AUTHENTICATE, then under the secure
// channel INSTALL, PUT KEY, STORE DATA, SET STATUS and DELETE. Responses
// are protected as the session's level says. Malformed commands get their
// status word; nothing panics.
func (s *SE) Process(capdu []byte) []byte {
	if len(capdu) < 4 {
		return sw(gp.SWWrongLength)
	}
	cla, ins := capdu[0], capdu[1]
	switch {
	case ins == gp.InsSelect && cla&0x80 == 0:
		return s.selectSD(capdu)
	case ins == scp03.InsInitializeUpdate && cla&0x80 != 0:
		return s.initializeUpdate(capdu)
	case ins == scp03.InsExternalAuthenticate && cla&0x80 != 0:
		return s.externalAuthenticate(capdu)
	}
	plain := capdu
	if s.gp.ch != nil {
		p, err := s.gp.ch.UnwrapCommand(capdu)
		if err != nil {
			code := scp03.StatusWord(err)
			s.endSession()
			return sw(code)
		}
		plain = p
	} else if cla&0x80 != 0 && (cla&0x0C == 0x04 || (cla&0x40 != 0 && cla&0x20 != 0)) {
		// Secure messaging without a session.
		return sw(gp.SWSecurityNotSatisfied)
	}
	cmd, err := apdu.ParseCommand(plain)
	if err != nil {
		return s.protect(sw(gp.SWWrongLength))
	}
	return s.protect(s.dispatch(cmd))
}

// protect wraps a response for the session, if there is one.
func (s *SE) protect(resp []byte) []byte {
	if s.gp.ch == nil || s.gp.ch.Closed() {
		return resp
	}
	w, err := s.gp.ch.WrapResponse(resp)
	if err != nil {
		return sw(0x6F00)
	}
	return w
}

func (s *SE) dispatch(c apdu.Command) []byte {
	if c.INS != gp.InsGetStatus {
		// The next occurrences of GET STATUS follow it directly: any
		// other command (one that may change the registry) ends them.
		s.gp.statusRest = nil
	}
	if c.CLA&0x80 == 0 {
		return sw(gp.SWClaNotSupported)
	}
	if c.INS == gp.InsGetData {
		return s.getData(c)
	}
	switch c.INS {
	case gp.InsInstall, gp.InsPutKey, gp.InsStoreData, gp.InsSetStatus, gp.InsDelete, gp.InsGetStatus:
	default:
		return sw(gp.SWInsNotSupported)
	}
	if s.gp.ch == nil || !s.gp.ch.Level().Has(scp03.CMAC) {
		return sw(gp.SWSecurityNotSatisfied)
	}
	switch c.INS {
	case gp.InsInstall:
		return s.install(c)
	case gp.InsPutKey:
		return s.putKey(c)
	case gp.InsStoreData:
		return s.storeData(c)
	case gp.InsSetStatus:
		return s.setStatus(c)
	case gp.InsGetStatus:
		return s.getStatus(c)
	}
	return s.delete(c)
}

// selectSD answers SELECT by AID of a Security Domain (no data: the ISD).
// It ends any session.
func (s *SE) selectSD(capdu []byte) []byte {
	c, err := apdu.ParseCommand(capdu)
	if err != nil {
		return sw(gp.SWWrongLength)
	}
	if c.P1 != 0x04 || c.P2&^0x0C != 0 {
		return sw(gp.SWIncorrectP1P2)
	}
	s.endSession()
	s.gp.sel = nil
	d := s.isd()
	if len(c.Data) > 0 {
		d = s.find(c.Data)
	}
	if d == nil {
		return sw(gp.SWNotFound)
	}
	s.gp.sel = d
	// FCI: 6F { 84 AID, A5 { 9F65 '7F': the largest command data field } }.
	prop := []byte{0xA5, 0x04, 0x9F, 0x65, 0x01, 0x7F}
	inner := append([]byte{0x84, byte(len(d.aid))}, d.aid...)
	inner = append(inner, prop...)
	return okData(append([]byte{0x6F, byte(len(inner))}, inner...))
}

// cardData is the card recognition data (GET DATA '0066'): the GP
// recognition OID, card management GP 2.3, card identification scheme,
// SCP03 with "i" '70'.
var cardData = []byte{
	0x66, 0x31, 0x73, 0x2F,
	0x06, 0x07, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x01,
	0x60, 0x0C, 0x06, 0x0A, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x02, 0x02, 0x03, 0x00,
	0x63, 0x09, 0x06, 0x07, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x03,
	0x64, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x04, 0x03, byte(Param),
}

func (s *SE) getData(c apdu.Command) []byte {
	tag := uint16(c.P1)<<8 | uint16(c.P2)
	switch tag {
	case gp.TagCPLC:
		return okData(append([]byte{0x9F, 0x7F, gp.CPLCLen}, s.cplc.Bytes()...))
	case gp.TagCardData:
		return okData(bytes.Clone(cardData))
	case gp.TagSECertificate:
		if s.cert == nil {
			return sw(gp.SWRefNotFound)
		}
		return okData(append([]byte{0x7F, 0x21, 0x81, byte(len(s.cert))}, s.cert...))
	case gp.TagCIN:
		id := s.diversification()
		return okData(append([]byte{0x45, byte(len(id))}, id...))
	case gp.TagKeyInfo:
		d := s.gp.sel
		if d == nil {
			d = s.isd()
		}
		if d == nil {
			return sw(gp.SWRefNotFound)
		}
		var body []byte
		for _, ks := range d.keySets {
			for id := byte(1); id <= 3; id++ {
				body = append(body, 0xC0, 0x04, id, ks.kvn, gp.KeyTypeAES, byte(ks.keys.ENC.Len()))
			}
		}
		head := []byte{0xE0, byte(len(body))}
		if len(body) > 0x7F {
			head = []byte{0xE0, 0x81, byte(len(body))}
		}
		return okData(append(head, body...))
	}
	return sw(gp.SWRefNotFound)
}

// diversification is the key diversification data of INITIALIZE UPDATE and
// the card image number (MODEL): the 10 bytes behind the SEID, IC
// fabricator || IC type || IC serial || IC batch.
func (s *SE) diversification() []byte {
	c := s.cplc
	var b []byte
	b = append(b, c.ICFabricator[:]...)
	b = append(b, c.ICType[:]...)
	b = append(b, c.ICSerial[:]...)
	return append(b, c.ICBatch[:]...)
}

func (s *SE) initializeUpdate(capdu []byte) []byte {
	s.endSession()
	d := s.gp.sel
	if d == nil {
		d = s.isd()
	}
	if d == nil || len(d.keySets) == 0 {
		return sw(gp.SWRefNotFound)
	}
	ks := d.keySets[0]
	if p1 := capdu[2]; p1 != 0 {
		ks = nil
		for _, k := range d.keySets {
			if k.kvn == p1 {
				ks = k
			}
		}
		if ks == nil {
			return sw(gp.SWRefNotFound)
		}
	}
	card := &scp03.Card{Keys: ks.keys, KeyVersion: ks.kvn, Param: Param, AID: bytes.Clone(d.aid), Counter: ks.counter}
	copy(card.DiversificationData[:], s.diversification())
	resp, err := card.InitializeUpdate(capdu)
	ks.counter = card.Counter
	if err != nil {
		return sw(scp03.StatusWord(err))
	}
	s.gp.pending, s.gp.pendingSD, s.gp.pendingKS = card, d, ks
	return resp
}

func (s *SE) externalAuthenticate(capdu []byte) []byte {
	card, d, ks := s.gp.pending, s.gp.pendingSD, s.gp.pendingKS
	s.endSession()
	if card == nil {
		return sw(gp.SWConditions)
	}
	ch, err := card.ExternalAuthenticate(capdu)
	if err != nil {
		return sw(scp03.StatusWord(err))
	}
	s.gp.ch, s.gp.sd, s.gp.dek = ch, d, ks.keys.DEK
	return sw(gp.SWOK)
}

// inUse reports whether aid names a domain, a module or an applet.
func (s *SE) inUse(aid []byte) bool {
	if s.find(aid) != nil || s.applet(aid) != nil {
		return true
	}
	_, in := s.findInstance(aid)
	return in != nil
}

func (s *SE) findInstance(aid []byte) (*domain, *instance) {
	for _, d := range s.domains {
		for _, in := range d.instances {
			if bytes.Equal(in.aid, aid) {
				return d, in
			}
		}
	}
	return nil, nil
}

// own returns what aid names within the reach of the session's domain: one
// of its applet instances, or an SSD associated with it. Anything else,
// another domain's included, is not found (R-G5d).
func (s *SE) own(aid []byte) (*instance, *domain) {
	sd := s.gp.sd
	for _, in := range sd.instances {
		if bytes.Equal(in.aid, aid) {
			return in, nil
		}
	}
	if d := s.find(aid); d != nil && d.parent == sd {
		return nil, d
	}
	return nil, nil
}

func (s *SE) install(c apdu.Command) []byte {
	p1 := c.P1 &^ 0x80
	if c.P2 != 0 {
		return sw(gp.SWIncorrectP1P2)
	}
	in, err := gp.ParseInstall(p1, c.Data)
	if errors.Is(err, gp.ErrParam) {
		return sw(gp.SWIncorrectP1P2)
	}
	if err != nil {
		return sw(gp.SWWrongData)
	}
	sd := s.gp.sd
	switch p1 {
	case gp.InstallForInstall, gp.InstallForInstall | gp.InstallForMakeSelectable:
		if s.inUse(in.Instance) {
			return sw(gp.SWWrongData)
		}
		state := gp.StateInstalled
		if p1&gp.InstallForMakeSelectable != 0 {
			state = gp.StateSelectable
		}
		if bytes.Equal(in.LoadFile, SDLoadFile) && bytes.Equal(in.Module, SDModule) {
			if in.Privileges[0]&gp.PrivSecurityDomain == 0 {
				return sw(gp.SWWrongData)
			}
			if !sd.isd {
				return sw(gp.SWConditions)
			}
			// MODEL: the install parameters name the domain's owner.
			s.domains = append(s.domains, &domain{aid: bytes.Clone(in.Instance), owner: string(in.Params),
				data: map[string][]byte{}, parent: sd, gpState: state})
			return okData([]byte{0x00})
		}
		m := s.findModule(in.LoadFile, in.Module)
		if m == nil {
			return sw(gp.SWRefNotFound)
		}
		sd.instances = append(sd.instances, &instance{aid: bytes.Clone(in.Instance), mod: m, state: state})
		return okData([]byte{0x00})
	case gp.InstallForMakeSelectable:
		inst, _ := s.own(in.Instance)
		if inst == nil {
			return sw(gp.SWRefNotFound)
		}
		if inst.state&gp.StateLockedBit != 0 {
			return sw(gp.SWConditions)
		}
		if inst.state == gp.StateInstalled {
			inst.state = gp.StateSelectable
			if inst.applet != nil {
				inst.state = gp.StatePersonalized
			}
		}
		return okData([]byte{0x00})
	default: // for personalization
		inst, d := s.own(in.Instance)
		switch {
		case inst != nil:
			if inst.applet != nil || inst.state&gp.StateLockedBit != 0 {
				return sw(gp.SWConditions) // R-S4e: personalised once
			}
		case d != nil:
			if d.gpState == gp.StatePersonalized || d.locked {
				return sw(gp.SWConditions) // R-M2: the SSD's provider owns its keys
			}
		default:
			return sw(gp.SWRefNotFound)
		}
		s.clearPerso()
		s.gp.persoInst, s.gp.persoSD = inst, d
		return okData([]byte{0x00})
	}
}

func (s *SE) putKey(c apdu.Command) []byte {
	target := s.gp.sd
	if s.gp.persoSD != nil {
		target = s.gp.persoSD
	} else if s.gp.persoInst != nil {
		return sw(gp.SWConditions)
	}
	var (
		kvn byte
		ks  scp03.StaticKeys
		err error
	)
	if gp.AgreedPutKey(c.Data) {
		if s.agreement == nil {
			return sw(gp.SWRefNotFound)
		}
		kvn, ks, err = gp.ParsePutKeyAgreed(c.P2, c.Data, s.agreement)
	} else {
		kvn, ks, err = gp.ParsePutKey(c.P2, c.Data, s.gp.dek)
	}
	switch {
	case errors.Is(err, gp.ErrParam):
		return sw(gp.SWIncorrectP1P2)
	case err != nil:
		return sw(gp.SWWrongData)
	case kvn > 0x7F:
		return sw(gp.SWWrongData)
	}
	var old *keySet
	for _, k := range target.keySets {
		if k.kvn == c.P1 {
			old = k
		}
		if k.kvn == kvn && k.kvn != c.P1 {
			return sw(gp.SWWrongData) // that version exists already
		}
	}
	switch {
	case c.P1 == 0 && len(target.keySets) >= maxKeySets:
		return sw(gp.SWNoMemory)
	case c.P1 == 0:
		target.keySets = append(target.keySets, &keySet{kvn: kvn, keys: ks})
	case old == nil:
		return sw(gp.SWRefNotFound)
	default:
		old.kvn, old.keys, old.counter = kvn, ks, 0
	}
	if target == s.gp.sd && !target.isd && c.P1 != 0 {
		// The SSD's provider rotated a key set in its own session: from
		// now on only it holds the SSD's keys (R-M2).
		target.gpState = gp.StatePersonalized
	}
	kcvs, _ := gp.KeySetKCVs(ks)
	return okData(append([]byte{kvn}, kcvs...))
}

func (s *SE) abandon(code uint16) []byte {
	s.clearPerso()
	return sw(code)
}

func (s *SE) storeData(c apdu.Command) []byte {
	inst := s.gp.persoInst
	if inst == nil {
		return sw(gp.SWConditions)
	}
	if !s.gp.ch.Level().Has(scp03.CDecryption) {
		// R-S3b: personalisation data travels enciphered, all of it.
		return s.abandon(gp.SWSecurityNotSatisfied)
	}
	if inst.applet != nil {
		return s.abandon(gp.SWConditions) // R-S4e
	}
	if int(c.P2) != s.gp.block {
		return s.abandon(gp.SWIncorrectP1P2)
	}
	// DGIs, said so (GlobalPlatform's b5b4 '01') or not ('00', as an
	// EMV CPS data preparation sends them: its P1 has no format bits).
	if f := c.P1 & gp.StoreFormatMask; f != gp.StoreDGI && f != 0 {
		return s.abandon(gp.SWIncorrectP1P2)
	}
	switch c.P1 & gp.StoreEncMask {
	case 0:
		s.gp.buf = append(s.gp.buf, c.Data...)
		ds, rest := dgi.Split(s.gp.buf)
		for _, d := range ds {
			if dgi.Sensitive(d.Tag) {
				clear(d.Data)
				return s.abandon(gp.SWWrongData) // R-S3b: keys travel enciphered
			}
		}
		s.gp.dgis = append(s.gp.dgis, ds...)
		s.gp.buf = append([]byte{}, rest...)
	case gp.StoreEncrypted:
		if len(s.gp.buf) > 0 {
			return s.abandon(gp.SWWrongData)
		}
		// Every DGI of the command is enciphered (EMV CPS, P1 '60').
		ds, err := dgi.Parse(c.Data)
		if err != nil || len(ds) == 0 {
			return s.abandon(gp.SWWrongData)
		}
		for _, d := range ds {
			clearData, err := dgi.Decipher(s.gp.dek, d.Data)
			if err != nil {
				return s.abandon(gp.SWWrongData)
			}
			s.gp.dgis = append(s.gp.dgis, dgi.DGI{Tag: d.Tag, Data: clearData})
		}
	default:
		return s.abandon(gp.SWIncorrectP1P2)
	}
	size := len(s.gp.buf)
	for _, d := range s.gp.dgis {
		size += len(d.Data) + 5
	}
	if size > maxPerso {
		return s.abandon(gp.SWNoMemory)
	}
	s.gp.block++
	if c.P1&gp.StoreLast == 0 {
		return sw(gp.SWOK)
	}
	if len(s.gp.buf) > 0 {
		return s.abandon(gp.SWWrongData)
	}
	a, err := inst.mod.personalise(bytes.Clone(inst.aid), s.gp.dgis)
	if err != nil || a == nil || !bytes.Equal(a.AID(), inst.aid) {
		return s.abandon(gp.SWWrongData)
	}
	inst.applet = a
	if inst.state == gp.StateSelectable {
		inst.state = gp.StatePersonalized
	}
	s.clearPerso()
	return sw(gp.SWOK)
}

func (s *SE) setStatus(c apdu.Command) []byte {
	if c.P1 != gp.StatusApplication && c.P1 != gp.StatusSDAndApps {
		return sw(gp.SWIncorrectP1P2)
	}
	inst, d := s.own(c.Data)
	switch {
	case inst != nil:
		switch {
		case c.P2&gp.StateLockedBit != 0:
			inst.state |= gp.StateLockedBit
		case inst.state&gp.StateLockedBit != 0 && c.P2 == inst.state&^gp.StateLockedBit:
			inst.state = c.P2
		case c.P2 == gp.StatePersonalized && inst.state == gp.StateSelectable && inst.applet != nil:
			inst.state = c.P2
		case c.P2 == inst.state:
		default:
			return sw(gp.SWWrongData)
		}
	case d != nil:
		switch {
		case c.P2&gp.StateLockedBit != 0:
			d.locked = true
		case d.locked && c.P2 == d.gpState:
			d.locked = false
		default:
			return sw(gp.SWWrongData)
		}
	default:
		return sw(gp.SWRefNotFound)
	}
	return sw(gp.SWOK)
}

func (s *SE) delete(c apdu.Command) []byte {
	aid, err := gp.ParseDelete(c.Data)
	if err != nil {
		return sw(gp.SWWrongData)
	}
	inst, d := s.own(aid)
	sd := s.gp.sd
	switch {
	case inst != nil:
		if inst == s.gp.persoInst {
			s.clearPerso()
		}
		sd.instances = deleteFrom(sd.instances, inst)
	case d != nil:
		if d == s.gp.persoSD {
			s.clearPerso()
		}
		s.domains = deleteFrom(s.domains, d)
	default:
		return sw(gp.SWRefNotFound)
	}
	return okData([]byte{0x00})
}

func deleteFrom[T comparable](list []T, v T) []T {
	out := list[:0]
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// maxStatusData bounds the entries of one GET STATUS answer so that,
// wrapped (R-ENCRYPTION padding and R-MAC), it stays a short response.
const maxStatusData = 232

// getStatus answers GET STATUS (GP TLV format, every entry) with what the
// session's domain may see (R-G5d): for P1 '80' the ISD (to the ISD only),
// for '40' its own applet instances and the SSDs associated with it, for
// '20' the load files of the SE, for '10' the load files and their
// modules. Entries that do not fit one answer come with '6310'; P2 b1
// asks for the next occurrences.
func (s *SE) getStatus(c apdu.Command) []byte {
	if c.P2&^gp.StatusNext != gp.StatusFormatTLV {
		return sw(gp.SWIncorrectP1P2)
	}
	if len(c.Data) < 2 || c.Data[0] != gp.TagAIDTemplate || int(c.Data[1]) != len(c.Data)-2 {
		return sw(gp.SWWrongData)
	}
	if c.P2&gp.StatusNext != 0 {
		if s.gp.statusRest == nil || c.P1 != s.gp.statusP1 || !bytes.Equal(c.Data, s.gp.statusQuery) {
			return sw(gp.SWConditions)
		}
		return s.statusPage(s.gp.statusRest)
	}
	s.gp.statusRest = nil
	filter := c.Data[2:]
	match := func(aid []byte) bool { return len(filter) == 0 || bytes.Equal(filter, aid) }
	sd := s.gp.sd
	var es []gp.StatusEntry
	switch c.P1 {
	case gp.StatusOfISD:
		if sd.isd && match(sd.aid) {
			es = append(es, gp.StatusEntry{AID: sd.aid, State: gp.CardSecured, Privileges: []byte{0x9E, 0x00, 0x00}})
		}
	case gp.StatusOfApps:
		for _, in := range sd.instances {
			if match(in.aid) {
				es = append(es, gp.StatusEntry{AID: in.aid, State: in.state, Privileges: []byte{0x00, 0x00, 0x00}})
			}
		}
		for _, d := range s.domains {
			if d.parent == sd && match(d.aid) {
				st := d.gpState
				if d.locked {
					st |= gp.StateLockedBit
				}
				es = append(es, gp.StatusEntry{AID: d.aid, State: st, Privileges: []byte{gp.PrivSecurityDomain, 0x00, 0x00}})
			}
		}
	case gp.StatusOfModules, gp.StatusOfLoadFiles:
		withModules := c.P1 == gp.StatusOfModules
		add := func(elf, module []byte) {
			for i := range es {
				if bytes.Equal(es[i].AID, elf) {
					if withModules {
						es[i].Modules = append(es[i].Modules, module)
					}
					return
				}
			}
			e := gp.StatusEntry{AID: elf, State: 0x01}
			if withModules {
				e.Modules = [][]byte{module}
			}
			es = append(es, e)
		}
		if match(SDLoadFile) {
			add(SDLoadFile, SDModule)
		}
		for _, m := range s.modules {
			if match(m.elf) {
				add(m.elf, m.aid)
			}
		}
	default:
		return sw(gp.SWIncorrectP1P2)
	}
	if len(es) == 0 {
		return sw(gp.SWRefNotFound)
	}
	s.gp.statusP1, s.gp.statusQuery = c.P1, bytes.Clone(c.Data)
	return s.statusPage(es)
}

// statusPage answers with the first entries of es that fit, keeping the
// others for the next GET STATUS ('6310'), or with all of them ('9000').
func (s *SE) statusPage(es []gp.StatusEntry) []byte {
	var out []byte
	n := 0
	for ; n < len(es); n++ {
		b, err := gp.EncodeStatus(es[n : n+1])
		if err != nil {
			return sw(gp.SWNoMemory)
		}
		if len(out)+len(b) > maxStatusData {
			break
		}
		out = append(out, b...)
	}
	if n == 0 {
		s.gp.statusRest = nil
		return sw(gp.SWNoMemory) // one entry larger than an answer
	}
	if n == len(es) {
		s.gp.statusRest = nil
		return okData(out)
	}
	s.gp.statusRest = es[n:]
	return append(out, sw(gp.SWMoreData)...)
}
