package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestCrossSiteRefusalsSpeakTheSurfacesLanguage: a request the server
// refuses before any handler is answered by the surface it was for — a
// page for a form, problem+json with its code for the API.
func TestCrossSiteRefusalsSpeakTheSurfacesLanguage(t *testing.T) {
	s := newSite(t)
	post := func(path, contentType string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", s.srv.BaseURL()+path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := s.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := post("/account/signout-everywhere", "application/x-www-form-urlencoded")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("page refusal is %s, want an HTML page", ct)
	}
	s.want(http.StatusForbidden, resp.StatusCode, body, "This request came from another site and was refused.")

	resp, body = post("/api/v1/signout", "application/json")
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("API refusal is %s, want application/problem+json", ct)
	}
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
		Type   string `json:"type"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != 403 || p.Code != "cross_origin" || p.Type != "about:blank" {
		t.Errorf("API refusal = %d %s (%v), want 403 with code cross_origin", resp.StatusCode, body, err)
	}
}
