package api_test

import (
	"errors"
	"testing"

	"twostep/internal/api"
)

// FuzzDecodeJSON: no body crashes the decoder; every refusal is a 4xx
// problem with a code and a message.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"email":"a@b.co","password":"x"}`, `{`, `[]`, `null`, `{"email":1}`, "{\"email\":\"\xff\"}", `{"a":1}`, `{} {}`, ``, `"str"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		err := api.DecodeJSON(body, &v)
		if err == nil {
			return
		}
		var p *api.Problem
		if !errors.As(err, &p) {
			t.Fatalf("error %v is not a problem", err)
		}
		if p.Status < 400 || p.Status > 499 || p.Code == "" || p.Detail == "" {
			t.Fatalf("problem %+v: want a 4xx with code and detail", p)
		}
	})
}
