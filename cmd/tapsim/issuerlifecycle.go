package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tapsim/tapsim/lab"
	"github.com/tapsim/tapsim/provision/tokensvc"
	"github.com/tapsim/tapsim/provision/wire"
)

// tokenServiceFlags are --provisioning and --pki of the issuer's token
// commands: with them a change goes through the token service a running
// issuer operates (tapsim issuer --provisioning-listen), which notifies
// the token's wallet provider; without them the command changes the
// issuer's vault directly and nobody else is told.
type tokenServiceFlags struct {
	addr, pki string
}

func addTokenServiceFlags(fl *pflag.FlagSet, f *tokenServiceFlags) {
	fl.StringVar(&f.addr, "provisioning", "", "the running issuer's --provisioning-listen address (host:port): change wallet\n"+
		"tokens through the token service it operates, which notifies their wallet provider (needs --pki)")
	fl.StringVar(&f.pki, "pki", "", "directory of tapsim pki init: the issuer's certificate and JOSE keys (with --provisioning)")
}

// check refuses inconsistent flags.
func (f tokenServiceFlags) check() error {
	if f.addr == "" {
		if f.pki != "" {
			return usageErr("--pki needs --provisioning ADDR")
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return usageErr("--provisioning %q: want host:port", f.addr)
	}
	if strings.TrimSpace(f.pki) == "" {
		return usageErr("--provisioning needs --pki DIR (tapsim pki init --dir DIR)")
	}
	return nil
}

// lifecycle sends req to the token service as the issuer.
func (f tokenServiceFlags) lifecycle(ctx context.Context, req wire.LifecycleRequest) (wire.LifecycleResponse, error) {
	resp, err := lab.IssuerLifecycleAt(ctx, lab.IssuerLifecycleOptions{TokenServiceAddr: f.addr, PKI: lab.ProvisioningPKI{Dir: f.pki}}, req)
	switch {
	case errors.Is(err, lab.ErrPKI):
		return resp, usageErr("--pki: %v", err)
	case errors.Is(err, wire.ErrTransport):
		return resp, fmt.Errorf("no token service answered at %s (is tapsim issuer --provisioning-listen %s running? "+
			"without --provisioning the command changes the issuer's vault directly): %w", f.addr, f.addr, err)
	}
	return resp, err
}

// reasonCode makes the free-text --reason a machine-readable code for the
// token service ("lost in a taxi" -> "LOST_IN_A_TAXI").
func reasonCode(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.TrimRight(b.String(), "_")
	if len(out) > 64 {
		out = strings.TrimRight(out[:64], "_")
	}
	if out == "" {
		out = "ISSUER_DECISION"
	}
	return out
}

// tokenThroughService changes token id through the token service and
// prints its state; a token the service refused names the reason.
func tokenThroughService(ctx context.Context, f tokenServiceFlags, out io.Writer, action, id, reason string) error {
	resp, err := f.lifecycle(ctx, wire.LifecycleRequest{Action: action, TokenUniqueReferences: []string{id}, Reason: reasonCode(reason)})
	if err != nil {
		return err
	}
	if len(resp.Tokens) != 1 {
		return fmt.Errorf("token service at %s: %d tokens in the answer", f.addr, len(resp.Tokens))
	}
	st := resp.Tokens[0]
	switch st.Reason {
	case "":
	case tokensvc.ReasonUnknownToken:
		return usageErr("token %s: refused by the token service at %s: %s (not a token it made; "+
			"without --provisioning the command changes the issuer's vault directly)", id, f.addr, st.Reason)
	default:
		return fmt.Errorf("token %s: refused by the token service at %s: %s (token %s%s)", id, f.addr, st.Reason, st.Status, by(st.SuspendedBy))
	}
	fmt.Fprintf(out, "token %s: %s%s, through the token service at %s, which notifies the token's wallet provider\n",
		id, st.Status, by(st.SuspendedBy), f.addr)
	return nil
}

func by(actors []string) string {
	if len(actors) == 0 {
		return ""
	}
	return " by " + strings.Join(actors, ", ")
}

// lostThroughService suspends every wallet token of a phone through the
// token service; a phone without one is said so.
func lostThroughService(ctx context.Context, f tokenServiceFlags, out io.Writer, device, reason string) error {
	resp, err := f.lifecycle(ctx, wire.LifecycleRequest{Action: wire.ActionSuspend, DeviceID: device, Reason: reasonCode(reason)})
	var ref *wire.Refusal
	if errors.As(err, &ref) && ref.Reason == tokensvc.ReasonNoTokens {
		fmt.Fprintf(out, "phone %s: no wallet token at the token service at %s (%s)\n", device, f.addr, ref.Reason)
		return nil
	}
	if err != nil {
		return err
	}
	var done, refused []string
	for _, st := range resp.Tokens {
		if st.Reason != "" {
			refused = append(refused, st.TokenUniqueReference+" "+st.Reason)
			continue
		}
		done = append(done, st.TokenUniqueReference)
	}
	fmt.Fprintf(out, "phone %s: wallet tokens suspended %v through the token service at %s, which notifies their wallet provider\n",
		device, done, f.addr)
	if len(refused) > 0 {
		fmt.Fprintf(out, "phone %s: not suspended %v\n", device, refused)
	}
	return nil
}

// cloudLostThroughService reports the phone lost at the HCE cloud
// platform the running issuer serves: its bindings and their keys are
// suspended at once (R-C1). A phone bound to nothing there, or an issuer
// that serves no platform, is said so.
func cloudLostThroughService(ctx context.Context, f tokenServiceFlags, out io.Writer, device string) (int, error) {
	res, err := lab.ReportLostAt(ctx, f.addr, lab.ProvisioningPKI{Dir: f.pki}, "service-centre", strings.ToUpper(device))
	var ref *wire.Refusal
	switch {
	case errors.As(err, &ref):
		fmt.Fprintf(out, "phone %s: no HCE binding at the cloud platform at %s (%s)\n", device, f.addr, ref.Reason)
		return 0, nil
	case err != nil:
		return 0, err
	}
	var ids []string
	for _, b := range res.Bindings {
		ids = append(ids, b.CardRef+" "+b.BindingID)
	}
	fmt.Fprintf(out, "phone %s: HCE bindings suspended %v at the cloud platform at %s, their keys refused from now on\n",
		device, ids, f.addr)
	return len(ids), nil
}
