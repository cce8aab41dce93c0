package main

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/lab"
)

func init() { subcommands = append(subcommands, newPKICmd) }

// tlsFiles are the PEM files of one side of a TLS link.
type tlsFiles struct {
	cert, key, ca, name string
}

// set reports whether any TLS file was given.
func (f tlsFiles) set() bool { return f.cert != "" || f.key != "" || f.ca != "" }

// addTLSFlags adds --PREFIXtls-cert, --PREFIXtls-key and --PREFIXtls-ca.
func addTLSFlags(fl flagSet, f *tlsFiles, prefix, what string) {
	fl.StringVar(&f.cert, prefix+"tls-cert", "", "PEM certificate (chain) "+what+" presents; TLS needs --"+prefix+"tls-cert, --"+prefix+"tls-key and --"+prefix+"tls-ca")
	fl.StringVar(&f.key, prefix+"tls-key", "", "PEM private key of --"+prefix+"tls-cert")
}

// serverTLS is the mutual-TLS listener configuration of f, nil when no
// file is given (plain TCP).
func (f tlsFiles) serverTLS(flag string) (*tls.Config, error) {
	if !f.set() {
		return nil, nil
	}
	if f.cert == "" || f.key == "" || f.ca == "" {
		return nil, usageErr("--%stls-cert, --%stls-key and --%stls-ca go together", flag, flag, flag)
	}
	c, err := tlsconf.ServerFiles(f.cert, f.key, f.ca, time.Now())
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return c, nil
}

// clientTLS is the mutual-TLS dialer configuration of f, nil when no file
// is given (plain TCP).
func (f tlsFiles) clientTLS(flag string) (*tls.Config, error) {
	if !f.set() {
		return nil, nil
	}
	if f.cert == "" || f.key == "" || f.ca == "" {
		return nil, usageErr("--%stls-cert, --%stls-key and --%stls-ca go together", flag, flag, flag)
	}
	c, err := tlsconf.ClientFiles(f.ca, f.cert, f.key, f.name, time.Now())
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return c, nil
}

// addClientTLSFlags adds the flags of a TLS client: certificate, key,
// server CA and server name.
func addClientTLSFlags(fl flagSet, f *tlsFiles, prefix, peer string) {
	addTLSFlags(fl, f, prefix, "this terminal")
	fl.StringVar(&f.ca, prefix+"tls-ca", "", "PEM CA certificate(s) the "+peer+"'s certificate must chain to")
	fl.StringVar(&f.name, prefix+"tls-server-name", "", "name the "+peer+"'s certificate must carry (default: the host of its address)")
}

// flagSet is the part of a command's flag set the TLS flags need.
type flagSet interface {
	StringVar(p *string, name, value, usage string)
}

// pkiRoles are the end entities "pki init" certifies.
var pkiRoles = []string{"issuer", "acquirer", "terminal"}

func newPKICmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "pki",
		Short: "Test certificates for mutual TLS on the ISO 8583 links and the provisioning services",
	}
	var (
		dir      string
		validity time.Duration
		hosts    []string
		force    bool
	)
	initCmd := &cobra.Command{
		Use:   "init --dir DIR [--validity 720h] [--host NAME]... [--force]",
		Short: "Write a test CA and certificates for the issuer, acquirer and terminal, and the provisioning parties' keys",
		Long: `Writes a test PKI for trying mutual TLS on the links: a CA (ca.pem, ca-key.pem) and, signed by
it, the certificates of the issuer host, the acquirer and the terminal (issuer.pem and
issuer-key.pem, acquirer.pem ..., terminal.pem ...). Keys are ECDSA P-256, certificates
SHA-256, good for TLS server and client authentication, valid for --validity from now, names
localhost, 127.0.0.1 and ::1 plus each --host. Private keys are written with mode 0600, DIR
with 0700. Existing files are kept unless --force. These are test credentials only.

For the provisioning services run as their own processes, DIR/provisioning gets, for the
token service, the wallet provider, the issuer and the phones, a certificate of the same CA
whose common name is the party's name (token-service.pem, token-service-key.pem, ...), for
each institution its JOSE keys, P-256 for signing and for encryption (token-service.jose.pem,
mode 0600), and directory.json, the public keys of all of them that every process trusts. The
HCE cloud platform's JOSE keys are not among them: the issuer operating it generates them in its
security module and writes their public half to its --data (cloud-platform.pub.json). The SP
TSM's and the SE TSM's JOSE keys and the SE authority's key are made inside a soft security
module of their own (sp-tsm.hsm.json, se-tsm.hsm.json, se-authority.hsm.json: keys wrapped under
the LMK of TAPSIM_HSM_LMK, or the sample one), which "tapsim tsm sp|se" and "tapsim provision se
--sp-tsm" open; only their public halves are in directory.json and se-authority.pub.pem.

Then, for example:
  tapsim issuer   --tls-cert DIR/issuer.pem --tls-key DIR/issuer-key.pem --tls-ca DIR/ca.pem
  tapsim acquirer --tls-cert DIR/acquirer.pem --tls-key DIR/acquirer-key.pem --tls-ca DIR/ca.pem --issuer-tls-ca DIR/ca.pem
  tapsim terminal --tls-cert DIR/terminal.pem --tls-key DIR/terminal-key.pem --tls-ca DIR/ca.pem
  tapsim issuer --provisioning-listen 127.0.0.1:8443 --pki DIR --wallet-notify https://127.0.0.1:8444
  tapsim wallet-provider --listen 127.0.0.1:8444 --token-service https://127.0.0.1:8443 --pki DIR`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageErr("--dir is required")
			}
			if validity <= 0 || validity > 825*24*time.Hour {
				return usageErr("--validity must be positive and at most 825 days")
			}
			now := time.Now()
			ca, err := tlsconf.NewCA(rand.Reader, "tapsim test CA", now, validity)
			if err != nil {
				return err
			}
			names := append([]string{"localhost", "127.0.0.1", "::1"}, hosts...)
			out := cmd.OutOrStdout()
			caPath, _, err := ca.WriteFiles(dir, "ca", force)
			if err != nil {
				return fmt.Errorf("pki init: %w (--force replaces existing files)", err)
			}
			fmt.Fprintf(out, "CA       %s (valid until %s)\n", caPath, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
			for _, role := range pkiRoles {
				id, err := ca.Issue(rand.Reader, "tapsim "+role, append([]string{role}, names...), now, validity)
				if err != nil {
					return err
				}
				cert, key, err := id.WriteFiles(dir, role, force)
				if err != nil {
					return fmt.Errorf("pki init: %w (--force replaces existing files)", err)
				}
				fmt.Fprintf(out, "%-8s %s, key %s\n", role, cert, filepath.Base(key))
			}
			if _, err := lab.WriteProvisioningPKI(dir, ca, names, now, validity, force, rand.Reader); err != nil {
				return fmt.Errorf("pki init: %w (--force replaces existing files)", err)
			}
			fmt.Fprintf(out, "provisioning parties %s: TLS certificates and keys of %s, %s and %s, JOSE keys (.jose.pem; %s in security modules, .hsm.json), %s\n",
				filepath.Join(dir, lab.ProvisioningPKIDir), strings.Join(lab.ProvisioningParties, ", "), lab.PartyPhone, lab.PartySEOTA,
				strings.Join(lab.ModuleParties, " and "), lab.DirectoryFile)
			return nil
		},
	}
	fl := initCmd.Flags()
	fl.StringVar(&dir, "dir", "", "directory to write the PEM files to")
	fl.DurationVar(&validity, "validity", 30*24*time.Hour, "how long the certificates are valid")
	fl.StringArrayVar(&hosts, "host", nil, "extra DNS name or IP address in every certificate (repeatable)")
	fl.BoolVar(&force, "force", false, "replace existing files")
	c.AddCommand(initCmd)
	return c
}
