package session

import (
	"context"
	"sync"
	"time"

	"twostep/internal/secret"
	"twostep/internal/store"
)

// Authenticator finds the live session behind a session cookie's token.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (store.Session, store.User, error)
}

// CacheTTL is how long a cached session lookup is trusted: a session
// revoked on another instance stops working here within it.
const CacheTTL = time.Second

// maxCached bounds the cache; when full it starts again empty.
const maxCached = 50_000

// Cache remembers session lookups for CacheTTL, for the forward-auth
// check a proxy makes on every request of every protected app. It never
// serves what this instance has changed since (changed is the store's
// counter of session and user writes, DB.SessionsChanged); changes made
// on other instances reach it within CacheTTL. Only live sessions are
// cached: a refused cookie is asked about again every time.
type Cache struct {
	auth    Authenticator
	changed func() uint64
	now     func() time.Time

	mu      sync.Mutex
	entries map[string]cached
}

type cached struct {
	sess    store.Session
	user    store.User
	at      time.Time
	changed uint64
}

// NewCache caches auth's answers.
func NewCache(auth Authenticator, changed func() uint64, now func() time.Time) *Cache {
	return &Cache{auth: auth, changed: changed, now: now, entries: map[string]cached{}}
}

// Authenticate is auth's Authenticate, from the cache when it may be.
func (c *Cache) Authenticate(ctx context.Context, token string) (store.Session, store.User, error) {
	if !secret.WellFormedToken(token) {
		return store.Session{}, store.User{}, ErrNoSession
	}
	key := secret.Hash(token)
	// Read before the lookup: a write that lands during it makes the
	// entry stale at once.
	changed, now := c.changed(), c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.changed == changed && !now.Before(e.at) && now.Sub(e.at) < CacheTTL && now.Before(e.sess.ExpiresAt) {
		return e.sess, e.user, nil
	}
	sess, u, err := c.auth.Authenticate(ctx, token)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		delete(c.entries, key)
		return sess, u, err
	}
	if len(c.entries) >= maxCached {
		clear(c.entries)
	}
	c.entries[key] = cached{sess: sess, user: u, at: now, changed: changed}
	return sess, u, nil
}
