package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrMalformedHash reports a stored hash that is not a well-formed argon2id
// PHC string or bcrypt hash.
var ErrMalformedHash = errors.New("password: malformed hash")

// Bounds on what a stored argon2id hash may ask for. They keep a corrupted
// or hostile hash string from making one verification allocate gigabytes or
// run for minutes, and follow the argon2 minima (salt 8 bytes, tag 4 bytes,
// memory 8 KiB per lane) so that every accepted string can be computed.
const (
	minSaltLen    = 8
	maxSaltLen    = 256
	minKeyLen     = 4
	maxKeyLen     = 256
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxIterations = 1 << 10
)

// b64 is the PHC string encoding: standard alphabet, no padding. Strict
// rejects non-zero trailing bits, so every hash has exactly one spelling.
var b64 = base64.RawStdEncoding.Strict()

// phc is a decoded argon2id hash.
type phc struct {
	memoryKiB   uint32
	iterations  uint32
	parallelism uint8
	salt        []byte
	key         []byte
}

// String encodes h in the PHC format of the argon2 reference implementation:
// $argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<hash>.
func (h phc) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.memoryKiB, h.iterations, h.parallelism,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// params reports the cost parameters h was made with.
func (h phc) params() Params {
	return Params{
		MemoryKiB:   h.memoryKiB,
		Iterations:  h.iterations,
		Parallelism: h.parallelism,
		SaltLen:     uint32(len(h.salt)),
		KeyLen:      uint32(len(h.key)),
	}
}

// parsePHC decodes an argon2id PHC string. It accepts only the canonical
// spelling that String produces (fields in the order m,t,p; decimal numbers
// without leading zeros; unpadded base64), so parsing and re-encoding give
// back the same string.
func parsePHC(s string) (phc, error) {
	var h phc
	fields := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(fields) != 6 || fields[0] != "" {
		return h, fmt.Errorf("%w: want 5 $-separated fields", ErrMalformedHash)
	}
	if fields[1] != "argon2id" {
		return h, fmt.Errorf("%w: unsupported algorithm %q", ErrMalformedHash, fields[1])
	}
	v, ok := strings.CutPrefix(fields[2], "v=")
	if !ok {
		return h, fmt.Errorf("%w: missing version", ErrMalformedHash)
	}
	if n, err := parseDecimal(v); err != nil || n != argon2.Version {
		return h, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, v)
	}

	ps := strings.Split(fields[3], ",")
	if len(ps) != 3 {
		return h, fmt.Errorf("%w: want parameters m,t,p", ErrMalformedHash)
	}
	var nums [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(ps[i], name)
		if !ok {
			return h, fmt.Errorf("%w: want parameters m,t,p", ErrMalformedHash)
		}
		n, err := parseDecimal(v)
		if err != nil {
			return h, fmt.Errorf("%w: parameter %s%q", ErrMalformedHash, name, v)
		}
		nums[i] = n
	}
	h.memoryKiB, h.iterations = nums[0], nums[1]
	if nums[2] < 1 || nums[2] > 255 {
		return h, fmt.Errorf("%w: parallelism %d out of range", ErrMalformedHash, nums[2])
	}
	h.parallelism = uint8(nums[2])
	if h.iterations < 1 || h.iterations > maxIterations {
		return h, fmt.Errorf("%w: iterations %d out of range", ErrMalformedHash, h.iterations)
	}
	if h.memoryKiB < 8*uint32(h.parallelism) || h.memoryKiB > maxMemoryKiB {
		return h, fmt.Errorf("%w: memory %d KiB out of range", ErrMalformedHash, h.memoryKiB)
	}

	var err error
	if h.salt, err = decodeB64(fields[4], minSaltLen, maxSaltLen); err != nil {
		return h, fmt.Errorf("%w: salt: %w", ErrMalformedHash, err)
	}
	if h.key, err = decodeB64(fields[5], minKeyLen, maxKeyLen); err != nil {
		return h, fmt.Errorf("%w: hash: %w", ErrMalformedHash, err)
	}
	return h, nil
}

// parseDecimal parses a canonical decimal uint32: digits only, no sign, no
// leading zeros.
func parseDecimal(s string) (uint32, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("not a canonical decimal")
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a canonical decimal")
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errors.New("out of range")
	}
	return uint32(n), nil
}

// decodeB64 decodes unpadded standard base64 of between min and max bytes.
func decodeB64(s string, min, max int) ([]byte, error) {
	// Check the length before decoding so a huge field costs nothing, and
	// refuse characters the decoder would silently skip (CR, LF).
	if len(s) > b64.EncodedLen(max) || strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("bad length or characters")
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, errors.New("bad base64")
	}
	if len(b) < min || len(b) > max {
		return nil, fmt.Errorf("length %d not in [%d, %d]", len(b), min, max)
	}
	return b, nil
}
