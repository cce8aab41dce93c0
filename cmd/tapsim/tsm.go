package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/lab"
)

func init() { subcommands = append(subcommands, newTSMCmd) }

type tsmOptions struct {
	listen, otaListen, peer, pki, data, idv string
	verbose                                 bool
}

func newTSMCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "tsm sp|se",
		Short: "Run the SP TSM or the SE TSM of over-the-air SE personalisation as its own process",
		Args:  cobra.NoArgs,
	}
	var sp tsmOptions
	spCmd := &cobra.Command{
		Use:   "sp --listen ADDR --se-tsm URL --pki DIR [--issuer-idv URL] [--data DIR]",
		Short: "Run the SP TSM: the issuer's orders in, SCP03 sessions to the issuer's SSD computed here",
		Long: `Runs the SP TSM until SIGINT or SIGTERM. Issuers post their orders to it over HTTPS with
mutual TLS on --listen (only the issuer's certificate), each sealed and signed (JOSE); it holds
the issuer's keys of the order's script sealed under a key of its security module, has the SE
TSM at --se-tsm (its back office, https://host:port) confirm the designated SE, hands the order
over without the script, and computes the SCP03 session the SE TSM relays at POST /relay (only
the SE TSM's certificate). --pki is a directory of "tapsim pki init"; the SP TSM's JOSE keys are
in its security module there (provisioning/sp-tsm.hsm.json), never in a key file. With --data its state
(orders, scripts sealed, statuses, transaction log) is in DIR/sp-tsm.db (SQLite) and its
security module's keys in DIR/sp-tsm-keys.json, and outlive the process. With --issuer-idv
(the issuer's --provisioning-listen, https://host:port) the issuer's ID&V checks the
cardholder's one-time code of each download, under its try limit and lock (R-S3c); without it
every order is refused issuer_idv_required.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runTSM(ctx, "sp", sp, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := spCmd.Flags()
	fl.StringVar(&sp.listen, "listen", "127.0.0.1:8445", "address the issuers and the SE TSM connect to, host:port")
	fl.StringVar(&sp.peer, "se-tsm", "", "the SE TSM's back office, https://host:port")
	fl.StringVar(&sp.pki, "pki", "", "directory of tapsim pki init")
	fl.BoolVarP(&sp.verbose, "verbose", "v", false, "log every step (references only) on stderr")
	fl.StringVar(&sp.data, "data", "", "directory of the SP TSM's database and keystore (default: in memory)")
	fl.StringVar(&sp.idv, "issuer-idv", "", "the issuer's provisioning listener, https://host:port, whose ID&V checks the cardholder's code")

	var se tsmOptions
	seCmd := &cobra.Command{
		Use:   "se --listen ADDR --ota-listen ADDR --sp-tsm URL --pki DIR [--data DIR]",
		Short: "Run the SE TSM: the SE operator's registry, its back office and the phones' OTA listener apart",
		Long: `Runs the SE TSM until SIGINT or SIGTERM. Its back office on --listen takes the SP TSM's checks
and hand-overs and the SE operator's registrations of the SEs it issued (certificates sp-tsm and
se-operator only); its OTA listener on --ota-listen, a listener and certificate of its own, takes
the phones' OTA agents, whose SCP03 sessions it relays to and from the SP TSM at --sp-tsm
(https://host:port). It never holds a key of an issuer's SSD. --pki is a directory of
"tapsim pki init"; the SE TSM's JOSE keys are in its security module there
(provisioning/se-tsm.hsm.json), never in a key file. With --data its state (registered SEs with their ISD keys sealed, orders,
statuses, personalised SEs, transaction log) is in DIR/se-tsm.db and its security module's keys
in DIR/se-tsm-keys.json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runTSM(ctx, "se", se, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl = seCmd.Flags()
	fl.StringVar(&se.listen, "listen", "127.0.0.1:8446", "the back office's address (SP TSM, SE operator), host:port")
	fl.StringVar(&se.otaListen, "ota-listen", "127.0.0.1:8447", "the OTA listener's address (phones), host:port")
	fl.StringVar(&se.peer, "sp-tsm", "", "the SP TSM, https://host:port")
	fl.StringVar(&se.pki, "pki", "", "directory of tapsim pki init")
	fl.BoolVarP(&se.verbose, "verbose", "v", false, "log every step (references only) on stderr")
	fl.StringVar(&se.data, "data", "", "directory of the SE TSM's database and keystore (default: in memory)")
	c.AddCommand(spCmd, seCmd)
	return c
}

func runTSM(ctx context.Context, role string, o tsmOptions, out, errOut io.Writer) error {
	for _, a := range []struct{ flag, v string }{{"--listen", o.listen}, {"--ota-listen", o.otaListen}} {
		if a.v == "" && (a.flag == "--listen" || role == "se") {
			return usageErr("%s is required", a.flag)
		}
		if a.v != "" {
			if _, _, err := net.SplitHostPort(a.v); err != nil {
				return usageErr("%s %q: want host:port", a.flag, a.v)
			}
		}
	}
	peerFlag := map[string]string{"sp": "--se-tsm", "se": "--sp-tsm"}[role]
	peer, err := httpsURL(o.peer)
	if err != nil {
		return usageErr("%s %q: %v", peerFlag, o.peer, err)
	}
	if strings.TrimSpace(o.pki) == "" {
		return usageErr("--pki DIR is required (tapsim pki init --dir DIR)")
	}
	idv := ""
	if o.idv != "" {
		if idv, err = httpsURL(o.idv); err != nil {
			return usageErr("--issuer-idv %q: %v", o.idv, err)
		}
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	opts := lab.TSMServiceOptions{PKI: lab.ProvisioningPKI{Dir: o.pki}, Listen: o.listen, OTAListen: o.otaListen, PeerURL: peer, DataDir: o.data, IssuerIDVURL: idv,
		Logger: slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))}
	var s *lab.TSMService
	if role == "sp" {
		s, err = lab.StartSPTSMService(opts)
	} else {
		s, err = lab.StartSETSMService(opts)
	}
	if err != nil {
		return fmt.Errorf("tsm %s: %w", role, err)
	}
	ca := filepath.Join(o.pki, "ca.pem")
	if role == "sp" {
		fmt.Fprintf(out, "SP TSM listening on %s, SE TSM %s, mutual TLS under %s\n", s.Addr, peer, ca)
	} else {
		fmt.Fprintf(out, "SE TSM back office listening on %s, OTA on %s, SP TSM %s, mutual TLS under %s\n", s.Addr, s.OTAAddr, peer, ca)
	}
	<-ctx.Done()
	fmt.Fprintf(out, "%s TSM stopping\n", strings.ToUpper(role))
	s.Close()
	fmt.Fprintf(out, "%s TSM stopped\n", strings.ToUpper(role))
	return nil
}
