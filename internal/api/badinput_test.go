package api_test

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		c := e.signup("bad@example.com")
		before := countRows(t, e, "users")
		huge := `{"email":"x@example.com","password":"` + strings.Repeat("a", 70<<10) + `"}`
		cases := []struct {
			name, path, body, contentType, code string
			status                              int
		}{
			{"malformed", "/api/v1/signup", `{"email":`, "application/json", "invalid_json", 400},
			{"not an object", "/api/v1/signup", `[1,2]`, "application/json", "invalid_json", 400},
			{"wrong type", "/api/v1/signup", `{"email":42,"password":"correct horse battery"}`, "application/json", "invalid_json", 400},
			{"unknown field", "/api/v1/signup", `{"email":"y@example.com","password":"correct horse battery","admin":true}`, "application/json", "unknown_field", 400},
			{"two objects", "/api/v1/signup", `{"email":"y@example.com","password":"correct horse battery"}{}`, "application/json", "invalid_json", 400},
			{"empty body", "/api/v1/signup", ``, "application/json", "invalid_json", 400},
			{"huge body", "/api/v1/signup", huge, "application/json", "body_too_large", 413},
			{"not UTF-8", "/api/v1/signup", "{\"email\":\"z@example.com\",\"password\":\"pass\xff\xfeword long\"}", "application/json", "invalid_utf8", 400},
			{"form body", "/api/v1/signup", "email=a", "application/x-www-form-urlencoded", "unsupported_media_type", 415},
			{"sign-in wrong type", "/api/v1/signin", `{"email":"bad@example.com","password":["x"]}`, "application/json", "invalid_json", 400},
			{"reset unknown field", "/api/v1/password/reset", `{"mail":"bad@example.com"}`, "application/json", "unknown_field", 400},
			{"confirm forged", "/api/v1/password/reset/confirm", `{"token":"../../etc","new_password":"something long enough"}`, "application/json", "invalid_token", 400},
			{"verify forged", "/api/v1/email/verify", `{"token":"` + strings.Repeat("A", 43) + `"}`, "application/json", "invalid_token", 400},
			{"password huge", "/api/v1/password", huge, "application/json", "body_too_large", 413},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("POST", e.srv.BaseURL()+tc.path, strings.NewReader(tc.body))
				req.Header.Set("Content-Type", tc.contentType)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var p map[string]any
				json.NewDecoder(resp.Body).Decode(&p)
				if resp.StatusCode != tc.status || p["code"] != tc.code {
					t.Fatalf("got %d %v, want %d %s", resp.StatusCode, p, tc.status, tc.code)
				}
				if d, _ := p["detail"].(string); d == "" {
					t.Fatalf("no detail saying what is wrong: %v", p)
				}
			})
		}
		if n := countRows(t, e, "users"); n != before {
			t.Fatalf("users = %d after bad input, want %d", n, before)
		}
		e.want(e.call(c, "GET", "/api/v1/me", nil), 200, "") // still signed in, nothing changed

		// Forged, malformed and missing session cookies are 401, never 500.
		for _, v := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("é", 20), "%%%"} {
			anon := e.srv.Client()
			if v != "" {
				anon.Jar.SetCookies(mustURL(e.srv.BaseURL()), []*http.Cookie{{Name: "twostep_session", Value: v}})
			}
			e.want(e.call(anon, "GET", "/api/v1/me", nil), 401, "unauthenticated")
			e.want(e.call(anon, "DELETE", "/api/v1/sessions/x", nil), 401, "unauthenticated")
		}
		e.want(e.call(c, "GET", "/api/v1/nothing-here", nil), 404, "not_found")
	})
}

func TestCrossSiteRequestsAreRefused(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		c := e.signup("csrf@example.com")
		for _, path := range []string{"/api/v1/signout", "/api/v1/sessions/revoke-others", "/signout", "/account/signout-everywhere"} {
			req, _ := http.NewRequest("POST", e.srv.BaseURL()+path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-site POST %s = %d, want 403", path, resp.StatusCode)
			}
		}
		e.want(e.call(c, "GET", "/api/v1/me", nil), 200, "") // still signed in
		// Same-origin browser requests pass.
		req, _ := http.NewRequest("POST", e.srv.BaseURL()+"/api/v1/signout", nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("same-origin sign-out = %d, want 204", resp.StatusCode)
		}
	})
}

func decodeList(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("not a JSON array: %s", body)
	}
	return out
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// rawDB opens the test's database directly, to look at what is stored.
func rawDB(t *testing.T, e *env) *sql.DB {
	t.Helper()
	u := e.srv.App.Config.Database.URL
	driver, dsn := "pgx", u
	if strings.HasPrefix(u, "sqlite:") {
		driver, dsn = "sqlite", strings.TrimPrefix(u, "sqlite:")
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t *testing.T, e *env, table string) int {
	t.Helper()
	var n int
	if err := rawDB(t, e).QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
