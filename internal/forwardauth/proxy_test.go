package forwardauth_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// forwardAuthProxy does what Traefik's ForwardAuth middleware does (and
// Caddy's forward_auth, the same contract): for every request it asks the
// auth address with GET, the client's headers and X-Forwarded-Method,
// -Proto, -Host, -Uri and -For; on a 2xx it copies the listed response
// headers onto the request (replacing what the client sent) and passes it
// to the app; otherwise it hands the auth answer (status, Location, body)
// back to the client.
func forwardAuthProxy(t *testing.T, authURL string, copyHeaders []string, app http.Handler) *httptest.Server {
	upstream := httptest.NewServer(app)
	t.Cleanup(upstream.Close)
	target, _ := url.Parse(upstream.URL)
	pass := httputil.NewSingleHostReverseProxy(target)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ask, _ := http.NewRequest("GET", authURL, nil)
		for k, vs := range r.Header {
			ask.Header[k] = vs
		}
		ask.Header.Set("X-Forwarded-Method", r.Method)
		ask.Header.Set("X-Forwarded-Proto", "https") // the proxy terminates TLS
		ask.Header.Set("X-Forwarded-Host", r.Host)
		ask.Header.Set("X-Forwarded-Uri", r.URL.RequestURI())
		ask.Header.Set("X-Forwarded-For", "203.0.113.5")
		resp, err := http.DefaultTransport.RoundTrip(ask)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			for _, h := range []string{"Location", "Content-Type", "Set-Cookie"} {
				if v := resp.Header.Values(h); len(v) > 0 {
					w.Header()[h] = v
				}
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
			return
		}
		for _, h := range copyHeaders {
			r.Header.Del(h)
			if v, ok := resp.Header[http.CanonicalHeaderKey(h)]; ok {
				r.Header[http.CanonicalHeaderKey(h)] = v
			}
		}
		pass.ServeHTTP(w, r)
	}))
}

// TestTraefikForwardAuthContract runs a sign-in through a proxy that
// behaves like Traefik's ForwardAuth with
// authResponseHeaders=Remote-User,Remote-Email,Remote-AAL.
func TestTraefikForwardAuthContract(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		// The app shows what identity reached it.
		app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Saw-User", r.Header.Get("Remote-User"))
			w.Header().Set("X-Saw-Email", r.Header.Get("Remote-Email"))
			w.Header().Set("X-Saw-AAL", r.Header.Get("Remote-AAL"))
			w.WriteHeader(http.StatusOK)
		})
		proxy := forwardAuthProxy(t, e.srv.BaseURL()+"/api/v1/authz/forward-auth", []string{"Remote-User", "Remote-Email", "Remote-AAL"}, app)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(host, path string, header map[string]string) *http.Response {
			t.Helper()
			req, _ := http.NewRequest("GET", proxy.URL+path, nil)
			req.Host = host
			for k, v := range header {
				req.Header.Set(k, v)
			}
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		forged := map[string]string{"Remote-User": "admin", "Remote-Email": "boss@example.com", "Remote-AAL": "2", "Accept": "text/html"}

		// A bypass page: the app sees no identity, whatever the client forged.
		resp := get("public.example.com", "/", forged)
		if resp.StatusCode != 200 || resp.Header.Get("X-Saw-User") != "" || resp.Header.Get("X-Saw-Email") != "" || resp.Header.Get("X-Saw-AAL") != "" {
			t.Fatalf("bypass: %d, app saw %q %q %q", resp.StatusCode, resp.Header.Get("X-Saw-User"), resp.Header.Get("X-Saw-Email"), resp.Header.Get("X-Saw-AAL"))
		}
		// A protected page, signed out: the browser is sent to sign in and
		// back; a script gets 401; the app is never reached.
		resp = get("app.example.com", "/orders?id=7", forged)
		if want := e.signinURL("/signin", "https://app.example.com/orders?id=7"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Fatalf("signed out: %d Location %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if resp.Header.Get("X-Saw-User") != "" {
			t.Fatal("the app was reached")
		}
		if resp = get("app.example.com", "/orders", map[string]string{"Accept": "application/json"}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("signed out, not a browser: %d, want 401", resp.StatusCode)
		}
		if resp = get("blocked.example.com", "/", nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("denied: %d, want 403", resp.StatusCode)
		}

		// Signed in with one step: the app sees who, over what was forged;
		// the admin pages send the browser to the second step.
		c, id := e.signup("one@example.com")
		cookie := c.Jar.Cookies(mustURL(e.srv.BaseURL()))
		withSession := func(h map[string]string) map[string]string {
			m := mergeHeaders(h, nil)
			var pairs []string
			for _, ck := range cookie {
				pairs = append(pairs, ck.Name+"="+ck.Value)
			}
			m["Cookie"] = strings.Join(pairs, "; ")
			return m
		}
		resp = get("app.example.com", "/orders", withSession(forged))
		if resp.StatusCode != 200 || resp.Header.Get("X-Saw-User") != id || resp.Header.Get("X-Saw-Email") != "one@example.com" || resp.Header.Get("X-Saw-AAL") != "1" {
			t.Fatalf("signed in: %d, app saw %q %q %q, want %s", resp.StatusCode, resp.Header.Get("X-Saw-User"), resp.Header.Get("X-Saw-Email"), resp.Header.Get("X-Saw-AAL"), id)
		}
		resp = get("app.example.com", "/admin", withSession(forged))
		if want := e.signinURL("/signin/second-step", "https://app.example.com/admin"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Fatalf("one step on /admin: %d Location %q, want %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}

		// Signed out: the app asks again.
		out, _ := http.NewRequest("POST", e.srv.BaseURL()+"/api/v1/signout", nil)
		if r, err := c.Do(out); err != nil || r.StatusCode != http.StatusNoContent {
			t.Fatalf("sign out: %v %v", r, err)
		}
		if resp = get("app.example.com", "/orders", withSession(nil)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("after sign-out: %d, want 401", resp.StatusCode)
		}
	})
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
