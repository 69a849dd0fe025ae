// Package password hashes, verifies and vets account passwords.
//
// Passwords are normalised with RFC 8265 OpaqueString ([Normalize]) so the
// same password typed on different keyboards hashes alike, vetted by a
// [Policy] (length, a common-password list, not the e-mail address), and
// stored as argon2id PHC strings by a [Hasher]. The Hasher bounds how many
// hashes run at once, because each argon2id hash holds its full memory cost
// (19 MiB by default) for its whole run; it also verifies imported bcrypt
// hashes, reports when a stored hash should be upgraded, and offers
// [Hasher.VerifyDummy] so that sign-in for an unknown e-mail takes as long
// as sign-in for a known one.
package password
