package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrBusy is returned when a hash is refused at admission: all slots were
// taken and the hashes queued ahead could not finish within the Hasher's
// maximum wait at the measured rate. The error returned is a [*BusyError]
// that says when to retry.
var ErrBusy = errors.New("password: too many hashes in progress")

// Params are argon2id cost parameters.
type Params struct {
	MemoryKiB   uint32 // memory per hash, in KiB
	Iterations  uint32 // passes over the memory
	Parallelism uint8  // lanes (threads) per hash
	SaltLen     uint32 // random salt, in bytes
	KeyLen      uint32 // derived hash, in bytes
}

// DefaultParams returns the OWASP-recommended argon2id parameters:
// 19 MiB of memory, 2 iterations, 1 lane, a 16-byte salt and a 32-byte hash.
func DefaultParams() Params {
	return Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p can be used to hash new passwords. It demands
// at least 16-byte salts and hashes, and stays within the bounds a stored
// hash may have, so every hash made with p can be verified later.
func (p Params) Validate() error {
	switch {
	case p.Parallelism < 1:
		return errors.New("password: parallelism must be at least 1")
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("password: iterations must be between 1 and %d", maxIterations)
	case p.MemoryKiB < 8*uint32(p.Parallelism) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("password: memory must be between 8 KiB per lane and %d KiB", maxMemoryKiB)
	case p.SaltLen < 16 || p.SaltLen > maxSaltLen:
		return fmt.Errorf("password: salt length must be between 16 and %d bytes", maxSaltLen)
	case p.KeyLen < 16 || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: key length must be between 16 and %d bytes", maxKeyLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with argon2id, running at most a
// fixed number of hashes at once. Every argon2id hash holds its full memory
// cost until it finishes, so the slots bound the memory that sign-in can
// use: 19 MiB × slots at the default parameters.
//
// A hash that finds every slot taken is admitted to wait in line if the
// hashes ahead of it can finish within the maximum wait at the rate the
// Hasher measures (a moving average of its own hashes); otherwise it is
// refused at once with a [*BusyError], rather than after waiting in vain.
// Waiting hashes hold no memory block. A Hasher is safe for concurrent use.
type Hasher struct {
	params Params
	adm    *admission
	dummy  string // a hash of a random password, for VerifyDummy
}

// NewHasher returns a Hasher using p for new hashes, running at most
// maxConcurrent hashes at once (at least 1), and admitting a hash to wait
// for a slot when its expected wait is at most maxWait (zero or less: no
// waiting at all). It computes one hash to serve VerifyDummy, which also
// gives the first measure of the hash rate, so it takes as long as one
// Hash. It panics if p is not valid; check configured parameters with
// [Params.Validate] first.
func NewHasher(p Params, maxConcurrent int, maxWait time.Duration) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	h := &Hasher{params: p, adm: newAdmission(maxConcurrent, maxWait)}
	t, _ := h.adm.acquire(context.Background()) // the first slot is free
	h.dummy = h.hash(rand.Text())
	h.adm.release(t, true)
	return h
}

// Observe has h tell o how long hashes wait for a slot and when one is
// refused. Call it before h is used by more than one goroutine.
func (h *Hasher) Observe(o Observer) { h.adm.obs = o }

// Params returns the parameters h uses for new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns an argon2id PHC string for pw, such as
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> with unpadded standard
// base64 salt and hash. Hash normalises nothing: callers pass a password
// already normalised by [Normalize] or [Policy.Check]. It returns a
// [*BusyError] (wrapping [ErrBusy]) if it is refused at admission, or ctx's
// error if ctx ends while it waits for a slot.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	t, err := h.adm.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer h.adm.release(t, true)
	return h.hash(pw), nil
}

// hash computes a PHC string for pw with a fresh salt, without a slot.
func (h *Hasher) hash(pw string) string {
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt) // never fails (crypto/rand documents it)
	return phc{
		memoryKiB:   h.params.MemoryKiB,
		iterations:  h.params.Iterations,
		parallelism: h.params.Parallelism,
		salt:        salt,
		key:         argon2.IDKey([]byte(pw), salt, h.params.Iterations, h.params.MemoryKiB, h.params.Parallelism, h.params.KeyLen),
	}.String()
}

// Verify reports whether pw matches encoded, comparing in constant time.
// encoded is an argon2id PHC string or an imported hash (bcrypt $2a$, $2b$
// or $2y$, argon2i, Django PBKDF2: see import.go). needsRehash is true
// when the password matched but encoded was not made with h's parameters
// (always so for an imported format): the caller should
// then store a fresh Hash of pw. A malformed encoded gives an error wrapping
// [ErrMalformedHash]; admission can fail as in [Hasher.Hash].
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error) {
	if isBcrypt(encoded) {
		return h.verifyBcrypt(ctx, pw, encoded)
	}
	if foreign(encoded) {
		return h.verifyForeign(ctx, pw, encoded)
	}
	stored, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	// Only hashes at h's parameters measure the rate: others cost more or less.
	current := stored.params() == h.params
	t, err := h.adm.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer h.adm.release(t, current)
	key := argon2.IDKey([]byte(pw), stored.salt, stored.iterations, stored.memoryKiB, stored.parallelism, uint32(len(stored.key)))
	if subtle.ConstantTimeCompare(key, stored.key) != 1 {
		return false, false, nil
	}
	return true, !current, nil
}

// isBcrypt reports whether encoded looks like a bcrypt hash in one of the
// variants that PHP, Python and OpenBSD write and x/crypto/bcrypt verifies.
func isBcrypt(encoded string) bool {
	return strings.HasPrefix(encoded, "$2a$") ||
		strings.HasPrefix(encoded, "$2b$") ||
		strings.HasPrefix(encoded, "$2y$")
}

// maxBcryptCost bounds imported bcrypt hashes: cost 18 already takes many
// seconds, and the format allows 31 (hours), which only a corrupted hash
// would ask for.
const maxBcryptCost = 18

// verifyBcrypt checks pw against an imported bcrypt hash. Such a hash
// always needs rehashing once the password is known. Like C bcrypt,
// x/crypto/bcrypt uses only the first 72 bytes of pw, which is what the
// system that made the hash did too; the argon2id rehash covers all of pw.
func (h *Hasher) verifyBcrypt(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error) {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return false, false, fmt.Errorf("%w: bcrypt: %w", ErrMalformedHash, err)
	}
	if cost > maxBcryptCost {
		return false, false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
	}
	t, err := h.adm.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer h.adm.release(t, false)
	switch err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw)); {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("password: verify bcrypt: %w", err)
	}
}

// VerifyDummy spends the time of a real Verify, against a hash made when h
// was created, and always fails. Sign-in calls it for an unknown e-mail
// address so that the response time does not reveal which addresses have
// accounts. It returns an error only if admission failed.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	_, _, err := h.Verify(ctx, pw, h.dummy)
	return err
}
