package totp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestURI(t *testing.T) {
	tests := []struct {
		issuer, account string
		p               Params
		want            string
	}{
		{"Example", "alice@example.com", DefaultParams(),
			"otpauth://totp/Example:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example&algorithm=SHA1&digits=6&period=30"},
		{"Big Corp", "bob smith", Params{Digits: 8, Period: 60, Algorithm: SHA256, Skew: 1},
			"otpauth://totp/Big%20Corp:bob%20smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Big%20Corp&algorithm=SHA256&digits=8&period=60"},
		{"A:B & C", " x:y/z?#% ", DefaultParams(),
			"otpauth://totp/AB%20&%20C:xy%2Fz%3F%23%25?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=AB%20%26%20C&algorithm=SHA1&digits=6&period=30"},
		{"", "carol", Params{Digits: 6, Period: 30}, // empty algorithm is written as SHA1
			"otpauth://totp/carol?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30"},
	}
	for _, tt := range tests {
		if got := URI(tt.issuer, tt.account, rfcKeySHA1, tt.p); got != tt.want {
			t.Errorf("URI(%q, %q) =\n  %s\nwant\n  %s", tt.issuer, tt.account, got, tt.want)
		}
	}
}

func TestURIRoundTrip(t *testing.T) {
	keys := []Key{
		{Issuer: "Example", Account: "alice@example.com", Secret: rfcKeySHA1, Params: DefaultParams()},
		{Issuer: "Big Corp & Co", Account: "bob/smith?x=1#y", Secret: rfcKeySHA512, Params: Params{Digits: 8, Period: 60, Algorithm: SHA512, Skew: 1}},
		{Issuer: "Bücher", Account: "jürgen+2fa@example.de", Secret: rfcKeySHA256, Params: Params{Digits: 7, Period: 15, Algorithm: SHA256, Skew: 1}},
		{Account: "no-issuer", Secret: rfcKeySHA1, Params: DefaultParams()},
	}
	for _, want := range keys {
		uri := URI(want.Issuer, want.Account, want.Secret, want.Params)
		got, err := ParseURI(uri)
		if err != nil {
			t.Errorf("ParseURI(%s): %v", uri, err)
			continue
		}
		if !equalKeys(got, want) {
			t.Errorf("ParseURI(%s) =\n  %+v\nwant\n  %+v", uri, got, want)
		}
	}
}

func equalKeys(a, b Key) bool {
	return a.Issuer == b.Issuer && a.Account == b.Account && bytes.Equal(a.Secret, b.Secret) && a.Params == b.Params
}

func TestParseURIAccepts(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	tests := []struct {
		name, uri string
		want      Key
	}{
		{"defaults", "otpauth://totp/alice?secret=" + secret,
			Key{Account: "alice", Secret: rfcKeySHA1, Params: DefaultParams()}},
		{"issuer only in parameter", "otpauth://totp/alice?secret=" + secret + "&issuer=Example",
			Key{Issuer: "Example", Account: "alice", Secret: rfcKeySHA1, Params: DefaultParams()}},
		{"issuer only in label, encoded colon and space", "otpauth://totp/Example%3A%20alice?secret=" + secret,
			Key{Issuer: "Example", Account: "alice", Secret: rfcKeySHA1, Params: DefaultParams()}},
		{"lower-case padded secret, lower-case algorithm, other params", "otpauth://TOTP/Ex:a?secret=" + strings.ToLower(secret) + "%3D%3D%3D&algorithm=sha256&digits=8&period=60&image=https%3A%2F%2Fx",
			Key{Issuer: "Ex", Account: "a", Secret: rfcKeySHA1, Params: Params{Digits: 8, Period: 60, Algorithm: SHA256, Skew: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURI(tt.uri)
			if err != nil || !equalKeys(got, tt.want) {
				t.Errorf("ParseURI(%s) = %+v, %v; want %+v", tt.uri, got, err, tt.want)
			}
		})
	}
}

func TestParseURIRefuses(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	tests := []struct{ name, uri, wantErr string }{
		{"empty", "", "scheme must be otpauth"},
		{"not a url", "otpauth://totp/%zz?secret=" + secret, "not a url"},
		{"https", "https://totp/alice?secret=" + secret, "scheme must be otpauth"},
		{"hotp", "otpauth://hotp/alice?secret=" + secret + "&counter=0", "type must be totp"},
		{"opaque", "otpauth:totp/alice?secret=" + secret, "type must be totp"},
		{"user info", "otpauth://x@totp/alice?secret=" + secret, "type must be totp"},
		{"port", "otpauth://totp:80/alice?secret=" + secret, "type must be totp"},
		{"fragment", "otpauth://totp/alice?secret=" + secret + "#x", "unexpected fragment"},
		{"no account", "otpauth://totp/?secret=" + secret, "account is required"},
		{"no label", "otpauth://totp?secret=" + secret, "account is required"},
		{"blank account", "otpauth://totp/Example:%20?secret=" + secret, "account is required"},
		{"empty issuer prefix", "otpauth://totp/:alice?secret=" + secret, "empty issuer"},
		{"two colons", "otpauth://totp/a:b:c?secret=" + secret, "more than one ':'"},
		{"control character", "otpauth://totp/ali%0Ace?secret=" + secret, "invalid characters"},
		{"invalid utf-8", "otpauth://totp/ali%FFce?secret=" + secret, "invalid characters"},
		{"no secret", "otpauth://totp/alice", "secret is required"},
		{"empty secret", "otpauth://totp/alice?secret=", "secret is required"},
		{"two secrets", "otpauth://totp/alice?secret=" + secret + "&secret=" + secret, "more than once"},
		{"secret not base32", "otpauth://totp/alice?secret=GEZD1NBV", "not valid base32"},
		{"secret 80 bits", "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQ", "secret must be 16 to 128 bytes, got 10"},
		{"secret too long", "otpauth://totp/alice?secret=" + strings.Repeat("A", 216), "secret must be 16 to 128 bytes"},
		{"issuer mismatch", "otpauth://totp/Example:alice?secret=" + secret + "&issuer=Other", "does not match"},
		{"issuer with colon", "otpauth://totp/alice?secret=" + secret + "&issuer=a:b", "must not contain ':'"},
		{"issuer with control character", "otpauth://totp/alice?secret=" + secret + "&issuer=a%07", "issuer has invalid characters"},
		{"malformed query", "otpauth://totp/alice?secret=" + secret + "&issuer=%zz", "malformed query"},
		{"semicolon query", "otpauth://totp/alice?secret=" + secret + ";digits=6", "malformed query"},
		{"digits 5", "otpauth://totp/alice?secret=" + secret + "&digits=5", "digits must be 6 to 8"},
		{"digits 10", "otpauth://totp/alice?secret=" + secret + "&digits=10", "digits must be 6 to 8"},
		{"digits word", "otpauth://totp/alice?secret=" + secret + "&digits=six", "digits must be a number"},
		{"digits empty", "otpauth://totp/alice?secret=" + secret + "&digits=", "digits must be a number"},
		{"two digits", "otpauth://totp/alice?secret=" + secret + "&digits=6&digits=8", "more than once"},
		{"period 0", "otpauth://totp/alice?secret=" + secret + "&period=0", "period must be 15 to 120"},
		{"period huge", "otpauth://totp/alice?secret=" + secret + "&period=99999999999999999999", "period must be a number"},
		{"md5", "otpauth://totp/alice?secret=" + secret + "&algorithm=MD5", "unknown algorithm"},
		{"empty algorithm", "otpauth://totp/alice?secret=" + secret + "&algorithm=", "unknown algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseURI(tt.uri)
			if err == nil {
				t.Fatalf("ParseURI(%q) = %+v, want error containing %q", tt.uri, k, tt.wantErr)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantErr) || !strings.HasPrefix(msg, "totp: ") || !errors.Is(err, ErrBadURI) {
				t.Errorf("ParseURI(%q) error = %q, want a totp: ErrBadURI containing %q", tt.uri, msg, tt.wantErr)
			}
			if msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("error %q should start lower case", msg)
			}
		})
	}
}

func TestQRDataURI(t *testing.T) {
	secret, _ := DecodeSecret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	uri := URI("Example Co", "alice@example.com", secret, DefaultParams())
	data, err := QRDataURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(data, prefix) {
		t.Fatalf("QRDataURI = %.40q…, want prefix %q", data, prefix)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(data, prefix))
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 256 || b.Dx() != b.Dy() {
		t.Errorf("image is %v, want square, at least 256 px", b)
	}
	// A quiet zone: the corner pixel is light.
	if r, g, b, _ := img.At(0, 0).RGBA(); r < 0x8000 || g < 0x8000 || b < 0x8000 {
		t.Errorf("corner pixel is dark; want a quiet zone")
	}

	t.Run("zbarimg", func(t *testing.T) {
		zbarimg := tool(t, "zbarimg", "zbar-tools")
		file := filepath.Join(t.TempDir(), "qr.png")
		if err := os.WriteFile(file, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbarimg, "-q", "--raw", file).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		if got := strings.TrimRight(string(out), "\n"); got != uri {
			t.Errorf("zbarimg decoded\n  %s\nwant\n  %s", got, uri)
		}
	})
}

func TestQRDataURITooLong(t *testing.T) {
	if _, err := QRDataURI(strings.Repeat("x", 5000)); err == nil || !strings.HasPrefix(err.Error(), "totp: ") {
		t.Errorf("QRDataURI(5000 bytes) error = %v, want a totp: error", err)
	}
}
