// Package proxytest runs twostep's forward-auth behind real reverse
// proxies: nginx (auth_request) and Caddy (forward_auth), configured as
// the README shows, in front of a small app that echoes the identity
// headers it receives. The flow is driven over HTTP with a cookie jar:
// twostep and the proxy both listen on "localhost" (different ports), so
// the session cookie twostep sets reaches the proxy as it would reach a
// sibling host with session.cookie_domain.
//
// nginx is found through TWOSTEP_TEST_NGINX, else nginx on PATH or
// /usr/sbin/nginx (Debian's package); Caddy through TWOSTEP_TEST_CADDY,
// else caddy on PATH. Without them the tests are skipped, except under
// CI=true, where a missing proxy is a failure (.ci/run installs nginx and
// builds Caddy).
package proxytest
