package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"twostep/internal/secret"
	"twostep/internal/store"
)

// The algorithms ID tokens can be signed with: RS256, which OpenID
// Connect requires every provider to offer, and ES256.
var algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// keyRetention is how long a retired key stays published: longer than
// any ID token it signed lives.
const keyRetention = idTokenTTL + 10*time.Minute

// keysReload is how often an instance looks for keys another instance
// (or `twostep rotate-signing-key`) added.
const keysReload = 30 * time.Second

// signingKey is one key pair, opened.
type signingKey struct {
	id      string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
	retired bool
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k signingKey) Key() any                                    { return k.private }
func (k signingKey) ID() string                                  { return k.id }

// publicKey is the published half of a key, for JWKS.
type publicKey struct{ k signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.private.Public() }

// keyring holds the published signing keys, reloaded from the database
// now and then.
type keyring struct {
	db   *store.DB
	box  *secret.Keyring
	now  func() time.Time
	mu   sync.Mutex
	keys []signingKey
	at   time.Time
}

// NewSigningKeys makes a fresh key pair for every algorithm, sealed for
// the database.
func NewSigningKeys(box *secret.Keyring, now time.Time) ([]store.SigningKey, error) {
	var out []store.SigningKey
	for _, alg := range algorithms {
		var priv crypto.Signer
		var err error
		switch alg {
		case jose.RS256:
			priv, err = rsa.GenerateKey(rand.Reader, 2048)
		case jose.ES256:
			priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}
		if err != nil {
			return nil, fmt.Errorf("generate %s key: %w", alg, err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("encode %s key: %w", alg, err)
		}
		kid := secret.NewToken()[:16]
		out = append(out, store.SigningKey{ID: kid, Alg: string(alg), Sealed: box.Seal(der, secret.SigningKeyContext(kid)), CreatedAt: now})
	}
	return out, nil
}

// EnsureSigningKeys creates the signing keys at the first start; later
// starts (and concurrent first starts) keep the keys there are.
func EnsureSigningKeys(ctx context.Context, db *store.DB, box *secret.Keyring, now time.Time) error {
	have, err := db.SigningKeys(ctx, now)
	if err != nil {
		return err
	}
	current := map[string]bool{}
	for _, k := range have {
		current[k.Alg] = current[k.Alg] || k.RetiredAt.IsZero()
	}
	if current[string(jose.RS256)] && current[string(jose.ES256)] {
		return nil // made before: no key generation (an RSA key takes a while)
	}
	keys, err := NewSigningKeys(box, now)
	if err != nil {
		return err
	}
	return db.AddSigningKeys(ctx, true, now, keys...)
}

// RotateSigningKeys adds a new key for every algorithm; the keys they
// replace stay published until the tokens they signed have expired.
func RotateSigningKeys(ctx context.Context, db *store.DB, box *secret.Keyring, now time.Time) ([]store.SigningKey, error) {
	keys, err := NewSigningKeys(box, now)
	if err != nil {
		return nil, err
	}
	return keys, db.AddSigningKeys(ctx, false, now, keys...)
}

// published returns the keys to publish, current ones first, newest
// first, reloading them when they are older than keysReload.
func (r *keyring) published(ctx context.Context) ([]signingKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.keys != nil && now.Sub(r.at) < keysReload && !now.Before(r.at) {
		return r.keys, nil
	}
	rows, err := r.db.SigningKeys(ctx, now.Add(-keyRetention))
	if err != nil {
		return nil, err
	}
	keys := make([]signingKey, 0, len(rows))
	for _, row := range rows {
		der, err := r.box.Open(row.Sealed, secret.SigningKeyContext(row.ID))
		if err != nil {
			return nil, fmt.Errorf("open signing key %s (is secrets.key the key this database was made with?): %w", row.ID, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", row.ID, err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("signing key %s: not a signing key", row.ID)
		}
		keys = append(keys, signingKey{id: row.ID, alg: jose.SignatureAlgorithm(row.Alg), private: signer, retired: !row.RetiredAt.IsZero()})
	}
	r.keys, r.at = keys, now
	return keys, nil
}

// current returns the newest current key for alg.
func (r *keyring) current(ctx context.Context, alg jose.SignatureAlgorithm) (signingKey, error) {
	keys, err := r.published(ctx)
	if err != nil {
		return signingKey{}, err
	}
	for _, k := range keys {
		if k.alg == alg && !k.retired {
			return k, nil
		}
	}
	return signingKey{}, fmt.Errorf("no current %s signing key", alg)
}
