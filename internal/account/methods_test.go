package account

import (
	"testing"

	"twostep/internal/config"
	"twostep/internal/factor"
	"twostep/internal/store"
)

// TestEveryKindHasAMethod: the registry serves every kind a factor can
// have, and each says what a success proves.
func TestEveryKindHasAMethod(t *testing.T) {
	s := New(Options{Config: config.Default()})
	for _, k := range []factor.Kind{factor.TOTP, factor.SMS, factor.Voice, factor.Email, factor.Recovery, factor.WebAuthn} {
		m, ok := s.methods.For(k)
		if !ok {
			t.Errorf("no method for kind %q", k)
			continue
		}
		if amr := m.AMR(store.Factor{Kind: k}); len(amr) == 0 {
			t.Errorf("method of kind %q adds no amr", k)
		}
	}
	if _, ok := s.methods.For("carrier_pigeon"); ok {
		t.Error("a kind nobody built has a method")
	}
}
