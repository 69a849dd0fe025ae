// Package recovery makes the one-time recovery codes a user prints or saves
// when turning on two-step sign-in, so that a lost phone does not mean a
// locked account and an operator's manual reset.
//
// A code is eight characters from a 32-character alphabet without
// look-alikes, shown as "xxxx-xxxx": 40 bits, far above the 20 bits NIST
// SP 800-63B asks of look-up secrets, yet short enough to type from paper.
// [Normalize] forgives case, spaces and dashes, because people type what
// they see.
//
// Codes are stored only as [Hash]: an HMAC keyed by a server-side pepper
// over the user id and the code. 40 bits is below the 112 bits at which
// NIST allows an unsalted fast hash, so the user id salts it and the pepper,
// which lives outside the database, makes a stolen database alone useless
// for offline guessing. Being deterministic, the hash can be found and
// consumed in one conditional UPDATE, which makes each code single-use even
// under concurrent sign-ins.
package recovery
