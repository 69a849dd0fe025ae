// Package secret encrypts secrets at rest (authenticator seeds, phone
// numbers) with AES-256-GCM, and makes and hashes the random tokens that
// travel in cookies and e-mails.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the generated key in the data directory.
const KeyFile = "secret.key"

// ParseKey reads a 32-byte key written as base64 (std or URL) or hex.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("secret: key must be 32 bytes, written as 64 hex digits or base64")
}

// LoadOrCreateKey returns the configured key, or the one in dataDir, or
// generates one there (mode 0600). created reports the last case, which
// the caller should warn about: losing that file loses every secret.
func LoadOrCreateKey(configured, dataDir string) (key []byte, created bool, err error) {
	if configured != "" {
		key, err := ParseKey(configured)
		return key, false, err
	}
	path := filepath.Join(dataDir, KeyFile)
	if b, err := os.ReadFile(path); err == nil {
		key, err := ParseKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("secret: %s: %w", path, err)
		}
		return key, false, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("secret: %w", err)
	}
	key = make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("secret: create key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, false, fmt.Errorf("secret: write key: %w", err)
	}
	return key, true, nil
}

// Box seals and opens secrets with AES-256-GCM. Each ciphertext starts with
// the id of the key that sealed it, so keys can be rotated.
type Box struct {
	id   string
	aead cipher.AEAD
}

// NewBox returns a box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, errors.New("secret: key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	sum := sha256.Sum256(key)
	return &Box{id: hex.EncodeToString(sum[:4]), aead: aead}, nil
}

// KeyID names the key without revealing it.
func (b *Box) KeyID() string { return b.id }

// Seal encrypts plaintext bound to context (e.g. "totp:" + factor id), so a
// ciphertext copied to another row does not open.
func (b *Box) Seal(plaintext []byte, context string) string {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	ct := b.aead.Seal(nonce, nonce, plaintext, []byte(context))
	return b.id + "." + base64.RawStdEncoding.EncodeToString(ct)
}

// ErrWrongKey is returned for ciphertext sealed under another key.
var ErrWrongKey = errors.New("secret: sealed with another key")

// Open decrypts what Seal made with the same context.
func (b *Box) Open(sealed, context string) ([]byte, error) {
	id, body, ok := strings.Cut(sealed, ".")
	if !ok {
		return nil, errors.New("secret: malformed ciphertext")
	}
	if id != b.id {
		return nil, ErrWrongKey
	}
	ct, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(ct) < b.aead.NonceSize() {
		return nil, errors.New("secret: malformed ciphertext")
	}
	pt, err := b.aead.Open(nil, ct[:b.aead.NonceSize()], ct[b.aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, errors.New("secret: ciphertext does not open")
	}
	return pt, nil
}

// NewToken returns 256 random bits, base64url without padding.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the SHA-256 of a token in hex: what the database keeps. A token
// has 256 bits of entropy, so a fast unsalted hash is enough.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// WellFormedToken reports whether s could be a token from NewToken, so junk
// is refused before any database work.
func WellFormedToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// Keyring seals with the current key and opens with any key it holds, so
// secrets sealed under an earlier key stay readable until re-encrypted.
type Keyring struct {
	current *Box
	byID    map[string]*Box
}

// NewKeyring builds a keyring from the current key and earlier ones.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	cur, err := NewBox(current)
	if err != nil {
		return nil, err
	}
	k := &Keyring{current: cur, byID: map[string]*Box{cur.id: cur}}
	for _, o := range old {
		b, err := NewBox(o)
		if err != nil {
			return nil, err
		}
		k.byID[b.id] = b
	}
	return k, nil
}

// Seal encrypts under the current key.
func (k *Keyring) Seal(plaintext []byte, context string) string {
	return k.current.Seal(plaintext, context)
}

// Open decrypts with whichever key sealed it.
func (k *Keyring) Open(sealed, context string) ([]byte, error) {
	id, _, _ := strings.Cut(sealed, ".")
	b, ok := k.byID[id]
	if !ok {
		return nil, ErrWrongKey
	}
	return b.Open(sealed, context)
}

// KeyID names the current key.
func (k *Keyring) KeyID() string { return k.current.id }

// Current reports whether sealed was made with the current key.
func (k *Keyring) Current(sealed string) bool {
	return strings.HasPrefix(sealed, k.current.id+".")
}
