#!/usr/bin/env bash
# Runs every check and test of twostep: formatting, vet, all tests with the
# race detector on SQLite and PostgreSQL, the browser tests, and a short run
# of each fuzz target. The real-proxy tests find Caddy through
# TWOSTEP_TEST_CADDY (set by .ci/run), else caddy on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
export TWOSTEP_TEST_POSTGRES_URL="${TWOSTEP_TEST_POSTGRES_URL:-postgres://root@127.0.0.1:5432/test?sslmode=disable}"

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then echo "not gofmt-formatted:"; echo "$unformatted"; exit 1; fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

echo "== go test, clock a year from today"
# Every clock read must go through the injected clock: run the suites that
# drive the server again with their clocks started a year away, so a read
# of the wall clock (a cookie lifetime, an expiry) fails here.
TWOSTEP_TEST_CLOCK_START="$(date -u -d '+1 year' +%Y-%m-%dT09:00:00Z)" \
  go test -count=1 -timeout 20m ./internal/api/... ./internal/web/... ./internal/browsertest/... ./internal/account/...

echo "== fuzz (short runs)"
fuzztime="${FUZZTIME:-10s}"
fuzz() { # package target
  local out
  if out=$(go test -run='^$' -fuzz="^$2\$" -fuzztime="$fuzztime" -fuzzminimizetime=2s "$1" 2>&1); then
    echo "$out"
    return 0
  fi
  echo "$out"
  # Go's fuzzing engine sometimes reports "context deadline exceeded" when
  # the time runs out with a worker mid-input, on a loaded machine, with no
  # failing input: that is the harness, not the target. A real failure
  # writes its input ("Failing input written to …") and is never retried.
  if grep -q "context deadline exceeded" <<<"$out" && ! grep -q "Failing input\|panic:" <<<"$out"; then
    echo "fuzz harness hit its own deadline without a failing input; running $2 once more"
    go test -run='^$' -fuzz="^$2\$" -fuzztime="$fuzztime" -fuzzminimizetime=2s "$1"
    return
  fi
  return 1
}
fuzz ./internal/password FuzzNormalize
fuzz ./internal/password FuzzParsePHC
fuzz ./internal/api FuzzDecodeJSON
fuzz ./internal/account FuzzNormalizeEmail
fuzz ./internal/factor/totp FuzzParseURI
fuzz ./internal/factor/totp FuzzNormalizeCode
fuzz ./internal/factor/recovery FuzzNormalize
fuzz ./internal/phone FuzzParse
fuzz ./internal/method/securitykey FuzzParseCredential

echo "== all tests passed"
