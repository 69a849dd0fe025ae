package loadtest

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseLevels(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []int
		wantErr string
	}{
		{in: "1,4,16", want: []int{1, 4, 16}},
		{in: " 2 , 8", want: []int{2, 8}},
		{in: "3", want: []int{3}},
		{in: "1,0", wantErr: `bench: --levels: "0" is not a positive whole number`},
		{in: "1,,4", wantErr: `bench: --levels: "" is not a positive whole number`},
		{in: "-2", wantErr: `bench: --levels: "-2" is not a positive whole number`},
		{in: "four", wantErr: `bench: --levels: "four" is not a positive whole number`},
		{in: "", wantErr: `bench: --levels: "" is not a positive whole number`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLevels(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseLevels(%q) = %v, %v; want error %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("ParseLevels(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

// validOptions are the defaults of `twostep bench`.
func validOptions() Options {
	return Options{Duration: 10 * time.Second, Levels: []int{1, 4, 16}, Burst: 500, Users: 16, HashFor: 3 * time.Second}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(*Options)
		wantErr string // "" valid; else a part of the error
	}{
		{"defaults", func(*Options) {}, ""},
		{"postgres", func(o *Options) { o.DatabaseURL = "postgres://root@127.0.0.1/test" }, ""},
		{"postgresql", func(o *Options) { o.DatabaseURL = "postgresql://root@127.0.0.1/test" }, ""},
		{"no burst", func(o *Options) { o.Burst = 0 }, ""},
		{"most users", func(o *Options) { o.Users = MaxUsers }, ""},
		{"zero duration", func(o *Options) { o.Duration = 0 }, "--duration must be positive"},
		{"negative hash duration", func(o *Options) { o.HashFor = -time.Second }, "--hash-duration must be positive"},
		{"no users", func(o *Options) { o.Users = 0 }, "--users must be between 1 and 1000"},
		{"too many users", func(o *Options) { o.Users = MaxUsers + 1 }, "--users must be between 1 and 1000"},
		{"negative burst", func(o *Options) { o.Burst = -1 }, "--burst must not be negative"},
		{"zero level", func(o *Options) { o.Levels = []int{1, 0} }, `--levels: "0" is not`},
		{"sqlite url", func(o *Options) { o.DatabaseURL = "sqlite:/tmp/x.db" }, "--database-url must be a postgres://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			tc.change(&o)
			err := o.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "bench: ")):
				t.Fatalf("Validate() = %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

func TestServerEnvRunsAtDefaults(t *testing.T) {
	env := serverEnv([]string{"PATH=/bin", "TWOSTEP_PASSWORD_MAX_CONCURRENT=64", "HOME=/root", "TWOSTEP_DATABASE_URL=postgres://prod"}, "postgres://bench")
	lifted := []string{"TWOSTEP_LIMITS_SIGNUP_PER_ADDRESS_LIMIT=1000",
		"TWOSTEP_LIMITS_PASSWORD_PER_ADDRESS_FREE=1073741824", "TWOSTEP_LIMITS_PASSWORD_PER_ACCOUNT_FREE=1073741824", "TWOSTEP_LIMITS_PASSWORD_PER_BROWSER_FREE=1073741824"}
	want := append(append([]string{"PATH=/bin", "HOME=/root"}, lifted...), "TWOSTEP_DATABASE_URL=postgres://bench")
	if !slices.Equal(env, want) {
		t.Fatalf("serverEnv = %q, want %q", env, want)
	}
	if env := serverEnv([]string{"TWOSTEP_DATABASE_URL=postgres://prod"}, ""); !slices.Equal(env, lifted) {
		t.Fatalf("serverEnv on SQLite = %q, want only the lifted limits", env)
	}
}
