package twilio

import "testing"

func TestVoiceLanguage(t *testing.T) {
	for _, tt := range []struct{ lang, configured, want string }{
		{"", "en-GB", "en-GB"},
		{"en", "en-GB", "en-GB"},
		{"de", "en-US", "de-DE"},
		{"pt-BR", "en-US", "pt-BR"},
		{"fr", "en-US", "fr-FR"},
		{"es", "en-US", "es-ES"},
		{"pl", "en-US", "pl-PL"},
		{"nl", "en-US", "nl-NL"},
		{"it", "en-US", "it-IT"},
		{"de", "de-AT", "de-AT"},
		{"x!!", "en-US", "en-US"},
	} {
		if got := voiceLanguage(tt.lang, tt.configured); got != tt.want {
			t.Errorf("voiceLanguage(%q, %q) = %q, want %q", tt.lang, tt.configured, got, tt.want)
		}
	}
}
