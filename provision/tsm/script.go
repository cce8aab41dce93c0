package tsm

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

// ErrScript reports a download script that breaks its rules.
var ErrScript = errors.New("tsm: invalid download script")

// Command is one clear GlobalPlatform command of a script; the SE TSM's
// session adds the SCP03 protection.
type Command struct {
	// APDU is the clear command, hex.
	APDU string `json:"apdu"`
}

// Session is one SCP03 session of a script.
type Session struct {
	// SD is the Security Domain's AID, hex.
	SD string `json:"sd"`
	// KVN is the key version to open with.
	KVN byte `json:"kvn"`
	// ENC and MAC are the static channel keys (AES, hex). K-DEK is never
	// sent: what it protects the issuer enciphered itself.
	ENC string `json:"enc"`
	MAC string `json:"mac"`
	// Commands are sent in order once the channel is open.
	Commands []Command `json:"commands"`
}

// Script is what the SP TSM runs on one SE for the issuer, sealed by the
// issuer to the SP TSM: its keys never reach the SE TSM, which relays the
// secured commands only.
type Script struct {
	// OrderID and SEID bind the script to its order and its SE (OrderFor
	// sets them): the SE TSM runs it for that order on that SE only.
	OrderID string `json:"order_id,omitempty"`
	SEID    string `json:"se_id,omitempty"`
	// Rotate, on an SE shared with an SE operator (R-M2), is the issuer's
	// key set that replaces the initial set of the SSD the operator
	// created: the SP TSM opens the SSD with the initial set the SE TSM
	// hands over at the start of the download and puts this one in its
	// place with PUT KEY (enciphered under the initial K-DEK) before the
	// sessions run.
	Rotate *SSDKeys `json:"rotate,omitempty"`
	// Sessions are opened in order.
	Sessions []Session `json:"sessions"`
}

// String names the sessions, never keys or data.
func (s Script) String() string {
	n := 0
	for _, x := range s.Sessions {
		n += len(x.Commands)
	}
	return fmt.Sprintf("download script: %d sessions, %d commands", len(s.Sessions), n)
}

// GoString is String.
func (s Script) GoString() string { return s.String() }

// MaxCommands bounds a script.
const MaxCommands = 300

// Validate checks the script's shape.
func (s Script) Validate() error {
	if len(s.Sessions) == 0 || len(s.Sessions) > 4 {
		return fmt.Errorf("%w: %d sessions", ErrScript, len(s.Sessions))
	}
	if s.Rotate != nil && s.Rotate.Validate() != nil {
		return fmt.Errorf("%w: key set to rotate to", ErrScript)
	}
	n := 0
	for i, x := range s.Sessions {
		sd, err := hex.DecodeString(x.SD)
		if err != nil || len(sd) < 5 || len(sd) > 16 {
			return fmt.Errorf("%w: session %d: security domain AID", ErrScript, i)
		}
		if _, err := x.keys(); err != nil {
			return fmt.Errorf("%w: session %d: channel keys", ErrScript, i)
		}
		for j, c := range x.Commands {
			b, err := hex.DecodeString(c.APDU)
			if err != nil || len(b) < 4 || len(b) > 261 {
				return fmt.Errorf("%w: session %d command %d", ErrScript, i, j)
			}
		}
		n += len(x.Commands)
	}
	if n == 0 || n > MaxCommands {
		return fmt.Errorf("%w: %d commands", ErrScript, n)
	}
	return nil
}

// keys are the session's channel keys; K-DEK is a dummy the SE never sees
// used.
func (x Session) keys() (scp03.StaticKeys, error) {
	key := func(s string) (keys.Key, error) {
		b, err := hex.DecodeString(s)
		if err != nil {
			return keys.Key{}, err
		}
		return keys.New(keys.AES, b)
	}
	enc, err := key(x.ENC)
	if err != nil {
		return scp03.StaticKeys{}, err
	}
	mac, err := key(x.MAC)
	if err != nil {
		return scp03.StaticKeys{}, err
	}
	return scp03.StaticKeys{ENC: enc, MAC: mac, DEK: enc}, nil
}

// ChannelSession starts a script session on sd with the channel keys of
// ks (its K-DEK stays with the caller).
func ChannelSession(sd []byte, kvn byte, ks scp03.StaticKeys) Session {
	return Session{SD: hex.EncodeToString(sd), KVN: kvn, ENC: hex.EncodeToString(ks.ENC.Bytes()), MAC: hex.EncodeToString(ks.MAC.Bytes())}
}

// Add appends clear commands.
func (x *Session) Add(cmds ...[]byte) {
	for _, c := range cmds {
		x.Commands = append(x.Commands, Command{APDU: hex.EncodeToString(c)})
	}
}

// maxBlock is the STORE DATA data room left by C-DEC padding and C-MAC.
const maxBlock = 255 - 8 - 16

// StoreDataCmds are the STORE DATA commands of ds, the sensitive DGIs
// (dgi.Sensitive) enciphered under dek by the caller's side, one per block
// and flagged enciphered (R-S3b); the others packed.
func StoreDataCmds(ds []dgi.DGI, dek keys.Key) ([][]byte, error) {
	type blk struct {
		enc  bool
		data []byte
	}
	var blocks []blk
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, blk{data: cur})
			cur = nil
		}
	}
	for _, d := range ds {
		if dgi.Sensitive(d.Tag) {
			enc, err := dgi.Encipher(dek, d.Data)
			if err != nil {
				return nil, err
			}
			b, err := dgi.Append(nil, dgi.DGI{Tag: d.Tag, Data: enc})
			if err != nil {
				return nil, err
			}
			if len(b) > maxBlock {
				return nil, fmt.Errorf("%w: enciphered DGI %04X does not fit one block", ErrScript, d.Tag)
			}
			flush()
			blocks = append(blocks, blk{enc: true, data: b})
			continue
		}
		b, err := dgi.Append(nil, d)
		if err != nil {
			return nil, err
		}
		for len(b) > 0 {
			n := min(maxBlock-len(cur), len(b))
			cur = append(cur, b[:n]...)
			b = b[n:]
			if len(cur) == maxBlock {
				flush()
			}
		}
	}
	flush()
	if len(blocks) == 0 || len(blocks) > 256 {
		return nil, fmt.Errorf("%w: %d STORE DATA blocks", ErrScript, len(blocks))
	}
	out := make([][]byte, 0, len(blocks))
	for i, b := range blocks {
		c, err := gp.StoreDataCmd(byte(i), i == len(blocks)-1, b.enc, b.data)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Keys names a key set and its version on the SE.
type Keys struct {
	KVN  byte
	Keys scp03.StaticKeys
}

// IssuerOwned is the script on an SE the issuer owns (R-M1): in the ISD,
// the issuer creates its SSD and puts its key set there (enciphered under
// the ISD's K-DEK); in the SSD, it installs and personalises the applet.
func IssuerOwned(isd []byte, isdKeys Keys, ssd Keys, p dgi.Perso) (Script, error) {
	s1 := ChannelSession(isd, isdKeys.KVN, isdKeys.Keys)
	inst, err := gp.InstallForInstallCmd(gp.Install{LoadFile: gp.SDLoadFile, Module: gp.SDModule, Instance: p.SD,
		Privileges: []byte{gp.PrivSecurityDomain}, Params: []byte(p.Owner)}, true)
	if err != nil {
		return Script{}, err
	}
	perso, err := gp.InstallForPersonalizationCmd(p.SD)
	if err != nil {
		return Script{}, err
	}
	put, err := gp.PutKeyCmd(0, ssd.KVN, isdKeys.Keys.DEK, ssd.Keys)
	if err != nil {
		return Script{}, err
	}
	s1.Add(inst, perso, put)
	s2, err := appSession(ssd, ssd, p)
	if err != nil {
		return Script{}, err
	}
	return Script{Sessions: []Session{s1, s2}}, nil
}

// Shared is the script on an SE shared with an SE operator (R-M2): the
// operator's SE TSM creates the SSD with an initial key set in its own ISD
// session and hands that set to the SP TSM; the SP TSM rotates it to
// issuer's with PUT KEY (Script.Rotate), then installs and personalises
// the applet in a session under the issuer's keys, the sensitive DGIs
// under the issuer's K-DEK: what the operator knows opens nothing of it.
func Shared(issuer Keys, p dgi.Perso) (Script, error) {
	s, err := appSession(issuer, issuer, p)
	if err != nil {
		return Script{}, err
	}
	rot := HandOver(p.SD, issuer)
	return Script{Rotate: &rot, Sessions: []Session{s}}, nil
}

// appSession opens the SSD with open and installs and personalises the
// applet, the sensitive DGIs under data's K-DEK (the key set the SSD holds
// once the session's PUT KEY, if any, has run).
func appSession(open, data Keys, p dgi.Perso) (Session, error) {
	s := ChannelSession(p.SD, open.KVN, open.Keys)
	inst, err := gp.InstallForInstallCmd(gp.Install{LoadFile: dgi.PaymentLoadFile, Module: dgi.PaymentModule, Instance: p.App, Privileges: []byte{0x00}}, true)
	if err != nil {
		return Session{}, err
	}
	perso, err := gp.InstallForPersonalizationCmd(p.App)
	if err != nil {
		return Session{}, err
	}
	store, err := StoreDataCmds(p.DGIs, data.Keys.DEK)
	if err != nil {
		return Session{}, err
	}
	s.Add(inst, perso)
	s.Add(store...)
	return s, nil
}

// RandomKeys draws an AES-128 key set from rnd.
func RandomKeys(rnd io.Reader) (scp03.StaticKeys, error) {
	var ks [3]keys.Key
	for i := range ks {
		b := make([]byte, 16)
		if _, err := io.ReadFull(rnd, b); err != nil {
			return scp03.StaticKeys{}, err
		}
		k, err := keys.New(keys.AES, b)
		if err != nil {
			return scp03.StaticKeys{}, err
		}
		ks[i] = k
	}
	return scp03.StaticKeys{ENC: ks[0], MAC: ks[1], DEK: ks[2]}, nil
}
