// Package text holds small string helpers shared by the flows.
package text

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence
// (user agents and error texts kept in the database).
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
