// Package i18n says twostep's words in the reader's language: every page,
// e-mail, text message, call and error message is a message of the
// catalogue, found by a stable id ("signin.title") in
// locales/active.<lang>.toml, one file per language, embedded in the
// binary. English is complete and is what any message missing from
// another catalogue falls back to, so a reader never sees an id.
//
// Adding a language is adding one file: copy locales/active.en.toml to
// locales/active.<BCP 47 tag>.toml and translate the values. A count is a
// table with a key per CLDR plural form of the language (zero, one, two,
// few, many, other: Polish needs one, few, many and other; Arabic all
// six); the test of plurals says which are missing. Dates are words of
// the catalogue too (month.1 … month.12, weekday.0 … weekday.6, and the
// patterns that order them), and a language written right to left gets
// dir="rtl" from its script.
//
// The messages are Go text/template strings: {{.Site}} is the site's name
// everywhere, {{.Count}} the number of a plural. Operators override any
// message in any shipped language with their own file (Load), checked at
// start: an unknown id, a language not shipped, a template that does not
// parse or that uses data its message does not get refuse to start.
//
// github.com/nicksnyder/go-i18n/v2 holds the catalogues: it carries
// CLDR's plural rules for every language and reads TOML, which lets a
// translator write an e-mail on several lines with comments beside it.
// golang.org/x/text/language matches a browser's Accept-Language to the
// languages shipped.
package i18n
