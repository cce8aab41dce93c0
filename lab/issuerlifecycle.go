package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// IssuerLifecycleOptions configure IssuerLifecycleAt.
type IssuerLifecycleOptions struct {
	// TokenServiceAddr is the running token service's host:port (the
	// issuer's --provisioning-listen).
	TokenServiceAddr string
	// PKI holds the issuer's TLS certificate, the CA and the directory
	// the token service's keys are read from.
	PKI ProvisioningPKI
	// Me is the issuer's party (JOSE keys); PKI's when nil.
	Me *wire.Party
	// Clock and Rand are time.Now and crypto/rand when nil.
	Clock func() time.Time
	Rand  io.Reader
}

// IssuerLifecycleAt is the issuer's service centre acting on tokens at a
// running token service (suspend, resume, delete; a device ID names every
// token on that phone, R-C1): the request is signed by the issuer, sealed
// to the token service and sent over mutual TLS with the issuer's
// certificate; the token service changes the vault and notifies the
// token's wallet provider. A request without a task ID gets a random one;
// without an actor, the issuer's.
func IssuerLifecycleAt(ctx context.Context, o IssuerLifecycleOptions, req wire.LifecycleRequest) (wire.LifecycleResponse, error) {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	me := o.Me
	if me == nil {
		var err error
		if me, err = o.PKI.Party(PartyIssuer); err != nil {
			return wire.LifecycleResponse{}, err
		}
	}
	trust, err := o.PKI.Trust(PartyTokenService)
	if err != nil {
		return wire.LifecycleResponse{}, err
	}
	tsp, _ := trust.Party(PartyTokenService)
	if req.TaskID == "" {
		b := make([]byte, 8)
		if _, err := io.ReadFull(o.Rand, b); err != nil {
			return wire.LifecycleResponse{}, fmt.Errorf("issuer lifecycle: random source: %w", err)
		}
		req.TaskID = "issuer-" + hex.EncodeToString(b)
	}
	if req.Actor == "" {
		req.Actor = wire.ActorIssuer
	}
	if err := req.Validate(); err != nil {
		return wire.LifecycleResponse{}, err
	}
	env, err := wire.Seal(req, me, tsp, wire.Header{Type: wire.TypeLifecycleRequest, Clock: o.Clock, Rand: o.Rand})
	if err != nil {
		return wire.LifecycleResponse{}, err
	}
	c, err := o.PKI.Client(PartyIssuer, o.Clock())
	if err != nil {
		return wire.LifecycleResponse{}, err
	}
	defer c.CloseIdleConnections()
	ans, err := c.PostEnvelope(ctx, "https://"+o.TokenServiceAddr+tokensvc.PathIssuerLifecycle, env)
	if err != nil {
		return wire.LifecycleResponse{}, fmt.Errorf("issuer lifecycle at %s: %w", o.TokenServiceAddr, err)
	}
	var resp wire.LifecycleResponse
	if _, err := wire.OpenInto(ans, me, trust, wire.Expect{Type: wire.TypeLifecycleResponse, From: PartyTokenService,
		Replay: wire.NewMemoryReplayCache(0), Clock: o.Clock}, &resp); err != nil {
		return wire.LifecycleResponse{}, fmt.Errorf("issuer lifecycle at %s: %w", o.TokenServiceAddr, err)
	}
	return resp, nil
}
