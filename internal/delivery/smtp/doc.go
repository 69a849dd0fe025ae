// Package smtp delivers e-mail through an SMTP relay: the provider behind the
// e-mail channel of delivery.Sender.
//
// The relay is reached with mandatory STARTTLS by default, with implicit TLS
// (usually port 465), or in plain text for a relay on the same host or in
// tests. Credentials, when configured, are sent with AUTH PLAIN, and only
// over an encrypted connection unless the relay is on localhost.
package smtp
