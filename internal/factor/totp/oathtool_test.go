package totp

import (
	"crypto/sha512"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestOathtool checks Code against oathtool (OATH Toolkit), an independent
// TOTP client, so a mistake shared by our code and our reading of the RFC
// still shows.
func TestOathtool(t *testing.T) {
	oathtool := tool(t, "oathtool", "oathtool")

	secrets := [][]byte{rfcKeySHA1, rfcKeySHA256, rfcKeySHA512}
	for _, seed := range []string{"alice", "bob", "carol"} {
		sum := sha512.Sum512([]byte(seed))
		secrets = append(secrets, sum[:SecretSize])
	}
	times := []int64{59, 1111111109, 1234567890, 1700000000, 1700000029, 1767225599, 2000000000}
	variants := []struct {
		params Params
		flags  []string
	}{
		{DefaultParams(), []string{"--totp"}},
		{Params{Digits: 8, Period: 60, Algorithm: SHA256, Skew: 1}, []string{"--totp=sha256", "--digits=8", "--time-step-size=60s"}},
		{Params{Digits: 7, Period: 30, Algorithm: SHA512, Skew: 1}, []string{"--totp=sha512", "--digits=7"}},
	}
	for _, v := range variants {
		for _, secret := range secrets {
			enc := EncodeSecret(secret)
			for _, unix := range times {
				name := fmt.Sprintf("%s/%d/%s/%d", v.params.Algorithm, v.params.Digits, enc[:8], unix)
				t.Run(name, func(t *testing.T) {
					args := append(append([]string{}, v.flags...), "-b", "-N", fmt.Sprintf("@%d", unix), enc)
					out, err := exec.Command(oathtool, args...).CombinedOutput()
					if err != nil {
						t.Fatalf("oathtool %s: %v\n%s", strings.Join(args, " "), err, out)
					}
					want := strings.TrimSpace(string(out))
					if got := Code(secret, time.Unix(unix, 0), v.params); got != want {
						t.Errorf("Code = %q, want oathtool's %q (oathtool %s)", got, want, strings.Join(args, " "))
					}
				})
			}
		}
	}
}
