package securitykey_test

import (
	"errors"
	"testing"

	vw "github.com/descope/virtualwebauthn"

	"twostep/internal/method/securitykey"
)

// FuzzParseCredential: no credential JSON from a client crashes the
// parsers, and every refusal is ErrInvalid (the one answer the flows turn
// into invalid_credential).
func FuzzParseCredential(f *testing.F) {
	rp := vw.RelyingParty{ID: "localhost", Name: "twostep", Origin: "http://localhost:8080"}
	auth := vw.NewAuthenticator()
	cred := vw.NewCredential(vw.KeyTypeEC2)
	challenge := []byte("0123456789abcdef0123456789abcdef")
	f.Add([]byte(vw.CreateAttestationResponse(rp, auth, cred, vw.AttestationOptions{Challenge: challenge, UserID: "u1", UserName: "a@example.com"})))
	f.Add([]byte(vw.CreateAssertionResponse(rp, auth, cred, vw.AssertionOptions{Challenge: challenge})))
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"id":"x","rawId":"x","type":"public-key","response":{}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, err := securitykey.ParseAssertion(raw); err != nil && !errors.Is(err, securitykey.ErrInvalid) {
			t.Fatalf("ParseAssertion error %v is not ErrInvalid", err)
		}
		if _, err := securitykey.ParseAttestation(raw); err != nil && !errors.Is(err, securitykey.ErrInvalid) {
			t.Fatalf("ParseAttestation error %v is not ErrInvalid", err)
		}
	})
}
