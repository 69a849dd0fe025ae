package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

// twostepCmd runs the binary with args and extra environment, and
// returns what it printed and its exit code.
func twostepCmd(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "TWOSTEP_TEST_RUN_MAIN=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// authorizeStatus asks a running server to start signing someone in for
// clientID with PKCE, and returns the status without following it: a
// redirect to the sign-in page for a known app (302; an error sent back
// to the app is reported as 0), an error page for an unknown one.
func authorizeStatus(t *testing.T, base, clientID, redirect string) int {
	t.Helper()
	sum := sha256.Sum256([]byte(secret.NewToken()))
	q := url.Values{
		"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"},
		"state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/oauth2/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusFound && strings.HasPrefix(loc, redirect) {
		t.Logf("authorize answered the app with an error: %s", loc)
		return 0
	}
	return resp.StatusCode
}

// TestClientsCommands registers, lists and removes apps with the real
// binary while a server runs on the same database, which picks up each
// change at once.
func TestClientsCommands(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			dbURL, dir, addr := testenv.DatabaseURL(t, engine), t.TempDir(), freeAddr(t)
			base := "http://" + addr
			env := []string{"TWOSTEP_DATABASE_URL=" + dbURL, "TWOSTEP_SERVER_DATA_DIR=" + dir,
				"TWOSTEP_SECRETS_KEY=" + hex.EncodeToString(randomBytes(32)), "TWOSTEP_SERVER_PUBLIC_URL=" + base}
			serveChild(t, addr, env)
			db, err := store.Open(t.Context(), dbURL, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()

			// A confidential app: an id and a secret, shown once.
			out, errOut, code := twostepCmd(t, env, "clients", "add", "--name", "Wiki",
				"--redirect-uri", "https://wiki.example.com/cb", "--redirect-uri", "http://127.0.0.1:9/cb",
				"--post-logout-redirect-uri", "https://wiki.example.com/")
			if code != 0 {
				t.Fatalf("clients add: exit %d\n%s", code, errOut)
			}
			m := regexp.MustCompile(`^client_id: ([A-Za-z0-9_-]{22,})\nclient_secret: ([A-Za-z0-9_-]{43})\n$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("clients add printed %q, want client_id and client_secret lines only", out)
			}
			wikiID, wikiSecret := m[1], m[2]
			if !strings.HasPrefix(errOut, "\n") || !strings.Contains(errOut, "shown only this once") ||
				!strings.Contains(errOut, base+"/.well-known/openid-configuration") {
				t.Errorf("clients add stderr %q: want, after a blank line, the secret shown once and the discovery URL", errOut)
			}
			wiki, err := db.OIDCClient(t.Context(), wikiID)
			if err != nil {
				t.Fatal(err)
			}
			if wiki.SecretHash != secret.Hash(wikiSecret) || strings.Contains(wiki.SecretHash, wikiSecret) {
				t.Fatalf("stored secret %q, want the hash of the printed secret, never the secret", wiki.SecretHash)
			}
			if wiki.Name != "Wiki" || wiki.FirstParty || !slices.Equal(wiki.RedirectURIs, []string{"https://wiki.example.com/cb", "http://127.0.0.1:9/cb"}) ||
				!slices.Equal(wiki.PostLogoutRedirectURIs, []string{"https://wiki.example.com/"}) {
				t.Fatalf("stored %+v", wiki)
			}

			// A public first-party app, flags in any order: no secret.
			out, errOut, code = twostepCmd(t, env, "clients", "add", "--public", "--redirect-uri", "http://localhost:3000/cb",
				"--first-party", "--name", "Dashboard SPA", "--data-dir", dir)
			if code != 0 {
				t.Fatalf("clients add --public: exit %d\n%s", code, errOut)
			}
			m = regexp.MustCompile(`^client_id: ([A-Za-z0-9_-]{22,})\n$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("clients add --public printed %q, want a client_id line only", out)
			}
			spaID := m[1]
			if spa, err := db.OIDCClient(t.Context(), spaID); err != nil || !spa.Public() || !spa.FirstParty {
				t.Fatalf("public app stored as %+v (%v)", spa, err)
			}
			if strings.Contains(errOut, "client_secret") || !strings.Contains(errOut, "/.well-known/openid-configuration") {
				t.Errorf("clients add --public stderr %q", errOut)
			}

			// The running server knows both at once.
			if got := authorizeStatus(t, base, spaID, "http://localhost:3000/cb"); got != http.StatusFound {
				t.Errorf("authorize for the new public app: %d, want a redirect to sign in", got)
			}
			if got := authorizeStatus(t, base, wikiID, "https://wiki.example.com/cb"); got != http.StatusFound {
				t.Errorf("authorize for the new confidential app: %d, want a redirect to sign in", got)
			}

			// list: a table, and JSON without secrets.
			out, errOut, code = twostepCmd(t, env, "clients", "list")
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if code != 0 || len(lines) != 3 {
				t.Fatalf("clients list: exit %d, %q\n%s", code, out, errOut)
			}
			for _, want := range [][]string{
				{"client_id", "name", "type", "first-party", "redirect URIs"},
				{wikiID, "Wiki", "confidential", "no", "https://wiki.example.com/cb http://127.0.0.1:9/cb"},
				{spaID, "Dashboard SPA", "public", "yes", "http://localhost:3000/cb"},
			} {
				line := lines[slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, want[0]+" ") })]
				for _, w := range want {
					if !strings.Contains(line, w) {
						t.Errorf("clients list line %q: want %q", line, w)
					}
				}
			}
			if strings.Contains(out, wikiSecret) || strings.Contains(out, wiki.SecretHash) {
				t.Fatal("clients list shows the secret or its hash")
			}
			out, errOut, code = twostepCmd(t, env, "clients", "list", "--json")
			var listed []clientJSON
			if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil {
				t.Fatalf("clients list --json: exit %d, %v: %q\n%s", code, err, out, errOut)
			}
			wantJSON := []clientJSON{
				{ClientID: wikiID, Name: "Wiki", Type: "confidential", RedirectURIs: wiki.RedirectURIs, PostLogoutRedirectURIs: wiki.PostLogoutRedirectURIs},
				{ClientID: spaID, Name: "Dashboard SPA", Type: "public", FirstParty: true, RedirectURIs: []string{"http://localhost:3000/cb"}, PostLogoutRedirectURIs: []string{}},
			}
			for i := range listed {
				listed[i].CreatedAt = time.Time{}
			}
			if !slices.EqualFunc(listed, wantJSON, func(a, b clientJSON) bool {
				return a.ClientID == b.ClientID && a.Name == b.Name && a.Type == b.Type && a.FirstParty == b.FirstParty &&
					slices.Equal(a.RedirectURIs, b.RedirectURIs) && slices.Equal(a.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs)
			}) {
				t.Fatalf("clients list --json:\n got  %+v\n want %+v", listed, wantJSON)
			}
			if strings.Contains(out, "secret") {
				t.Fatalf("clients list --json mentions a secret: %s", out)
			}

			// Bad input: refused with a message naming the problem, nothing written.
			for _, tt := range []struct {
				args []string
				want string
			}{
				{[]string{"--redirect-uri", "https://wiki.example.com/cb"}, "name: required"},
				{[]string{"--name", "X"}, "redirect URI: at least one is required"},
				{[]string{"--name", "X", "--redirect-uri", "/callback"}, `redirect URI "/callback": must be an absolute http:// or https:// URL`},
				{[]string{"--name", "X", "--redirect-uri", "https://x.example.com/cb#top"}, `redirect URI "https://x.example.com/cb#top": must not contain a fragment`},
				{[]string{"--name", "X", "--redirect-uri", "javascript:alert(1)"}, `redirect URI "javascript:alert(1)": must be an absolute http:// or https:// URL`},
				{[]string{"--name", "X", "--redirect-uri", "https://x.example.com/cb", "--post-logout-redirect-uri", "javascript:alert(1)"}, `post-logout redirect URI "javascript:alert(1)"`},
				{[]string{"--name", "X", "--redirect-uri", "https://x.example.com/cb", "extra"}, `unexpected argument "extra"`},
				{[]string{"--name", "X", "--redirect-uri", "https://x.example.com/cb", "--secret", "s"}, "flag provided but not defined: -secret"},
			} {
				out, errOut, code := twostepCmd(t, env, append([]string{"clients", "add"}, tt.args...)...)
				if code == 0 || out != "" || !strings.Contains(errOut, tt.want) {
					t.Errorf("clients add %q: exit %d, stdout %q, stderr %q; want a failure saying %q", tt.args, code, out, errOut, tt.want)
				}
			}
			if list, err := db.OIDCClients(t.Context()); err != nil || len(list) != 2 {
				t.Fatalf("apps after refused adds: %d (%v), want 2", len(list), err)
			}

			// remove: the app is gone for the running server too.
			out, errOut, code = twostepCmd(t, env, "clients", "remove", spaID, "--data-dir", dir)
			if code != 0 || !strings.Contains(out, "removed app "+spaID) {
				t.Fatalf("clients remove: exit %d, %q\n%s", code, out, errOut)
			}
			if _, err := db.OIDCClient(t.Context(), spaID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("removed app still stored: %v", err)
			}
			if got := authorizeStatus(t, base, spaID, "http://localhost:3000/cb"); got == http.StatusFound {
				t.Errorf("authorize for a removed app: %d, want it refused", got)
			}
			out, errOut, code = twostepCmd(t, env, "clients", "remove", spaID)
			if code == 0 || !strings.Contains(errOut, `no app with client_id "`+spaID+`"`) {
				t.Fatalf("removing it again: exit %d, %q, %q; want it to say there is no such app", code, out, errOut)
			}
			if _, errOut, code = twostepCmd(t, env, "clients", "remove"); code == 0 || !strings.Contains(errOut, "usage: twostep clients remove CLIENT_ID") {
				t.Fatalf("remove without an id: exit %d, %q", code, errOut)
			}
			if list, _ := db.OIDCClients(t.Context()); len(list) != 1 || list[0].ID != wikiID {
				t.Fatalf("apps left: %+v, want Wiki only", list)
			}
		})
	}
}

var newKeyLine = regexp.MustCompile(`(?m)^  (RS256|ES256)  kid (\S+)$`)

// TestRotateSigningKeyCommand runs `twostep rotate-signing-key` on a
// database no server has started on (it makes the first keys), then
// again: new current keys, and the replaced ones still published, retired.
func TestRotateSigningKeyCommand(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			dbURL, dir := testenv.DatabaseURL(t, engine), t.TempDir()
			env := []string{"TWOSTEP_DATABASE_URL=" + dbURL, "TWOSTEP_SECRETS_KEY=" + hex.EncodeToString(randomBytes(32))}
			rotate := func() map[string]string {
				t.Helper()
				out, errOut, code := twostepCmd(t, env, "rotate-signing-key", "--data-dir", dir)
				if code != 0 {
					t.Fatalf("rotate-signing-key: exit %d\n%s%s", code, out, errOut)
				}
				kids := map[string]string{}
				for _, m := range newKeyLine.FindAllStringSubmatch(out, -1) {
					kids[m[1]] = m[2]
				}
				if len(kids) != 2 {
					t.Fatalf("rotate-signing-key printed %q, want an RS256 and an ES256 key id", out)
				}
				return kids
			}
			db, err := store.Open(t.Context(), dbURL, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// published is the keys a server publishes, by id: when.
			published := func() map[string]store.SigningKey {
				t.Helper()
				keys, err := db.SigningKeys(t.Context(), time.Now().Add(-time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]store.SigningKey{}
				for _, k := range keys {
					out[k.ID] = k
				}
				return out
			}

			first := rotate()
			if keys := published(); len(keys) != 2 || !keys[first["RS256"]].RetiredAt.IsZero() || keys[first["ES256"]].Alg != "ES256" {
				t.Fatalf("after the first rotation: %+v, want the two printed keys, current", keys)
			}
			out, errOut, code := twostepCmd(t, env, "rotate-signing-key", "--data-dir", dir)
			if code != 0 || !strings.Contains(out, "stay published") || !strings.Contains(out, "70 minutes") {
				t.Fatalf("second rotation: exit %d, %q\n%s; want it to say the old keys stay published about 70 minutes", code, out, errOut)
			}
			second := map[string]string{}
			for _, m := range newKeyLine.FindAllStringSubmatch(out, -1) {
				second[m[1]] = m[2]
			}
			keys := published()
			if len(keys) != 4 {
				t.Fatalf("after the second rotation %d keys published, want 4: %+v", len(keys), keys)
			}
			for _, alg := range []string{"RS256", "ES256"} {
				cur, old := keys[second[alg]], keys[first[alg]]
				if cur.Alg != alg || !cur.RetiredAt.IsZero() || second[alg] == first[alg] {
					t.Errorf("%s: new key %+v, want a new current key", alg, cur)
				}
				if old.Alg != alg || old.RetiredAt.IsZero() {
					t.Errorf("%s: replaced key %+v, want it still published with RetiredAt set", alg, old)
				}
				if old.Sealed == "" || strings.Contains(old.Sealed, "PRIVATE KEY") {
					t.Errorf("%s: private key not sealed: %q", alg, old.Sealed)
				}
			}
		})
	}
}

func TestClientsUsage(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"clients"}, {"clients", "rename"}} {
		if err := run(args, &out, &errb); err == nil || !strings.Contains(err.Error(), "twostep clients add|list|remove") {
			t.Errorf("%q: %v, want the clients usage", args, err)
		}
	}
}

func TestParseAnywhere(t *testing.T) {
	for _, tt := range []struct {
		args, pos []string
		json      bool
	}{
		{[]string{"a", "--json", "b"}, []string{"a", "b"}, true},
		{[]string{"--json", "a"}, []string{"a"}, true},
		{[]string{"a", "--", "--json"}, []string{"a", "--json"}, false},
		{nil, nil, false},
	} {
		fs, _ := newAdminFlags("t", &bytes.Buffer{})
		j := fs.Bool("json", false, "")
		pos, err := parseAnywhere(fs, tt.args)
		if err != nil || !slices.Equal(pos, tt.pos) || *j != tt.json {
			t.Errorf("parseAnywhere(%q) = %q, json %v, %v; want %q, json %v", tt.args, pos, *j, err, tt.pos, tt.json)
		}
	}
}
