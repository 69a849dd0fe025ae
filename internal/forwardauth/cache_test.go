package forwardauth_test

import (
	"net/http"
	"net/netip"
	"testing"

	"twostep/internal/app"
	"twostep/internal/config"
	"twostep/internal/session"
	"twostep/internal/testenv"
)

// TestSessionCacheAcrossInstances: forward-auth caches session lookups,
// so it must never let a revoked or stepped-up session be seen wrongly
// for long. Two instances share one database (PostgreSQL, and SQLite's
// file): on the instance that made the change it shows at once; on the
// other within session.CacheTTL.
func TestSessionCacheAcrossInstances(t *testing.T) {
	for _, engine := range testenv.Engines {
		t.Run(engine, func(t *testing.T) {
			a := start(t, engine)
			cfg := a.srv.App.Config
			cfg.Server.TrustProxy = config.Proxies{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
			b := &env{t: t, srv: testenv.Start(t, cfg, app.Options{Now: a.clock.Now}), clock: a.clock}
			const page = "https://app.example.com/orders"

			c, uid := a.signup("cache@example.com")
			// The same cookie on both instances (a cookie jar per host).
			cb := b.srv.Client()
			cb.Jar.SetCookies(mustURL(b.srv.BaseURL()), c.Jar.Cookies(mustURL(a.srv.BaseURL())))
			wantAllowed(t, a.forwardAuth(c, "GET", page, nil), uid, "cache@example.com", "1")
			wantAllowed(t, b.forwardAuth(cb, "GET", page, nil), uid, "cache@example.com", "1")

			// Signed out everywhere on A: A refuses at once.
			if r := a.do(c, "POST", "/api/v1/signout/everywhere", nil, nil); r.Status != http.StatusNoContent {
				t.Fatalf("sign out everywhere: %d %s", r.Status, r.Body)
			}
			if r := a.forwardAuth(c, "GET", page, nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("the instance that revoked the session still allowed it: %d", r.Status)
			}
			// B may answer from its cache for up to CacheTTL, never after.
			a.clock.Advance(session.CacheTTL)
			if r := b.forwardAuth(cb, "GET", page, nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("another instance allowed a session revoked %v ago: %d", session.CacheTTL, r.Status)
			}
		})
	}
}

// TestSessionCacheSeesSignOutAtOnce: on one instance a sign-out shows at
// once, however warm the cache.
func TestSessionCacheSeesSignOutAtOnce(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		c, uid, _, _ := e.twoStep("up@example.com")
		wantAllowed(t, e.forwardAuth(c, "GET", "https://app.example.com/admin/users", nil), uid, "up@example.com", "2")
		if r := e.do(c, "POST", "/api/v1/signout", nil, nil); r.Status != http.StatusNoContent {
			t.Fatalf("sign out: %d", r.Status)
		}
		if r := e.forwardAuth(c, "GET", "https://app.example.com/orders", nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("signed out, the check still allowed: %d", r.Status)
		}
	})
}
