// Package twilio delivers text messages and voice calls through Twilio's
// REST API: the provider behind the SMS and voice channels of
// delivery.Sender.
//
// It is a small hand-written client rather than the generated SDK: two
// form POSTs with basic auth, to /2010-04-01/Accounts/{sid}/Messages.json
// and .../Calls.json, and the parsing of Twilio's JSON error body. The base
// URL is configurable so tests can point it at an httptest server that
// speaks the same shapes.
//
// Voice calls carry their instructions inline (the Twiml parameter), so no
// public TwiML endpoint is needed: the call reads the code digit by digit,
// twice. Status callbacks, when configured, are checked with
// VerifySignature and read with ParseStatus.
package twilio
