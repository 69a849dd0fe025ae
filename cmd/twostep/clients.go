package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/oidc"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// The operator's commands for OpenID Connect: registering apps and
// rotating the keys ID tokens are signed with. Each opens the database
// the way `serve` does, so they run beside a live server.

const clientsUsage = "usage: twostep clients add|list|remove (twostep clients add --help for flags)"

// clients dispatches `twostep clients add|list|remove`.
func clients(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(clientsUsage)
	}
	switch args[0] {
	case "add":
		return clientsAdd(args[1:], stdout, stderr)
	case "list":
		return clientsList(args[1:], stdout, stderr)
	case "remove":
		return clientsRemove(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown clients command %q: %s", args[0], clientsUsage)
}

// adminFlags are the flags every admin command takes, to hand to
// openStore.
type adminFlags struct {
	config, dataDir string
}

func newAdminFlags(name string, stderr io.Writer) (*flag.FlagSet, *adminFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var a adminFlags
	fs.StringVar(&a.config, "config", "", "YAML config file (default $TWOSTEP_CONFIG)")
	fs.StringVar(&a.dataDir, "data-dir", "", "directory for the SQLite database and generated key (default ./twostep-data)")
	return fs, &a
}

// args turns the flags back into openStore's arguments.
func (a *adminFlags) args() []string {
	var out []string
	if a.config != "" {
		out = append(out, "--config", a.config)
	}
	if a.dataDir != "" {
		out = append(out, "--data-dir", a.dataDir)
	}
	return out
}

// parseAnywhere parses flags placed before, between or after positional
// arguments (the flag package stops at the first positional one) and
// returns the positional ones; everything after "--" is positional.
func parseAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// listFlag collects a flag given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func clientsAdd(args []string, stdout, stderr io.Writer) error {
	fs, admin := newAdminFlags("clients add", stderr)
	var spec oidc.ClientSpec
	fs.StringVar(&spec.Name, "name", "", "the app's name, shown on the consent page and in Apps with access (required)")
	fs.Var((*listFlag)(&spec.RedirectURIs), "redirect-uri", "where people return with the code: an absolute http(s) URL, matched exactly (required; repeat for more)")
	fs.Var((*listFlag)(&spec.PostLogoutRedirectURIs), "post-logout-redirect-uri", "where the app may send people after signing out (repeat for more)")
	fs.BoolVar(&spec.Public, "public", false, "an app that cannot keep a secret (single-page or mobile app): no client secret, PKCE alone")
	fs.BoolVar(&spec.FirstParty, "first-party", false, "your own app: people are not asked to consent")
	fs.StringVar(&spec.IDTokenAlg, "id-token-alg", "RS256", "what the app's ID tokens are signed with: RS256 or ES256")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: twostep clients add --name NAME --redirect-uri URI [--redirect-uri URI…] [--post-logout-redirect-uri URI…] [--public] [--first-party] [--id-token-alg RS256|ES256]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("clients add: unexpected argument %q", pos[0])
	}
	cfg, db, _, err := openStore("clients add", admin.args(), stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	c, sec, err := oidc.AddClient(context.Background(), db, spec, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "client_id: %s\n", c.ID)
	if sec != "" {
		fmt.Fprintf(stdout, "client_secret: %s\n", sec)
		fmt.Fprintf(stderr, "\nThe client secret is shown only this once (twostep keeps a hash of it): store it with the app now.\n")
	} else {
		fmt.Fprintf(stderr, "\nA public app has no secret: it must use PKCE (S256), as every app must.\n")
	}
	fmt.Fprintf(stderr, "Point the app at %s/.well-known/openid-configuration\n", cfg.BaseURL())
	return nil
}

// clientJSON is an app as `clients list --json` prints it: never its
// secret or the secret's hash.
type clientJSON struct {
	ClientID               string    `json:"client_id"`
	Name                   string    `json:"name"`
	Type                   string    `json:"type"`
	FirstParty             bool      `json:"first_party"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	CreatedAt              time.Time `json:"created_at"`
}

func clientType(c store.OIDCClient) string {
	if c.Public() {
		return "public"
	}
	return "confidential"
}

func clientsList(args []string, stdout, stderr io.Writer) error {
	fs, admin := newAdminFlags("clients list", stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("clients list: unexpected argument %q", pos[0])
	}
	_, db, _, err := openStore("clients list", admin.args(), stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.OIDCClients(context.Background())
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]clientJSON, 0, len(list))
		for _, c := range list {
			out = append(out, clientJSON{
				ClientID: c.ID, Name: c.Name, Type: clientType(c), FirstParty: c.FirstParty,
				RedirectURIs: nonNil(c.RedirectURIs), PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs),
				CreatedAt: c.CreatedAt.UTC(),
			})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "client_id\tname\ttype\tfirst-party\tredirect URIs")
	for _, c := range list {
		first := "no"
		if c.FirstParty {
			first = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, clientType(c), first, strings.Join(c.RedirectURIs, " "))
	}
	return tw.Flush()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func clientsRemove(args []string, stdout, stderr io.Writer) error {
	fs, admin := newAdminFlags("clients remove", stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: twostep clients remove CLIENT_ID\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: twostep clients remove CLIENT_ID")
	}
	_, db, _, err := openStore("clients remove", admin.args(), stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := oidc.RemoveClient(context.Background(), db, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed app %s: its tokens stopped working and its consents are gone\n", pos[0])
	return nil
}

// rotateSigningKey adds a new signing key for every algorithm; running
// servers start signing with them within a minute (they reload keys every
// 30 s), and the keys they replace stay published until the ID tokens
// they signed have expired.
func rotateSigningKey(args []string, stdout, stderr io.Writer) error {
	fs, admin := newAdminFlags("rotate-signing-key", stderr)
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("rotate-signing-key: unexpected argument %q", pos[0])
	}
	cfg, db, _, err := openStore("rotate-signing-key", admin.args(), stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := secretsKeyring(cfg, stderr)
	if err != nil {
		return err
	}
	ctx, now := context.Background(), time.Now()
	before, err := db.SigningKeys(ctx, now.Add(-oidc.RetiredKeysPublishedFor))
	if err != nil {
		return err
	}
	added, err := oidc.RotateSigningKeys(ctx, db, keys, now)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "new signing keys, current from now on:")
	for _, k := range added {
		fmt.Fprintf(stdout, "  %s  kid %s\n", k.Alg, k.ID)
	}
	if len(before) == 0 {
		fmt.Fprintln(stdout, "There were no signing keys yet (the server had not started): these are the first.")
		return nil
	}
	fmt.Fprintf(stdout, "Running servers sign with them within a minute. The keys they replace stay published\n"+
		"until the ID tokens they signed expire (about %d minutes), so apps can still check those.\n",
		int(oidc.RetiredKeysPublishedFor.Minutes()))
	return nil
}

// secretsKeyring opens the key that seals the signing keys, as `serve`
// does: from the config, or the data directory, where the first command
// to need it makes one.
func secretsKeyring(cfg config.Config, stderr io.Writer) (*secret.Keyring, error) {
	key, created, err := secret.LoadOrCreateKey(cfg.Secrets.Key, cfg.Server.DataDir)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(stderr, "generated a new secret key in %s; back it up, or set secrets.key / TWOSTEP_SECRETS_KEY in production\n", cfg.Server.DataDir)
	}
	return app.Keyring(key, cfg.Secrets.OldKeys)
}
