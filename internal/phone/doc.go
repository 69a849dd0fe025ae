// Package phone checks the phone numbers that receive sign-in codes by
// text message or voice call.
//
// Parse turns what a person types into a Number: a valid E.164 number, the
// region it belongs to and its line type, using Google's libphonenumber
// metadata (through github.com/nyaruka/phonenumbers). A number is refused
// with an *InvalidError whose Reason is a sentence that can be shown to the
// person as it is and says what to fix, and whose Code is a stable
// identifier for API clients.
//
// Which line types are accepted depends on the channel:
//
//   - ForSMS accepts mobile numbers, and numbers whose type cannot be told
//     from the digits (FixedLineOrMobile: every number in the North American
//     Numbering Plan). Landlines and VoIP numbers are refused: text messages
//     to them are lost or read out by a robot, and VoIP numbers are cheap to
//     obtain in bulk and often drop short-code traffic.
//   - ForVoice also accepts landlines and VoIP numbers, since a call reaches
//     them.
//
// Neither channel accepts toll-free, premium-rate, shared-cost, company
// (UAN), personal (follow-me), pager or voicemail numbers, nor numbers of
// satellite and global networks (+881, +882, …): they either cannot answer
// or cost us per call, which is how SMS-pumping fraud makes money.
//
// The package also helps build the form: Countries lists the country
// selector and CountryFromAcceptLanguage guesses its default.
package phone
