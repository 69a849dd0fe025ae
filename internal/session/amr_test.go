package session

import (
	"slices"
	"testing"
)

func TestJoinAMR(t *testing.T) {
	for _, tt := range []struct {
		name  string
		parts [][]string
		want  []string
	}{
		{"nothing", nil, nil},
		{"password only", [][]string{{"pwd"}}, []string{"pwd"}},
		{"a second factor", [][]string{{"pwd"}, {"otp"}, {"mfa"}}, []string{"pwd", "otp", "mfa"}},
		{"an empty part", [][]string{{"pwd"}, nil, {"mfa"}}, []string{"pwd", "mfa"}},
		{"repeats kept once, first place wins", [][]string{{"pwd", "otp", "mfa"}, {"otp"}, {"mfa"}}, []string{"pwd", "otp", "mfa"}},
		{"a new value goes before the repeat", [][]string{{"pwd", "mfa"}, {"sms"}, {"mfa"}}, []string{"pwd", "mfa", "sms"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := JoinAMR(tt.parts...); !slices.Equal(got, tt.want) {
				t.Errorf("JoinAMR(%q) = %q, want %q", tt.parts, got, tt.want)
			}
		})
	}
}
