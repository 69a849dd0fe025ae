package oidc_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"twostep/internal/app"
	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/testenv"
)

// BenchmarkApps measures, on each engine and in the same run, a signed-in
// person's whole app sign-in (authorize, continue, callback, code
// exchange: four requests), a refresh (one request, rotating the token),
// and the server's /healthz as the baseline the others are read against.
//
//	go test ./internal/oidc -run '^$' -bench Apps -benchtime 3s
func BenchmarkApps(b *testing.B) {
	for _, engine := range testenv.Engines {
		b.Run(engine, func(b *testing.B) {
			e := benchEnv(b, engine)
			br := e.browser()
			e.signUp(br, "bench@example.com")
			b.Run("healthz", func(b *testing.B) {
				for b.Loop() {
					e.must(e.do(br, "GET", "/healthz", nil, nil), http.StatusOK)
				}
			})
			b.Run("code-flow", func(b *testing.B) {
				for b.Loop() {
					s := e.authorize(br, e.first)
					if _, err := e.first.Exchange(e.ctx, e.code(s), oauth2.VerifierOption(s.verifier)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("refresh", func(b *testing.B) {
				s := e.authorize(br, e.first)
				tok, err := e.first.Exchange(e.ctx, e.code(s), oauth2.VerifierOption(s.verifier))
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					tok, err = e.first.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func benchEnv(b *testing.B, engine string) *env {
	clock := testenv.NewClock()
	srv := testenv.Start(b, testenv.Config(b, testenv.DatabaseURL(b, engine)), app.Options{Now: clock.Now})
	e := &env{t: b, srv: srv, clock: clock}
	e.ctx = gooidc.ClientContext(context.Background(), &http.Client{Timeout: 30 * time.Second})
	e.secret = secret.NewToken()
	e.addClient(store.OIDCClient{ID: "shop-admin", Name: "Shop Admin", SecretHash: secret.Hash(e.secret), FirstParty: true, RedirectURIs: []string{appRedirect}})
	prov, err := gooidc.NewProvider(e.ctx, srv.BaseURL())
	if err != nil {
		b.Fatal(err)
	}
	e.prov = prov
	ep := prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	e.first = oauth2.Config{ClientID: "shop-admin", ClientSecret: e.secret, Endpoint: ep, RedirectURL: appRedirect,
		Scopes: []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess}}
	return e
}
