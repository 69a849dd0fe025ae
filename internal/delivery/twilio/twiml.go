package twilio

import (
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// defaultIntro is spoken before the digits when the message has no usable
// body.
const defaultIntro = "Your code is:"

// maxTwiML is Twilio's limit on the Twiml parameter (error 32018).
const maxTwiML = 4000

// twiml returns the instructions of a call that reads code to the person
// who answers:
//
//	<Response><Say language="en-US">Your code is: 1. 2. 3. 4. 5. 6.</Say><Pause length="1"/><Say language="en-US">Your code is: 1. 2. 3. 4. 5. 6.</Say></Response>
//
// Each digit is its own sentence so the voice says "one, two, three"
// rather than "one hundred twenty-three thousand", and the whole sentence
// is repeated after a pause for someone who reached for a pen. intro
// (the message body) is spoken first; it falls back to "Your code is:"
// when empty or when it contains the code, which would otherwise be read
// as a number. The intro, not a fixed English "again", is repeated, so a
// localised body and VoiceLanguage give a call in one language.
//
// The errors name no part of the code.
func twiml(intro, code, language string) (string, error) {
	if code == "" {
		return "", errors.New("voice message needs a code")
	}
	var digits strings.Builder
	for i, r := range code {
		if r < '0' || r > '9' {
			return "", errors.New("voice code must be digits only")
		}
		if i > 0 {
			digits.WriteByte(' ')
		}
		digits.WriteRune(r)
		digits.WriteByte('.')
	}
	intro = strings.Join(strings.Fields(intro), " ")
	if intro == "" || strings.Contains(intro, code) {
		intro = defaultIntro
	}
	sentence := intro + " " + digits.String()

	say := "<Say>"
	if language != "" {
		say = `<Say language="` + escape(language) + `">`
	}
	var b strings.Builder
	b.WriteString("<Response>")
	b.WriteString(say)
	b.WriteString(escape(sentence))
	b.WriteString(`</Say><Pause length="1"/>`)
	b.WriteString(say)
	b.WriteString(escape(sentence))
	b.WriteString("</Say></Response>")

	if utf8.RuneCountInString(b.String()) > maxTwiML {
		return "", errors.New("voice message is longer than twilio accepts")
	}
	return b.String(), nil
}

// escape makes s safe as XML character data or a double-quoted attribute.
// Control characters, which XML 1.0 forbids, become spaces.
func escape(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return xmlEscaper.Replace(s)
}

var xmlEscaper = strings.NewReplacer(
	"&", "&amp;",
	"<", "&lt;",
	">", "&gt;",
	`"`, "&quot;",
	"'", "&apos;",
)

// voiceLanguage is the language attribute of a call's <Say> for a message
// written in lang (a BCP 47 tag, "" for the site's default): the
// configured voice (VoiceLanguage, e.g. en-GB) when the message is in its
// language or in none, else lang with the region its speakers most
// likely have ("de" → "de-DE", "pt-BR" stays), the form Twilio's voices
// are named by.
func voiceLanguage(lang, configured string) string {
	if lang == "" {
		return configured
	}
	t, err := language.Parse(lang)
	if err != nil {
		return configured
	}
	base, _ := t.Base()
	if c, err := language.Parse(configured); err == nil {
		if cb, _ := c.Base(); cb == base {
			return configured
		}
	}
	region, _ := t.Region()
	return base.String() + "-" + region.String()
}
