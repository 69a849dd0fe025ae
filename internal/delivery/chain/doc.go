// Package chain makes delivery robust by putting several providers behind
// one delivery.Sender: it retries a provider while its failures are
// temporary, with doubling, jittered waits, and fails over to the next
// provider when one gives up or refuses the message. Every attempt is
// reported to a recorder, without the message body or code, so operators
// can see which provider carried a code and match status callbacks to it.
package chain
