package secret

// Sealing contexts bind a ciphertext to its purpose and its row (see
// Keyring.Seal): a value sealed for one row never opens as another's, and
// key rotation re-seals each value under the context it was sealed with.
// This file is their one owner: every Seal and Open names its context
// through these functions.

// TOTPKeyContext is an authenticator app's key, by factor id.
func TOTPKeyContext(factorID string) string { return "totp:" + factorID }

// RecipientContext is where a text, call or e-mail factor's codes go (a
// number or an address), by factor id.
func RecipientContext(factorID string) string { return "to:" + factorID }

// SentCodeContext is the sealed copy of a sent code (so a resend sends the
// same code), by sent-code id.
func SentCodeContext(sentCodeID string) string { return "code:" + sentCodeID }

// MailContext is a queued e-mail (subject, body and code), by its id.
func MailContext(mailID string) string { return "mail:" + mailID }

// ServerSecretContext is a server-wide secret kept in the database (the
// recovery-code pepper), by name.
func ServerSecretContext(name string) string { return "server:" + name }

// SigningKeyContext is the private key ID tokens are signed with, by its
// key id.
func SigningKeyContext(kid string) string { return "signing-key:" + kid }
