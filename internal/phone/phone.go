package phone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Channels a number is checked for: the one the code will be sent over.
const (
	ForSMS   = "sms"   // a text message: mobile numbers only
	ForVoice = "voice" // a voice call: mobile, landline and VoIP numbers
)

// MaxInputLen is the longest input, in bytes, that Parse reads. The longest
// E.164 number has 15 digits; 64 bytes leave room for spaces, punctuation
// and full-width digits (3 bytes each) without letting a client make the
// parser chew on kilobytes.
const MaxInputLen = 64

// ErrUnknownChannel is returned, wrapped, when Parse is given a channel
// other than ForSMS or ForVoice. It is a programming error, not something
// to show the person typing the number.
var ErrUnknownChannel = errors.New("unknown channel")

// Type is the kind of line a number belongs to, per the metadata.
type Type int

// Line types, one per libphonenumber number type. Parse never returns
// Unknown: a number of unknown type is not valid.
const (
	Unknown           Type = iota // zero value; not a valid number
	Mobile                        // a mobile phone
	FixedLine                     // a landline
	FixedLineOrMobile             // cannot be told apart, e.g. every NANP (+1) number
	VoIP                          // voice over IP
	TollFree                      // free to the caller, paid by the receiver
	PremiumRate                   // paid by the caller at a premium
	SharedCost                    // cost shared between caller and receiver
	PersonalNumber                // a follow-me number routed to another phone
	Pager                         // a pager
	UAN                           // a company's universal access number
	Voicemail                     // a voicemail access number
)

// String returns a stable snake_case name for the type, e.g.
// "fixed_line_or_mobile", fit for logs and API responses.
func (t Type) String() string {
	switch t {
	case Mobile:
		return "mobile"
	case FixedLine:
		return "fixed_line"
	case FixedLineOrMobile:
		return "fixed_line_or_mobile"
	case VoIP:
		return "voip"
	case TollFree:
		return "toll_free"
	case PremiumRate:
		return "premium_rate"
	case SharedCost:
		return "shared_cost"
	case PersonalNumber:
		return "personal_number"
	case Pager:
		return "pager"
	case UAN:
		return "uan"
	case Voicemail:
		return "voicemail"
	}
	return "unknown"
}

// typeOf maps the metadata's number type onto Type.
func typeOf(t phonenumbers.PhoneNumberType) Type {
	switch t {
	case phonenumbers.MOBILE:
		return Mobile
	case phonenumbers.FIXED_LINE:
		return FixedLine
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return FixedLineOrMobile
	case phonenumbers.VOIP:
		return VoIP
	case phonenumbers.TOLL_FREE:
		return TollFree
	case phonenumbers.PREMIUM_RATE:
		return PremiumRate
	case phonenumbers.SHARED_COST:
		return SharedCost
	case phonenumbers.PERSONAL_NUMBER:
		return PersonalNumber
	case phonenumbers.PAGER:
		return Pager
	case phonenumbers.UAN:
		return UAN
	case phonenumbers.VOICEMAIL:
		return Voicemail
	}
	return Unknown
}

// Number is a parsed, valid phone number. Only E164 is needed to format
// or mask it, so a number read back from storage can be displayed as
// Number{E164: stored}.
type Number struct {
	E164   string // "+15062345678"
	Region string // "CA": ISO 3166-1 alpha-2 region of the number, per the metadata
	Type   Type   // the kind of line
}

// Codes of InvalidError: stable identifiers of what is wrong with the input,
// for API clients and tests. The sentences in Reason may change; these don't.
const (
	CodeEmpty              = "empty"                // nothing typed
	CodeUnreadable         = "unreadable"           // not valid UTF-8
	CodeLetters            = "letters"              // letters, e.g. "1-800-FLOWERS" or "ext."
	CodeNotANumber         = "not_a_number"         // no phone number in it at all
	CodeUnknownCountry     = "unknown_country"      // the country given is not a supported region
	CodeMissingCountry     = "missing_country"      // national format and no country
	CodeUnknownCallingCode = "unknown_calling_code" // "+" followed by no known calling code
	CodeMissingPlus        = "missing_plus"         // international digits typed without the "+"
	CodeTooShort           = "too_short"            // too few digits
	CodeTooLong            = "too_long"             // too many digits, or more than MaxInputLen bytes
	CodeWrongLength        = "wrong_length"         // a length between valid ones
	CodeInvalid            = "invalid"              // right length, but not a number in use
	CodeExtension          = "extension"            // an extension, e.g. "#12"
	CodeLandline           = "landline"             // a landline, for text messages
	CodeVoIP               = "voip"                 // a VoIP number, for text messages
	CodeServiceNumber      = "service_number"       // toll-free, premium-rate, shared-cost or company number
	CodeUnsupportedType    = "unsupported_type"     // personal, pager, voicemail or global-network number
)

// InvalidError says why a number is refused.
type InvalidError struct {
	// Reason says what to fix as a full sentence that can be shown to the
	// person as it is, e.g. "This number is too short for Canada (CA)."
	Reason string
	// Code is one of the Code constants.
	Code string
}

// Error returns the reason prefixed for logs.
func (e *InvalidError) Error() string { return "invalid phone number: " + e.Reason }

// invalid builds an *InvalidError.
func invalid(code, format string, args ...any) *InvalidError {
	return &InvalidError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Parse reads a phone number as people type it and checks that a code can
// be sent to it over channel (ForSMS or ForVoice).
//
// input may be in national format, read as a number of country: "(506)
// 234-5678" with "CA", "07400 123456" with "GB", "0044 7400 123456" with
// "GB" (the country's international prefix); or in international format
// with "+", when country may be empty. Spaces, dots, dashes, slashes and
// brackets are ignored and full-width digits are read as digits. Letters are
// refused rather than read as keypad digits.
//
// country is an ISO 3166-1 alpha-2 code in any case, or empty.
//
// A refused number gives an *InvalidError; an unknown channel gives an
// error wrapping ErrUnknownChannel.
func Parse(input, country, channel string) (Number, error) {
	if channel != ForSMS && channel != ForVoice {
		return Number{}, fmt.Errorf("parse phone: %w %q", ErrUnknownChannel, channel)
	}
	if len(input) > MaxInputLen {
		return Number{}, invalid(CodeTooLong, "This is too long to be a phone number.")
	}
	if !utf8.ValidString(input) {
		return Number{}, invalid(CodeUnreadable, "This number has characters we can't read. Type it again using digits.")
	}
	country = strings.ToUpper(strings.TrimSpace(country))
	if country != "" && !phonenumbers.GetSupportedRegions()[country] {
		if len(country) == 2 && isASCIIUpper(country) {
			return Number{}, invalid(CodeUnknownCountry, "%s is not a country code we know; choose your country from the list.", country)
		}
		return Number{}, invalid(CodeUnknownCountry, "That is not a country code we know; choose your country from the list.")
	}
	input = clean(input)
	if strings.TrimSpace(input) == "" {
		return Number{}, invalid(CodeEmpty, "Enter your phone number.")
	}
	if strings.IndexFunc(input, unicode.IsLetter) >= 0 {
		return Number{}, invalid(CodeLetters, "Type the number using digits only, without letters.")
	}

	num, err := phonenumbers.ParseAndKeepRawInput(input, country)
	if err != nil {
		return Number{}, parseError(err, input, country)
	}
	// Kept only for CountryCodeSource: Format returns the raw input as it
	// is for a national number of 0 (e.g. "+992 00 000 0000"), spaces and all.
	num.RawInput = nil
	if num.GetExtension() != "" {
		return Number{}, invalid(CodeExtension, "Leave out the extension: codes must reach the phone directly.")
	}
	if !phonenumbers.IsValidNumber(num) {
		return Number{}, invalidNumber(num, input, country)
	}

	n := Number{
		E164:   phonenumbers.Format(num, phonenumbers.E164),
		Region: phonenumbers.GetRegionCodeForNumber(num),
		Type:   typeOf(phonenumbers.GetNumberType(num)),
	}
	if !phonenumbers.GetSupportedRegions()[n.Region] {
		// "001": international networks and satellite phones (+800, +881,
		// +882…), which have no country and cost a fortune to reach.
		return Number{}, invalid(CodeUnsupportedType, "Satellite and international network numbers can't receive codes. Use a mobile number.")
	}
	if err := allowed(n.Type, channel); err != nil {
		return Number{}, err
	}
	return n, nil
}

// clean drops invisible formatting characters (bidi marks, zero-width
// spaces) that phone apps add when a number is copied, and turns control
// characters such as tabs into spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Cf, r):
			return -1
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
}

// isASCIIUpper reports whether s holds only the letters A to Z.
func isASCIIUpper(s string) bool {
	for _, c := range []byte(s) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// hasPlus reports whether the input starts its number with a plus sign.
func hasPlus(input string) bool {
	return strings.ContainsAny(input, "+＋")
}

// parseError explains an error of phonenumbers.Parse.
func parseError(err error, input, country string) *InvalidError {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		if country == "" && !hasPlus(input) {
			return invalid(CodeMissingCountry, "Add the country code, e.g. +44, or choose the country.")
		}
		return invalid(CodeUnknownCallingCode, "The number doesn't start with a country code we know. Check the digits after the +.")
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		if country != "" && !hasPlus(input) {
			return invalid(CodeTooShort, "This number is too short for %s.", countryPhrase(country))
		}
		return invalid(CodeTooShort, "This number is too short.")
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return invalid(CodeTooLong, "This is too long to be a phone number.")
	}
	if strings.IndexFunc(input, unicode.IsDigit) >= 0 {
		// "+4": a start, but too few digits to be read as a number.
		return invalid(CodeTooShort, "This number is too short.")
	}
	return invalid(CodeNotANumber, "This doesn't look like a phone number. Check the digits.")
}

// invalidNumber explains why a parsed number is not valid.
func invalidNumber(num *phonenumbers.PhoneNumber, input, country string) *InvalidError {
	national := num.GetCountryCodeSource() == phonenumbers.PhoneNumber_FROM_DEFAULT_COUNTRY
	if national {
		// "44 7400 123456" typed with the country set to, say, the US.
		digits := phonenumbers.NormalizeDigitsOnly(input)
		if intl, err := phonenumbers.Parse("+"+digits, ""); err == nil && phonenumbers.IsValidNumber(intl) {
			return invalid(CodeMissingPlus, "If this is an international number, type a + before the country code: %s.",
				phonenumbers.Format(intl, phonenumbers.INTERNATIONAL))
		}
	}
	where := numberPlace(num, country, national)
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return invalid(CodeUnknownCallingCode, "The number doesn't start with a country code we know. Check the digits after the +.")
	case phonenumbers.TOO_SHORT:
		return invalid(CodeTooShort, "This number is too short for %s.", where)
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return invalid(CodeTooShort, "This number is too short for %s: include the area code.", where)
	case phonenumbers.TOO_LONG:
		return invalid(CodeTooLong, "This number is too long for %s.", where)
	case phonenumbers.INVALID_LENGTH:
		return invalid(CodeWrongLength, "This number has the wrong number of digits for %s.", where)
	}
	if national {
		return invalid(CodeInvalid, "This is not a valid number for %s. Check the digits, or choose another country.", where)
	}
	return invalid(CodeInvalid, "This is not a valid number for %s. Check the digits.", where)
}

// numberPlace names, for a sentence, where an invalid number was read to
// be from: the chosen country for a national number, else the region of
// its calling code, or "country code +1" when the code is shared.
func numberPlace(num *phonenumbers.PhoneNumber, country string, national bool) string {
	if national && country != "" {
		return countryPhrase(country)
	}
	cc := int(num.GetCountryCode())
	if regions := phonenumbers.GetRegionCodesForCountryCode(cc); len(regions) == 1 && countryNames[regions[0]] != "" {
		return countryPhrase(regions[0])
	}
	return "country code +" + strconv.Itoa(cc)
}

// allowed applies the channel's policy on line types; see the package
// documentation for the reasons.
func allowed(t Type, channel string) *InvalidError {
	switch t {
	case Mobile, FixedLineOrMobile:
		return nil
	case FixedLine:
		if channel == ForVoice {
			return nil
		}
		return invalid(CodeLandline, "This is a landline: text messages can't reach it. Choose a voice call, or use a mobile number.")
	case VoIP:
		if channel == ForVoice {
			return nil
		}
		return invalid(CodeVoIP, "This is an internet (VoIP) number: text messages may not reach it. Choose a voice call, or use a mobile number.")
	case TollFree, PremiumRate:
		return invalid(CodeServiceNumber, "Toll-free and premium numbers can't receive codes. Use a mobile number.")
	case SharedCost, UAN:
		return invalid(CodeServiceNumber, "Shared-cost and company numbers can't receive codes. Use a mobile number.")
	case PersonalNumber:
		return invalid(CodeUnsupportedType, "Personal (follow-me) numbers can't receive codes. Use the phone's own number.")
	case Pager:
		return invalid(CodeUnsupportedType, "Pagers can't receive codes. Use a mobile number.")
	case Voicemail:
		return invalid(CodeUnsupportedType, "Voicemail numbers can't receive codes. Use a mobile number.")
	}
	return invalid(CodeInvalid, "This number can't receive codes. Use a mobile number.")
}

// International formats the number for display to anyone, e.g.
// "+1 506-234-5678".
func (n Number) International() string { return n.format(phonenumbers.INTERNATIONAL) }

// National formats the number as dialled within its country, e.g.
// "(506) 234-5678".
func (n Number) National() string { return n.format(phonenumbers.NATIONAL) }

// format formats E164, or returns it unchanged if it does not parse.
func (n Number) format(f phonenumbers.PhoneNumberFormat) string {
	num, err := phonenumbers.Parse(n.E164, "")
	if err != nil {
		return n.E164
	}
	return phonenumbers.Format(num, f)
}

// Masked hints at the number without revealing it, for lists of a user's
// phones and "we sent a code to…" pages: the international format with
// every digit after the country calling code replaced by "•" except the
// last three, e.g. "+1 •••-•••-•678" or "+44 •••• •••456". The calling code
// stays visible because it helps people tell their phones apart and reveals
// little.
func (n Number) Masked() string {
	const keep = 3
	intl := n.International()
	prefix := ""
	num, err := phonenumbers.Parse(n.E164, "")
	if err == nil {
		prefix = "+" + strconv.Itoa(int(num.GetCountryCode()))
	}
	if !strings.HasPrefix(intl, prefix) || prefix == "" {
		intl, prefix = n.E164, ""
	}
	rest := intl[len(prefix):]
	digits := 0
	for _, r := range rest {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range rest {
		if r >= '0' && r <= '9' {
			digits--
			if digits >= keep {
				r = '•'
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
